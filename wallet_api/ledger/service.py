"""The only code that moves money (and points).

``post_transaction`` writes one balanced transaction: it locks the customer accounts it
touches (in sorted id order, so two postings never wait on each other in a cycle), checks
their balances, appends the entries and updates the cached balances, all inside the
caller's database transaction. It flushes; the request commits.

``meta`` of a transaction is what a person needs to read the history row later. Every
domain that posts uses these keys (all optional; ``account_history`` reads them):

* ``meta["store"] = {"id": "<store uuid>", "name": "Bean Central"}``: where it happened;
* ``meta["items"] = [{"name": "Flat white", "size": "medium", "quantity": 1,
  "unit_price": 350}]``: what was bought or given (``unit_price`` in cents);
* domain references such as ``meta["top_up_id"]``, ``meta["charge_id"]``,
  ``meta["gift_id"]`` (UUID strings), read by those domains and reports.

Values must be JSON (strings, numbers, lists, dicts): UUIDs are stored as strings.

Who the other side of a row was is not a meta key: the ledger is append-only, so the
wallet's history reads it from the posting domain's own rows by these references
(``wallet_api.wallet.counterparties``). Put no more personal data (email addresses,
phone numbers) in memos or meta; a gift by email or phone still names its address in its
memo and ``meta["to"]``, which a row written once keeps for good.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, make_transient_to_detached, object_session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from wallet_api.clock import utcnow
from wallet_api.extensions import db
from wallet_api.extensions.database import transaction_memo
from wallet_api.extensions.fixed import FixedStatement
from wallet_api.extensions.pagination import keyset_page
from wallet_api.ledger import statements
from wallet_api.ledger.errors import (
    AccountClosed,
    BalanceLimitExceeded,
    InsufficientFunds,
    InsufficientPoints,
    UnbalancedTransaction,
)
from wallet_api.ledger.models import (
    CUSTOMER_KINDS,
    POINTS_UNIT,
    Account,
    AccountKind,
    LedgerEntry,
    LedgerTransaction,
)
from wallet_api.ledger.statements import Locked


@dataclass(frozen=True)
class Leg:
    """``amount`` flows into ``account_id``: positive credits it, negative debits it."""

    account_id: int
    amount: int


@dataclass(frozen=True)
class _SystemAccount:
    id: int
    unit: str
    kind: AccountKind


# System accounts never change unit or kind, so one lookup per process is enough; this
# keeps hot system accounts out of the locked set entirely. Only committed rows may be
# cached: an account opened by a request that then rolls back is gone, and SQLite hands
# its id to the next account opened (of another unit, say), so caching it would poison
# every later posting to that id. Accounts this session opened are therefore not cached
# (the session's ``info`` remembers them) until a later session reads them committed.
_system_accounts: dict[int, _SystemAccount] = {}
# Likewise the ids of system accounts by key (a key names one account for good: accounts
# are never deleted), under the same rule: a top-up or a charge then reads none of them.
_system_ids: dict[str, int] = {}
_OPENED_HERE = "ledger_accounts_opened"

# What this transaction already knows (``transaction_memo``), so that a charge does not
# ask twice (both are on the path of every charge):
# * ``_LOCKED``: customer accounts it holds the row lock of, as last written. Nobody else
#   can change a locked row, and this module writes every balance, so the values stay
#   true until the transaction ends. A posting to accounts all in here skips its lock.
# * ``_IDS``: account ids by key, and ``_SYSTEM_IDS`` those of them that are system
#   accounts, with their unit and kind (``preload_account_ids``).
_LOCKED = "ledger_locked_accounts"
_IDS = "ledger_account_ids"
_SYSTEM_IDS = "ledger_system_account_ids"


def _locked_here() -> dict[int, Locked]:
    return transaction_memo(_LOCKED)


def currency() -> str:
    from flask import current_app

    code: str = current_app.config["WALLET_CURRENCY"]
    return code


# --- opening accounts ------------------------------------------------------------------


def _get_or_create(key: str, **values: Any) -> Account:
    # An account this transaction has read already is the session's: no second SELECT by
    # key (a top-up reads the wallet to check its limit, then credits it).
    ids: dict[str, int] = transaction_memo(_IDS)
    account = db.session.get(Account, ids[key]) if key in ids else None
    if account is None:
        account = db.session.scalar(select(Account).where(Account.key == key))
    if account is not None:
        ids[key] = account.id
        return account
    try:
        with db.session.begin_nested():
            account = Account(key=key, created_at=utcnow(), **values)
            db.session.add(account)
        db.session.info.setdefault(_OPENED_HERE, set()).add(account.id)
    except IntegrityError:
        # Opened concurrently by another request; theirs is as good as ours.
        account = db.session.scalar(select(Account).where(Account.key == key))
        if account is None:  # pragma: no cover
            raise
    return account


def open_customer_accounts(user_id: uuid.UUID) -> Account:
    """The wallet of a new customer (points accounts are opened by loyalty)."""
    return wallet_account(user_id)


def wallet_account(user_id: uuid.UUID) -> Account:
    return _get_or_create(
        wallet_account_key(user_id),
        kind=AccountKind.WALLET,
        unit=currency(),
        user_id=user_id,
        balance=0,
    )


def points_account(user_id: uuid.UUID) -> Account:
    return _get_or_create(
        points_account_key(user_id),
        kind=AccountKind.POINTS,
        unit=POINTS_UNIT,
        user_id=user_id,
        balance=0,
    )


def _system_key(kind: AccountKind, store_id: uuid.UUID | None) -> tuple[str, str]:
    """The account key and unit of a system account: one per store, or one per unit."""
    if kind in CUSTOMER_KINDS:
        raise ValueError(f"{kind} is a customer account")
    unit = POINTS_UNIT if kind is AccountKind.POINTS_ISSUED else currency()
    return (f"{kind.value}:{store_id}" if store_id else f"{kind.value}:{unit}"), unit


def system_account(kind: AccountKind, store_id: uuid.UUID | None = None) -> Account:
    key, unit = _system_key(kind, store_id)
    return _get_or_create(key, kind=kind, unit=unit, store_id=store_id, balance=None)


_accounts = Account.__table__


_ID_BY_KEY = FixedStatement(select(_accounts.c.id).where(_accounts.c.key == bindparam("key")))


@lru_cache(maxsize=8)
def _ids_by_key(count: int) -> FixedStatement:
    """The ids of ``count`` accounts by key, a fixed statement per count (a charge: four),
    with what a posting needs to know of the system accounts among them."""
    return FixedStatement(
        select(
            _accounts.c.key,
            _accounts.c.id,
            _accounts.c.balance.is_(None),
            _accounts.c.unit,
            _accounts.c.kind,
        ).where(_accounts.c.key.in_([bindparam(f"key_{n}") for n in range(count)]))
    )


def _account_id(key: str) -> int | None:
    # A Core SELECT of the id alone: on a charge's path the caller needs nothing else, and a
    # whole ORM row costs more CPU than the statement. Known for this transaction only
    # (``system_account_id`` keeps system accounts' for the process, by the rule of
    # ``_system_accounts``: not an id from a transaction that may roll back).
    known: dict[str, int] = transaction_memo(_IDS)
    if key not in known:
        account_id = _ID_BY_KEY.execute({"key": key}).scalar()
        if account_id is None:
            return None
        known[key] = account_id
    return known[key]


def wallet_account_key(user_id: uuid.UUID) -> str:
    return f"wallet:{user_id}"


def points_account_key(user_id: uuid.UUID) -> str:
    return f"points:{user_id}"


def system_account_key(kind: AccountKind, store_id: uuid.UUID | None = None) -> str:
    return _system_key(kind, store_id)[0]


def preload_account_ids(keys: Iterable[str]) -> None:
    """Read the ids of accounts this transaction is about to post to, in one statement.

    ``system_account_id`` and ``points_account_id`` then answer without a statement each,
    and a posting to the system accounts among them needs no look-up of their unit. Accounts
    that do not exist yet are left out; they are opened on first use as before.
    """
    wanted = list(dict.fromkeys(keys))
    if wanted:
        ids, systems = transaction_memo(_IDS), transaction_memo(_SYSTEM_IDS)
        by_key = _ids_by_key(len(wanted)).execute({f"key_{n}": k for n, k in enumerate(wanted)})
        for key, account_id, is_system, unit, kind in by_key:
            ids[key] = account_id
            if is_system:
                systems[account_id] = _remember_system_account(account_id, unit, kind, key)


def system_account_id(kind: AccountKind, store_id: uuid.UUID | None = None) -> int:
    """The id of ``system_account(kind, store_id)``, opening the account if need be."""
    key = system_account_key(kind, store_id)
    account_id = _system_ids.get(key) or _account_id(key)
    if account_id is None:
        account_id = system_account(kind, store_id).id
    if account_id not in db.session.info.get(_OPENED_HERE, ()):
        _system_ids[key] = account_id
    return account_id


def points_account_id(user_id: uuid.UUID) -> int:
    """The id of ``points_account(user_id)``, opening the account if need be."""
    account_id = _account_id(points_account_key(user_id))
    return account_id if account_id is not None else points_account(user_id).id


def close_account(account: Account) -> None:
    account.is_closed = True


@event.listens_for(Account.balance, "set")
@event.listens_for(Account.version, "set")
@event.listens_for(Account.is_closed, "set")
def _account_changed_outside_posting(target: Account, value: Any, *_: Any) -> None:
    """An account changed through the ORM (closed, say): its locked values are stale now."""
    session = object_session(target)
    if session is not None:
        transaction_memo(_LOCKED, session).pop(target.id, None)


# --- posting ---------------------------------------------------------------------------


def _system_accounts_for(ids: Iterable[int]) -> dict[int, _SystemAccount]:
    """Unit and kind of these system accounts: from this transaction's preload, the
    process-wide cache, or one ``SELECT`` of those neither knows."""
    ids = list(ids)
    preloaded: dict[int, _SystemAccount] = transaction_memo(_SYSTEM_IDS)
    found = {}
    for i in ids:
        facts = preloaded.get(i) or _system_accounts.get(i)
        if facts is not None:
            found[i] = facts
    missing = [i for i in ids if i not in found]
    if missing:
        rows = db.session.execute(
            select(Account.id, Account.unit, Account.kind).where(
                Account.id.in_(missing), Account.balance.is_(None)
            )
        )
        for row in rows:
            found[row.id] = _remember_system_account(row.id, row.unit, row.kind)
    return found


def _remember_system_account(
    account_id: int, unit: str, kind: AccountKind, key: str | None = None
) -> _SystemAccount:
    """A system account's facts as read in this transaction, cached for the process when
    the row is committed (see ``_system_accounts``)."""
    facts = _SystemAccount(account_id, unit, kind)
    if account_id not in db.session.info.get(_OPENED_HERE, ()):
        _system_accounts[account_id] = facts
        if key is not None:
            _system_ids[key] = account_id
    return facts


def lock_customer_accounts(ids: Iterable[int]) -> dict[int, Locked]:
    """Lock customer accounts in ascending id order (``FOR NO KEY UPDATE`` on PostgreSQL).

    On SQLite the request already holds the database's write lock (BEGIN IMMEDIATE).
    Returns the locked rows with fresh balances; system account ids are ignored. It sends
    the posting's own lock statement (no ORM load: this runs on every charge), and
    ``Account`` objects this session holds are brought up to date with the locked rows.
    """
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    # Pending ORM changes (an account closed or opened in this request) first, as the
    # ORM's autoflush did before its SELECT.
    db.session.flush()
    locked = statements.lock_customers(wanted)
    _locked_here().update(locked)
    for row in locked.values():
        _refresh_loaded_account(row.id, row.balance, row.version, is_closed=row.is_closed)
    return locked


def lock_wallet(user_id: uuid.UUID) -> Locked:
    """The customer's wallet, locked as ``lock_customer_accounts`` locks it, found by its key.

    For a charge, which needs the wallet's id, unit and balance under the lock anyway: one
    statement where loading the account and then locking it took two.
    """
    return lock_wallets([user_id])[0]


def lock_wallets(user_ids: Sequence[uuid.UUID]) -> list[Locked]:
    """These customers' wallets (in the order given), locked in one statement in the
    ledger's order (ascending id), found by their keys; a missing wallet is opened."""
    db.session.flush()
    keys = [wallet_account_key(user_id) for user_id in user_ids]
    locked = statements.lock_customers_by_key(keys)
    if len(locked) < len(set(keys)):  # no wallet yet (an older row): open it and lock all
        ids = [wallet_account(user_id).id for user_id in user_ids]
        by_id = lock_customer_accounts(ids)
        return [by_id[i] for i in ids]
    held = _locked_here()
    for row in locked.values():
        held[row.id] = row
        _refresh_loaded_account(row.id, row.balance, row.version, is_closed=row.is_closed)
    return [locked[key] for key in keys]


