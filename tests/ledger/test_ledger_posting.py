"""The ledger's posting rules, through ``wallet_api.ledger.service`` on both databases.

Posting speaks SQL directly (psycopg on PostgreSQL, SQLAlchemy Core elsewhere), so these
check that the ORM objects a caller holds stay true and that every refusal writes nothing.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import StatementError

from wallet_api.extensions import db
from wallet_api.ledger import service as ledger
from wallet_api.ledger.errors import (
    AccountClosed,
    BalanceLimitExceeded,
    InsufficientFunds,
    InsufficientPoints,
    UnbalancedTransaction,
)
from wallet_api.ledger.models import AccountKind, LedgerEntry, LedgerTransaction
from wallet_api.ledger.service import Leg


@pytest.fixture
def ctx(app, api):
    """An app context with two customers' wallets, Anna's funded with 1000."""
    anna, ben = api.register("Anna"), api.register("Ben")
    with app.app_context():
        wallets = {
            "anna": ledger.wallet_account(uuid.UUID(anna.id)),
            "ben": ledger.wallet_account(uuid.UUID(ben.id)),
        }
        ledger.transfer(
            "top_up", ledger.system_account(AccountKind.TOPUP_CLEARING), wallets["anna"], 1_000
        )
        db.session.commit()
        yield wallets
        db.session.rollback()


def counts() -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count()).select_from(LedgerTransaction)),
        db.session.scalar(select(func.count()).select_from(LedgerEntry)),
    )


def test_posting_returns_a_usable_transaction_and_keeps_loaded_accounts_true(ctx):
    anna, ben = ctx["anna"], ctx["ben"]
    posted = ledger.transfer(
        "transfer", anna, ben, 300, memo="Lunch", meta={"counterparty": {"id": "x", "name": "B"}}
    )
    # The Account objects the caller holds show the new balances at once.
    assert (anna.balance, ben.balance) == (700, 300)
    assert posted.id
    assert posted.public_id
    assert posted.kind == "transfer"
    assert ledger.get_transaction(posted.public_id) is posted
    assert [(e.account_id, e.amount, e.balance_after) for e in posted.entries] == [
        (anna.id, -300, 700),
        (ben.id, 300, 300),
    ]
    db.session.commit()
    db.session.expire_all()
    assert (ledger.balance_of(anna), ledger.balance_of(ben)) == (700, 300)
    assert anna.version == 2  # the top-up, then this
    stored = ledger.get_transaction(posted.public_id)
    assert stored.memo == "Lunch"
    assert stored.meta == {"counterparty": {"id": "x", "name": "B"}}
    assert stored.event_at.tzinfo is not None


def test_system_accounts_have_no_cached_balance(ctx):
    store = ledger.system_account(AccountKind.STORE_SALES, uuid.uuid4())
    ledger.transfer("charge", ctx["anna"], store, 250)
    ledger.transfer("charge", ctx["anna"], store, 250)
    assert store.balance is None
    assert ledger.balance_of(store) == 500
    assert ledger.balance_of(ledger.system_account(AccountKind.TOPUP_CLEARING)) == -1_000


def test_a_posting_between_system_accounts_only(ctx):
    # A gift redeemed at the counter: from the escrow to the store, no customer account.
    escrow = ledger.system_account(AccountKind.GIFT_ESCROW)
    store = ledger.system_account(AccountKind.STORE_SALES, uuid.uuid4())
    posted = ledger.transfer("gift_redeemed", escrow, store, 450)
    assert dict(posted.balances_after) == {}
    db.session.commit()
    assert (ledger.balance_of(escrow), ledger.balance_of(store)) == (-450, 450)


@pytest.mark.parametrize(
    ("legs", "message"),
    [
        (lambda a, b: [Leg(a, -100)], "at least two legs"),
        (lambda a, b: [Leg(a, -100), Leg(b, 99)], "do not sum to zero"),
        (lambda a, b: [Leg(a, 0), Leg(b, 0)], "non-zero integers"),
        (lambda a, b: [Leg(a, -1.5), Leg(b, 1.5)], "non-zero integers"),
        (lambda a, b: [Leg(a, -100), Leg(10**9, 100)], "unknown accounts"),
    ],
)
def test_malformed_postings_are_refused_before_writing(ctx, legs, message):
    before = counts()
    with pytest.raises(UnbalancedTransaction, match=message):
        ledger.post_transaction("bad", legs(ctx["anna"].id, ctx["ben"].id))
    assert counts() == before


def test_units_must_balance_separately(ctx, app):
    points = ledger.points_account(ctx["anna"].user_id)
    with pytest.raises(UnbalancedTransaction, match="do not sum to zero"):
        ledger.post_transaction("bad", [Leg(ctx["anna"].id, -100), Leg(points.id, 100)])


def test_insufficient_funds_writes_nothing(ctx):
    before = counts()
    with pytest.raises(InsufficientFunds) as raised:
        ledger.transfer("charge", ctx["anna"], ctx["ben"], 1_001)
    assert raised.value.extra == {"balance": 1_000, "currency": "EUR"}
    assert counts() == before
    assert ctx["anna"].balance == 1_000


def test_points_have_their_own_error(ctx):
    points = ledger.points_account(ctx["anna"].user_id)
    issued = ledger.system_account(AccountKind.POINTS_ISSUED)
    ledger.transfer("earn", issued, points, 40)
    with pytest.raises(InsufficientPoints):
        ledger.transfer("redeem", points, issued, 41)
    assert points.balance == 40


def test_max_balance_caps_credited_wallets_only(ctx):
    with pytest.raises(BalanceLimitExceeded):
        ledger.transfer("transfer", ctx["anna"], ctx["ben"], 600, max_balance=500)
    ledger.transfer("transfer", ctx["anna"], ctx["ben"], 500, max_balance=500)
    assert ctx["ben"].balance == 500
    # A limit only stops money coming in: a wallet above it can still pay.
    store = ledger.system_account(AccountKind.STORE_SALES, uuid.uuid4())
    ledger.transfer("charge", ctx["ben"], store, 50, max_balance=100)
    assert ctx["ben"].balance == 450


def test_a_wallet_closed_in_this_transaction_is_refused(ctx):
    # The close is still an unflushed ORM change when the posting locks the row.
    ledger.close_account(ctx["anna"])
    with pytest.raises(AccountClosed):
        ledger.transfer("charge", ctx["anna"], ctx["ben"], 100)


def test_one_account_on_several_legs(ctx):
    anna, ben = ctx["anna"], ctx["ben"]
    posted = ledger.post_transaction(
        "split", [Leg(anna.id, -300), Leg(ben.id, 200), Leg(anna.id, 100)]
    )
    assert anna.balance == 800
    assert [e.balance_after for e in posted.entries] == [700, 200, 800]
    db.session.commit()
    assert ledger.ledger_ok()


def test_naive_event_time_is_refused(ctx):
    from datetime import datetime

    with pytest.raises((ValueError, StatementError), match="naive"):
        ledger.transfer(
            "charge",
            ctx["anna"],
            ctx["ben"],
            100,
            event_at=datetime(2026, 1, 1),  # noqa: DTZ001  (the mistake under test)
        )


def test_an_account_opened_by_a_refused_posting_is_not_remembered(ctx):
    """Found by the model-based test: a store's sales account opened by a charge refused for
    want of credit is rolled back, and SQLite gives its id to the next account opened, here
    the points issued at the first charge that earns points. The ledger's cache of system
    accounts must not keep the gone account's unit for that id."""
    ben = ctx["ben"]  # nothing in the wallet
    sales = ledger.system_account(AccountKind.STORE_SALES, uuid.uuid4())
    with pytest.raises(InsufficientFunds):
        ledger.transfer("charge", ben, sales, 100)
    db.session.rollback()

    issued = ledger.system_account(AccountKind.POINTS_ISSUED)
    points = ledger.points_account(ben.user_id)
    ledger.transfer("loyalty_points", issued, points, 8)
    db.session.commit()
    assert ledger.balance_of(points) == 8
    assert all(check.ok for check in ledger.verify_ledger())


