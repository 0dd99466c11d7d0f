"""The ``pay`` charge: a pay or offline code, paid from the customer's own wallet.

A pay charge, step by step: price the items (the ``subtotal``); ``apply_offers`` gives the
``discount``; the wallet pays ``subtotal - discount`` and the chain's promotions account
the discount, so the store's sales are the subtotal either way; ``award_points_for_charge``
credits points on what the wallet paid (plus offers' bonus points); ``record_offer_use``
uses up once-per-customer offers. A refund takes points back in proportion (loyalty's
``on_refund`` hook at the counter).

Loyalty and blends are called directly: the counter knows neither.

The pay charge is the till's hot path, so it reads what belongs together in one statement:
the person behind the code, their wallet and their loyalty member row (``_CUSTOMER_...``
below). That statement reads auth's, the ledger's and loyalty's tables at once; it is the
one place outside those domains that does, kept here with the only handler that needs it,
and falls back to each domain's own service when a row is not there yet.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, select

from wallet_api.auth.models import User
from wallet_api.blends import service as blends
from wallet_api.catalog.service import PricedLine
from wallet_api.clock import utcnow
from wallet_api.counter.errors import CodeUnknown
from wallet_api.counter.registry import ScannedCode
from wallet_api.counter.scanning import Customer, customer_of, lock_open_wallet
from wallet_api.counter.service import (
    ChargeResult,
    Posted,
    Receipt,
    Sale,
    priced_order,
    sale_meta,
    sell,
)
from wallet_api.extensions import db
from wallet_api.extensions.auth import Principal
from wallet_api.extensions.fixed import FixedStatement
from wallet_api.ledger import service as ledger
from wallet_api.ledger.errors import AccountClosed
from wallet_api.ledger.models import Account, AccountKind
from wallet_api.ledger.service import Leg
from wallet_api.ledger.statements import Locked
from wallet_api.loyalty import service as loyalty
from wallet_api.loyalty.models import Member
from wallet_api.stores.models import Store

PAY_KIND = "pay"


# --- the customer, their wallet and their loyalty member, in one statement ------------------
# A pay charge reads the person behind the code, then locks their wallet, then their loyalty
# member row: three round trips. One SELECT joins the three and locks the wallet and the
# member row (FOR NO KEY UPDATE OF both, in that order: PostgreSQL locks the rows of a
# result row in the order of the OF list, checked with a member row held elsewhere: the
# wallet is locked while the statement waits, so a charge still locks wallet, then member).
# On SQLite the same statement runs without the locking clause (the request holds the
# write lock). When it finds nothing (no member row yet before a first charge, no wallet
# yet, no such person) the charge takes the three steps, whose errors are the exact ones.
_users = User.__table__
_accounts = Account.__table__
_members = Member.__table__
_WALLET_COLUMNS = ("id", "kind", "unit", "balance", "version", "is_closed")


def _customer_wallet_member(*, with_member: bool, lock: bool = True) -> FixedStatement:
    columns = [
        _users.c.id,
        _users.c.first_name,
        _users.c.created_at,
        _users.c.is_active,
        *(_accounts.c[name].label(f"wallet_{name}") for name in _WALLET_COLUMNS),
    ]
    locked = [_accounts]
    statement = select(*columns).join_from(
        _users,
        _accounts,
        (_accounts.c.key == bindparam("wallet_key")) & _accounts.c.balance.is_not(None),
    )
    if with_member:
        statement = statement.add_columns(
            *(column.label(f"member_{column.key}") for column in _members.c)
        ).join(_members, _members.c.user_id == _users.c.id)
        locked.append(_members)
    statement = statement.where(_users.c.id == bindparam("user_id"))
    if lock:
        statement = statement.with_for_update(key_share=True, of=locked)
    return FixedStatement(statement)


_CUSTOMER_AND_WALLET = _customer_wallet_member(with_member=False)
_CUSTOMER_WALLET_AND_MEMBER = _customer_wallet_member(with_member=True)


def customer_with_locked_wallet(
    scanned: ScannedCode, *, lock_member: bool
) -> tuple[Customer, Locked]:
    """The person behind a pay code and their open wallet, locked; with ``lock_member``
    their loyalty member row too, locked after the wallet (``loyalty.lock_members`` then
    finds it held). As ``customer_of`` then ``lock_open_wallet`` (then locking the member):
    the same rows, locks, order and errors, in one statement where it can.

    ``lock_member`` only when the customer's member row is the first member the charge
    locks: members are locked in id order, so a charge that also credits others (the
    creators of the blends it orders) locks them all together, later.
    """
    if scanned.customer_id is None:
        raise CodeUnknown("This code is not known.")
    statement = _CUSTOMER_WALLET_AND_MEMBER if lock_member else _CUSTOMER_AND_WALLET
    db.session.flush()  # as lock_wallet does: what the session holds is written first
    row = statement.execute(
        {
            "user_id": scanned.customer_id,
            "wallet_key": ledger.wallet_account_key(scanned.customer_id),
        }
    ).one_or_none()
    if row is None:
        customer = customer_of(scanned)
        return customer, lock_open_wallet(customer)
    if not row.is_active:
        raise CodeUnknown("This code is not known.")
    customer = Customer(row.id, row.first_name, row.created_at)
    values = row._asdict()
    wallet = ledger.hold_locked_wallet(
        Locked(
            row.wallet_id,
            AccountKind(row.wallet_kind),
            row.wallet_unit,
            row.wallet_balance,
            row.wallet_version,
            row.wallet_is_closed,
        )
    )
    if lock_member:
        loyalty.hold_locked_member(
            {column.key: values[f"member_{column.key}"] for column in _members.c}
        )
    if wallet.is_closed:
        raise AccountClosed(f"{customer.first_name}'s wallet is closed.")
    return customer, wallet


def _item_id(line: PricedLine) -> uuid.UUID:
    return line.item_id


def charge_wallet(
    principal: Principal, store: Store, scanned: ScannedCode, data: Mapping[str, Any]
) -> ChargeResult:
    """A pay code: offers first, then the wallet pays the rest and earns points."""
    # Lock order: the customer's wallet, then every loyalty member involved (the customer
    # and the creators of the blends ordered) in id order, then points. Refunds and
    # apologies take the wallet first too, so they queue behind a charge, never deadlock.
    # Without blends the customer is the only member: read and locked with the wallet.
    ordered_blends = any(item.get("blend_id") for item in data.get("items") or ())
    customer, wallet = customer_with_locked_wallet(scanned, lock_member=not ordered_blends)
    priced, subtotal = priced_order(data, viewer_id=customer.id)
    at = utcnow()
    blend_lines = sorted((line for line in priced if line.kind == "blend"), key=_item_id)
    creators = [
        credited
        for line in blend_lines
        for credited in blends.creators_credited(line.item_id, customer.id)
    ]
    # The accounts the sale and its points post to, in one statement instead of one each.
    ledger.preload_account_ids(
        [
            ledger.system_account_key(AccountKind.STORE_SALES, store.id),
            ledger.system_account_key(AccountKind.PROMOTIONS),
            ledger.system_account_key(AccountKind.POINTS_ISSUED),
            ledger.points_account_key(customer.id),
        ]
    )
    loyalty.lock_members({customer.id, *(creator for _, creator in creators)}, at)
    offers = loyalty.apply_offers(
        customer.id, store_id=store.id, subtotal_cents=subtotal, lines=priced, at=at
    )
    paid = subtotal - offers.discount_cents
    balance = wallet.balance

    def post(charge_id: uuid.UUID) -> Posted:
        nonlocal balance
        # Points are awarded before the posting (same transaction: if the wallet cannot
        # pay, all of it rolls back) so that the charge's ledger row can say what it earned;
        # their ledger posting is written with the sale's, in the statements of one.
        postings: list[ledger.Posting] = []
        points = loyalty.award_points_for_charge(
            customer.id,
            charge_id=charge_id,
            amount_cents=paid,
            store_id=store.id,
            at=at,
            offer_bonus_points=offers.bonus_points,
            new_charge=True,  # charge_id is a new uuid4: no spend can hold it yet
            customer_since=customer.created_at,
            postings=postings,
        )
        # The store sells at menu prices; the chain's promotions account pays the discount.
        legs = [Leg(ledger.system_account_id(AccountKind.STORE_SALES, store.id), subtotal)]
        if paid:
            legs.append(Leg(wallet.id, -paid))
        if offers.discount_cents:
            promotions = ledger.system_account_id(AccountKind.PROMOTIONS)
            legs.append(Leg(promotions, -offers.discount_cents))
        meta = sale_meta(
            store,
            charge_id,
            priced,
            subtotal=subtotal,
            discount=offers.discount_cents,
            offers=offers.receipt_lines,
            points_earned=points,
        )
        postings.append(ledger.Posting("charge", legs, memo=store.name, meta=meta, event_at=at))
        *_, transaction = ledger.post_transactions(postings)
        # As the posting left it (a sale its offers paid in full leaves the wallet as locked).
        balance = transaction.balances_after.get(wallet.id, wallet.balance)
        loyalty.record_offer_use(
            customer.id, charge_id=charge_id, applied=offers.applied, at=at, new_charge=True
        )
        # The receipt comes next, before the blends' counts: recording it locks the blends
        # ordered, in id order, to verify the customer's ratings of them (see
        # blends.verify_ratings_of).
        return Posted(transaction, points)

    def then(charge: Receipt) -> int:
        # Orders count for "the usual", the top-10 and "enjoyed by"; creators earn bonus
        # points.
        for line in blend_lines:
            blends.record_blend_ordered(line.item_id, customer.id, line.quantity, at)
        for blend_id, creator_id in creators:
            loyalty.reward_creator(
                creator_id, blend_id=blend_id, by_user_id=customer.id, reason="order", at=at
            )
        return balance

    sale = Sale(
        payer_id=customer.id,
        drinker_first_name=customer.first_name,
        lines=priced,
        amount=paid,
        currency=wallet.unit,
        discount=offers.discount_cents,
        offers=offers.receipt_lines,
    )
    return sell(principal, store, scanned, sale, post=post, then=then)