def hold_locked_wallet(locked: Locked) -> Locked:
    """A wallet another statement has just read under the lock ``lock_wallet`` takes (the
    counter reads it with its customer, ``stores/scanning.py``): kept as this transaction's,
    as ``lock_wallet`` keeps what it locks, so the posting does not lock it again."""
    _locked_here()[locked.id] = locked
    _refresh_loaded_account(locked.id, locked.balance, locked.version, is_closed=locked.is_closed)
    return locked


def _lock_for_posting(account_ids: set[int]) -> dict[int, Locked]:
    """The customer accounts among ``account_ids``, locked, with their current values.

    When this transaction holds every one of them already (a charge locks the wallet before
    loyalty runs) and it has read the others as system accounts (``preload_account_ids``),
    the lock statement is not sent again. Otherwise all of them are locked in one statement
    as before: re-locking a row this transaction holds never waits. (Only what this
    transaction read decides, not the process-wide cache of system accounts: which ids are
    customer accounts must come from this database.)
    """
    held = _locked_here()
    systems = transaction_memo(_SYSTEM_IDS)
    if all(i in held or i in systems for i in account_ids):
        return {i: held[i] for i in account_ids if i in held}
    customers = statements.lock_customers(sorted(account_ids))
    held.update(customers)
    return customers