# A transaction remembers the customer accounts it has locked (a charge locks the wallet
# before loyalty and posts to it after) and the account ids it has preloaded. These check
# that what it remembers is never stale.


def test_a_wallet_closed_after_it_was_locked_is_refused(ctx):
    anna, ben = ctx["anna"], ctx["ben"]
    ledger.lock_customer_accounts([anna.id, ben.id])
    ledger.close_account(anna)
    with pytest.raises(AccountClosed):
        ledger.transfer("charge", anna, ben, 100)


def test_postings_after_the_lock_see_each_others_balances(ctx):
    anna, ben = ctx["anna"], ctx["ben"]
    ledger.lock_customer_accounts([anna.id, ben.id])
    ledger.transfer("transfer", anna, ben, 600)
    with pytest.raises(InsufficientFunds):
        ledger.transfer("transfer", anna.id, ben.id, 500)  # 400 left, not 1000
    ledger.transfer("transfer", anna.id, ben.id, 400)
    db.session.commit()
    assert (ledger.balance_of(anna), ledger.balance_of(ben)) == (0, 1000)
    assert all(check.ok for check in ledger.verify_ledger())


def test_a_rolled_back_savepoint_takes_its_postings_out_of_what_is_remembered(ctx):
    anna, ben = ctx["anna"], ctx["ben"]
    ledger.lock_customer_accounts([anna.id, ben.id])
    savepoint = db.session.begin_nested()
    ledger.transfer("transfer", anna, ben, 700)
    savepoint.rollback()
    # The rows are back at 1000 and 0; a posting must not start from 300 and 700.
    ledger.transfer("transfer", anna.id, ben.id, 900)
    db.session.commit()
    assert (ledger.balance_of(anna), ledger.balance_of(ben)) == (100, 900)
    assert all(check.ok for check in ledger.verify_ledger())