@dataclass(frozen=True)
class Posting:
    """One balanced transaction, to post with others in ``post_transactions``."""

    kind: str
    legs: Sequence[Leg]
    memo: str = ""
    meta: Mapping[str, Any] | None = None
    event_at: datetime | None = None
    # Caps every customer wallet this posting credits (the configured maximum balance).
    max_balance: int | None = None


def post_transaction(
    kind: str,
    legs: Sequence[Leg],
    *,
    memo: str = "",
    meta: Mapping[str, Any] | None = None,
    event_at: datetime | None = None,
    max_balance: int | None = None,
) -> LedgerTransaction:
    """Post one balanced transaction; raises before writing anything if a rule fails.

    ``max_balance`` caps every credited customer wallet (the configured maximum balance).
    """
    posting = Posting(kind, legs, memo=memo, meta=meta, event_at=event_at, max_balance=max_balance)
    return post_transactions([posting])[0]


def post_transactions(postings: Sequence[Posting]) -> list[LedgerTransaction]:
    """Post several balanced transactions together, in the statements of one.

    The same rules as ``post_transaction``, checked posting by posting in the order given,
    each against the balances the ones before it leave; if any is refused, nothing of any
    of them is written. Then one lock of all their customer accounts (in id order), one
    INSERT of the transactions, one of all their entries and one UPDATE of the balances:
    four statements, where posting them one by one sends four each. Each transaction is
    its own (a history shows each row), as if posted one after the other.

    Each returned transaction's ``balances_after`` maps its customer accounts' ids to their
    balances after it.
    """
    for posting in postings:
        if len(posting.legs) < 2:
            raise UnbalancedTransaction("a transaction needs at least two legs")
        for leg in posting.legs:
            if type(leg.amount) is not int or leg.amount == 0:
                raise UnbalancedTransaction(
                    f"leg amounts are non-zero integers, got {leg.amount!r}"
                )
    if not postings:
        return []

    account_ids = {leg.account_id for posting in postings for leg in posting.legs}
    # Pending ORM changes (an account closed or opened in this request) must be in the
    # database before the lock reads it; a no-op when there are none.
    db.session.flush()
    customers = _lock_for_posting(account_ids)
    systems = _system_accounts_for(account_ids - customers.keys())
    unknown = account_ids - customers.keys() - systems.keys()
    if unknown:
        raise UnbalancedTransaction(f"unknown accounts {sorted(unknown)}")

    # Every rule of every posting first, on balances carried from one posting to the next.
    now = utcnow()
    balances = {i: a.balance for i, a in customers.items()}
    versions = {i: a.version for i, a in customers.items()}
    planned: list[tuple[dict[str, Any], list[dict[str, Any]], dict[int, int]]] = []
    for posting in postings:
        _check_posting(posting, customers, systems, balances)
        values: dict[str, Any] = {
            "public_id": uuid.uuid4(),
            "kind": posting.kind,
            "memo": posting.memo,
            "meta": dict(posting.meta or {}),
            "event_at": posting.event_at or now,
            "created_at": now,
        }
        entries = []
        for leg in posting.legs:
            balance_after = None
            if leg.account_id in balances:
                balances[leg.account_id] += leg.amount
                balance_after = balances[leg.account_id]
            entries.append(
                {
                    "account_id": leg.account_id,
                    "amount": leg.amount,
                    "balance_after": balance_after,
                    "created_at": now,
                }
            )
        touched_here = dict.fromkeys(leg.account_id for leg in posting.legs)
        after = {i: balances[i] for i in touched_here if i in balances}
        for account_id in after:
            versions[account_id] += 1
        planned.append((values, entries, after))

    transaction_ids = statements.insert_transactions([values for values, _, _ in planned])
    statements.insert_entries(
        [
            {"transaction_id": transaction_ids[values["public_id"]], **entry}
            for values, entries, _ in planned
            for entry in entries
        ]
    )
    touched = sorted({i for _, _, after in planned for i in after})
    statements.update_balances({i: (balances[i], versions[i]) for i in touched})

    held = _locked_here()
    for account_id in touched:
        held[account_id] = dataclasses.replace(
            customers[account_id], balance=balances[account_id], version=versions[account_id]
        )
        _refresh_loaded_account(account_id, balances[account_id], versions[account_id])
    posted = []
    for values, _, after in planned:
        transaction = LedgerTransaction(id=transaction_ids[values["public_id"]], **values)
        # The row exists already: attach the object as persistent, without another INSERT.
        make_transient_to_detached(transaction)
        db.session.add(transaction)
        # Declared ClassVar only so that SQLAlchemy maps no column for it (ledger/models.py).
        transaction.balances_after = after  # type: ignore[misc]  # ClassVar: unmapped
        posted.append(transaction)
    return posted