def test_preloaded_account_ids_are_those_of_the_accounts(ctx):
    store_id = uuid.uuid4()
    sales = ledger.system_account(AccountKind.STORE_SALES, store_id)
    db.session.commit()
    user_id = ctx["anna"].user_id
    points = ledger.points_account(user_id)  # opened in this transaction, rolled back below
    ledger.preload_account_ids(
        [
            ledger.system_account_key(AccountKind.STORE_SALES, store_id),
            ledger.points_account_key(user_id),
            ledger.points_account_key(ctx["ben"].user_id),  # none: opened on first use
        ]
    )
    assert ledger.system_account_id(AccountKind.STORE_SALES, store_id) == sales.id
    assert ledger.points_account_id(user_id) == points.id
    assert (
        ledger.points_account_id(ctx["ben"].user_id) == ledger.points_account(ctx["ben"].user_id).id
    )
    db.session.rollback()
    # The rolled-back points account is not remembered by the next transaction (SQLite gives
    # its id to the next account opened, here another store's).
    other = ledger.system_account(AccountKind.STORE_SALES, uuid.uuid4())
    assert ledger.points_account_id(user_id) == ledger.points_account(user_id).id != other.id


def test_lock_wallet_locks_the_wallet_by_its_key_and_opens_a_missing_one(ctx, app):
    from wallet_api.auth.models import User
    from wallet_api.clock import utcnow

    anna = ctx["anna"]
    locked = ledger.lock_wallet(anna.user_id)
    assert (locked.id, locked.balance, locked.is_closed) == (anna.id, 1000, False)
    # Remembered: the posting to the locked wallet starts from its balance.
    ledger.transfer("transfer", anna, ctx["ben"], 250)
    assert ledger.lock_customer_accounts([anna.id])[anna.id].balance == 750

    # Someone without a wallet (registration always opens one; an older row might not).
    walletless = User(
        email="nowallet@example.com",
        password_hash="x",
        first_name="Nora",
        display_name="Nora",
        handle="nora-no-wallet",
        created_at=utcnow(),
    )
    db.session.add(walletless)
    db.session.flush()
    opened = ledger.lock_wallet(walletless.id)
    assert opened.id == ledger.wallet_account(walletless.id).id
    assert (opened.balance, opened.unit) == (0, app.config["WALLET_CURRENCY"])
    db.session.commit()
    assert all(check.ok for check in ledger.verify_ledger())