def _check_posting(
    posting: Posting,
    customers: Mapping[int, Locked],
    systems: Mapping[int, _SystemAccount],
    balances: Mapping[int, int],
) -> None:
    """Refuse ``posting`` if it breaks a rule, given the customers' current ``balances``."""
    totals: dict[str, int] = defaultdict(int)
    deltas: dict[int, int] = defaultdict(int)
    for leg in posting.legs:
        account = customers.get(leg.account_id) or systems[leg.account_id]
        totals[account.unit] += leg.amount
        deltas[leg.account_id] += leg.amount
    if any(totals.values()):
        raise UnbalancedTransaction(f"legs do not sum to zero: {dict(totals)}")

    for account_id in sorted(deltas.keys() & customers.keys()):
        account = customers[account_id]
        balance = balances[account_id]
        delta = deltas[account_id]
        if account.is_closed:
            raise AccountClosed("This wallet is closed.")
        new_balance = balance + delta
        if new_balance < 0:
            if account.kind is AccountKind.POINTS:
                raise InsufficientPoints(
                    f"This needs {-delta} points; {balance} are available.",
                    balance=balance,
                )
            raise InsufficientFunds(
                f"This needs {-delta} {account.unit} cents; the balance is {balance}.",
                balance=balance,
                currency=account.unit,
            )
        if (
            delta > 0
            and posting.max_balance is not None
            and account.kind is AccountKind.WALLET
            and new_balance > posting.max_balance
        ):
            raise BalanceLimitExceeded(
                f"A wallet holds at most {posting.max_balance} cents; this would make it "
                f"{new_balance}.",
                max_balance=posting.max_balance,
            )


def _refresh_loaded_account(
    account_id: int, balance: int, version: int, *, is_closed: bool | None = None
) -> None:
    """Keep an Account already loaded in this session in step with the row."""
    loaded = db.session.identity_map.get(identity_key(Account, account_id))
    if loaded is not None:
        set_committed_value(loaded, "balance", balance)
        set_committed_value(loaded, "version", version)
        if is_closed is not None:
            set_committed_value(loaded, "is_closed", is_closed)


def transfer(
    kind: str,
    source: Account | int,
    destination: Account | int,
    amount: int,
    **kwargs: Any,
) -> LedgerTransaction:
    """The common two-leg case: ``amount`` from ``source`` to ``destination`` (accounts or
    their ids: a caller that only needs the ids need not load the rows)."""
    if type(amount) is not int or amount <= 0:
        raise UnbalancedTransaction("a transfer amount is a positive integer")
    source_id = source if isinstance(source, int) else source.id
    destination_id = destination if isinstance(destination, int) else destination.id
    return post_transaction(kind, [Leg(source_id, -amount), Leg(destination_id, amount)], **kwargs)


# --- reading ---------------------------------------------------------------------------


def balance_of(account: Account) -> int:
    """Cached for customer accounts; summed from entries for system accounts."""
    if account.balance is not None:
        return account.balance
    total = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.account_id == account.id
        )
    )
    return int(total or 0)