def test_whether_an_account_is_a_customers_comes_from_this_database(ctx):
    """The process-wide cache of system accounts never decides which legs are customer
    accounts (a process may serve several databases, as the tests do): a posting to a
    locked wallet and one it has not locked still locks and updates the other."""
    anna, ben = ctx["anna"], ctx["ben"]
    # What a cache filled from another database could say about Ben's id.
    ledger._system_accounts[ben.id] = ledger._SystemAccount(
        ben.id, ben.unit, AccountKind.STORE_SALES
    )
    try:
        ledger.lock_customer_accounts([anna.id])
        ledger.transfer("transfer", anna, ben, 100)
        db.session.commit()
        assert (ledger.balance_of(anna), ledger.balance_of(ben)) == (900, 100)
        assert all(check.ok for check in ledger.verify_ledger())
    finally:
        ledger.clear_account_cache()


# Postings together (``post_transactions``): each its own transaction, all in the
# statements of one.


def _entries_of(transaction: LedgerTransaction) -> list[tuple[int, int, int | None]]:
    return [(e.account_id, e.amount, e.balance_after) for e in transaction.entries]


def test_postings_together_are_each_their_own_transaction(ctx):
    anna, ben = ctx["anna"], ctx["ben"]
    store = ledger.system_account(AccountKind.STORE_SALES, uuid.uuid4())
    points = ledger.points_account(anna.user_id)
    issued = ledger.system_account(AccountKind.POINTS_ISSUED)
    before = counts()
    charge, earned, lunch = ledger.post_transactions(
        [
            ledger.Posting("charge", [Leg(anna.id, -350), Leg(store.id, 350)], memo="Bean"),
            ledger.Posting("loyalty_points", [Leg(issued.id, -35), Leg(points.id, 35)]),
            # Anna again: this one starts from what the charge left.
            ledger.Posting("transfer", [Leg(anna.id, -600), Leg(ben.id, 600)], meta={"a": 1}),
        ]
    )
    assert counts() == (before[0] + 3, before[1] + 6)
    assert (charge.kind, earned.kind, lunch.kind) == ("charge", "loyalty_points", "transfer")
    assert len({charge.id, earned.id, lunch.id}) == 3
    # Each transaction's entries, with each customer balance as it stood after it.
    assert _entries_of(charge) == [(anna.id, -350, 650), (store.id, 350, None)]
    assert _entries_of(earned) == [(issued.id, -35, None), (points.id, 35, 35)]
    assert _entries_of(lunch) == [(anna.id, -600, 50), (ben.id, 600, 600)]
    assert dict(charge.balances_after) == {anna.id: 650}
    assert dict(earned.balances_after) == {points.id: 35}
    assert dict(lunch.balances_after) == {anna.id: 50, ben.id: 600}
    # The objects the caller holds, and what the transaction remembers, are up to date.
    assert (anna.balance, ben.balance, points.balance) == (50, 600, 35)
    assert ledger.lock_customer_accounts([anna.id])[anna.id].balance == 50
    db.session.commit()
    db.session.expire_all()
    assert (ledger.balance_of(anna), ledger.balance_of(ben), ledger.balance_of(points)) == (
        50,
        600,
        35,
    )
    assert anna.version == 3  # the top-up, then each of the two postings to it
    assert ledger.get_transaction(lunch.public_id).meta == {"a": 1}
    assert ledger.get_transaction(charge.public_id).memo == "Bean"
    assert ledger.ledger_ok()


def test_a_later_posting_spends_what_an_earlier_one_credited(ctx):
    anna, ben = ctx["anna"], ctx["ben"]  # Ben has nothing
    store = ledger.system_account(AccountKind.STORE_SALES, uuid.uuid4())
    ledger.post_transactions(
        [
            ledger.Posting("transfer", [Leg(anna.id, -400), Leg(ben.id, 400)]),
            ledger.Posting("charge", [Leg(ben.id, -400), Leg(store.id, 400)]),
        ]
    )
    assert (anna.balance, ben.balance) == (600, 0)
    db.session.commit()
    assert ledger.ledger_ok()