def get_transaction(public_id: uuid.UUID) -> LedgerTransaction | None:
    return db.session.scalar(
        select(LedgerTransaction).where(LedgerTransaction.public_id == public_id)
    )


@dataclass(frozen=True)
class HistoryEntry:
    """One entry of a customer account, with what its transaction says for people."""

    entry_id: int
    transaction_id: uuid.UUID
    kind: str
    amount: int
    balance_after: int | None
    memo: str
    meta: Mapping[str, Any]
    event_at: datetime
    created_at: datetime
    # Who was on the other side, filled in by the history's reader (the wallet).
    counterparty: Mapping[str, Any] | None = None

    @property
    def store(self) -> dict[str, Any] | None:
        return _meta_dict(self.meta.get("store"))

    @property
    def items(self) -> list[dict[str, Any]]:
        items = self.meta.get("items")
        return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _meta_dict(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) and value.get("id") is not None else None


def account_history(account: Account, *, limit: int, cursor: str | None) -> dict[str, Any]:
    """A page of ``account``'s entries, newest first (keyset on entry id).

    Returns ``{"items": [HistoryEntry, ...], "next_cursor": str | None}``.
    """
    stmt = (
        select(LedgerEntry)
        .where(LedgerEntry.account_id == account.id)
        .options(joinedload(LedgerEntry.transaction).lazyload(LedgerTransaction.entries))
    )
    page = keyset_page(stmt, [LedgerEntry.id], limit=limit, cursor=cursor)
    page["items"] = [
        HistoryEntry(
            entry_id=entry.id,
            transaction_id=entry.transaction.public_id,
            kind=entry.transaction.kind,
            amount=entry.amount,
            balance_after=entry.balance_after,
            memo=entry.transaction.memo,
            meta=entry.transaction.meta or {},
            event_at=entry.transaction.event_at,
            created_at=entry.transaction.created_at,
        )
        for entry in page["items"]
    ]
    return page