@pytest.mark.parametrize(
    ("second", "error"),
    [
        (lambda a, b, s: [Leg(a, -901), Leg(s, 901)], InsufficientFunds),  # 100 left, not 1000
        (lambda a, b, s: [Leg(a, -1), Leg(s, 2)], UnbalancedTransaction),
        (lambda a, b, s: [Leg(b, 200), Leg(s, -200)], BalanceLimitExceeded),
    ],
    ids=["funds", "unbalanced", "limit"],
)
def test_when_one_posting_is_refused_none_is_written(ctx, second, error):
    anna, ben = ctx["anna"], ctx["ben"]
    store = ledger.system_account(AccountKind.STORE_SALES, uuid.uuid4())
    ledger.lock_customer_accounts([anna.id, ben.id])
    before = counts()
    with pytest.raises(error):
        ledger.post_transactions(
            [
                ledger.Posting("charge", [Leg(anna.id, -100), Leg(store.id, 100)]),
                ledger.Posting("test", second(anna.id, ben.id, store.id), max_balance=150),
            ]
        )
    assert counts() == before
    assert (anna.balance, ben.balance) == (1_000, 0)
    # What the transaction remembers of the locked rows is what they hold.
    assert ledger.lock_customer_accounts([anna.id])[anna.id].balance == 1_000
    ledger.transfer("transfer", anna, ben, 1_000)
    db.session.commit()
    assert (ledger.balance_of(anna), ledger.balance_of(ben)) == (0, 1_000)
    assert ledger.ledger_ok()


def test_no_postings_post_nothing(ctx):
    before = counts()
    assert ledger.post_transactions([]) == []
    assert counts() == before


@pytest.mark.postgres_only
def test_postings_together_send_one_lock_and_one_statement_per_table(ctx, app, monkeypatch):
    from tests.support.statements import counting_statements
    from tests.support.wallet import ledger_verify_command

    anna, ben = ctx["anna"], ctx["ben"]
    store_id = uuid.uuid4()
    store = ledger.system_account(AccountKind.STORE_SALES, store_id)
    points = ledger.points_account(ben.user_id)
    issued = ledger.system_account(AccountKind.POINTS_ISSUED)
    db.session.commit()
    # The system accounts' units, known before (as a charge preloads them).
    ledger.preload_account_ids(
        [
            ledger.system_account_key(AccountKind.STORE_SALES, store_id),
            ledger.system_account_key(AccountKind.POINTS_ISSUED),
        ]
    )
    postings = [
        # Ben (opened after Anna: the higher id) first, so the lock order is not the order
        # of the legs.
        ledger.Posting("loyalty_points", [Leg(issued.id, -5), Leg(points.id, 5)]),
        ledger.Posting("transfer", [Leg(ben.id, 100), Leg(anna.id, -100)]),
        ledger.Posting("charge", [Leg(anna.id, -50), Leg(store.id, 50)]),
    ]
    with counting_statements(monkeypatch) as sent:
        ledger.post_transactions(postings)
    assert len(sent.statements) == 4, sent.describe()
    lock, transactions, entries, balances = sent.statements
    assert "FOR NO KEY UPDATE" in lock
    assert "ORDER BY ledger_accounts.id" in lock
    assert transactions.startswith("INSERT INTO ledger_transactions")
    assert transactions.count("%(kind_") == 3
    assert entries.startswith("INSERT INTO ledger_entries")
    assert entries.count("%(amount_") == 6
    assert balances.startswith("UPDATE ledger_accounts")
    assert balances.count("WHEN") == 2 * 3  # balance and version of Anna, Ben, Ben's points
    db.session.commit()
    assert (ledger.balance_of(anna), ledger.balance_of(ben), ledger.balance_of(points)) == (
        850,
        100,
        5,
    )
    code, output = ledger_verify_command(app)  # what an operator runs
    assert code == 0, output