# --- verification ----------------------------------------------------------------------


@dataclass
class Check:
    name: str
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


def verify_ledger(limit: int = 20) -> list[Check]:
    """The ledger's invariants (docs/architecture.md), each as a query that returns the
    offending rows."""
    e, a, t = LedgerEntry, Account, LedgerTransaction
    checks: list[Check] = []

    unbalanced = db.session.execute(
        select(e.transaction_id, a.unit, func.sum(e.amount))
        .join(a, a.id == e.account_id)
        .group_by(e.transaction_id, a.unit)
        .having(func.sum(e.amount) != 0)
        .limit(limit)
    )
    checks.append(
        Check(
            "every transaction sums to zero per unit",
            [f"transaction {tid} {unit} sums to {s}" for tid, unit, s in unbalanced],
        )
    )

    legs = (
        select(t.id, func.count(e.id).label("n"))
        .outerjoin(e, e.transaction_id == t.id)
        .group_by(t.id)
        .subquery()
    )
    thin = db.session.execute(select(legs.c.id, legs.c.n).where(legs.c.n < 2).limit(limit))
    checks.append(
        Check(
            "every transaction has at least two entries",
            [f"transaction {tid} has {n} entries" for tid, n in thin],
        )
    )

    sums = select(e.account_id, func.sum(e.amount).label("total")).group_by(e.account_id).subquery()
    drift = db.session.execute(
        select(a.key, a.balance, func.coalesce(sums.c.total, 0))
        .outerjoin(sums, sums.c.account_id == a.id)
        .where(a.balance.is_not(None), a.balance != func.coalesce(sums.c.total, 0))
        .limit(limit)
    )
    checks.append(
        Check(
            "every cached balance equals the sum of its entries",
            [f"{key}: cached {bal}, entries {total}" for key, bal, total in drift],
        )
    )

    negative = db.session.execute(
        select(a.key, func.coalesce(sums.c.total, 0))
        .outerjoin(sums, sums.c.account_id == a.id)
        .where(
            a.kind.in_([k.value for k in CUSTOMER_KINDS]),
            (a.balance < 0) | (func.coalesce(sums.c.total, 0) < 0),
        )
        .limit(limit)
    )
    checks.append(
        Check(
            "no customer balance is negative",
            [f"{key}: {total}" for key, total in negative],
        )
    )

    totals = db.session.execute(
        select(a.unit, func.sum(e.amount))
        .join(a, a.id == e.account_id)
        .group_by(a.unit)
        .having(func.sum(e.amount) != 0)
    )
    checks.append(
        Check(
            "all accounts together total zero per unit",
            [f"{unit} totals {s}" for unit, s in totals],
        )
    )

    after = db.session.execute(
        select(a.key, e.id, e.balance_after)
        .join(a, a.id == e.account_id)
        .where(a.balance.is_not(None), e.balance_after.is_(None))
        .limit(limit)
    )
    checks.append(
        Check(
            "every customer entry records the balance after it",
            [f"{key}: entry {eid}" for key, eid, _ in after],
        )
    )
    return checks


def ledger_ok() -> bool:
    return all(check.ok for check in verify_ledger())


def clear_account_cache() -> None:
    """Forget cached system accounts (tests that recreate the database call this)."""
    _system_accounts.clear()
    _system_ids.clear()
