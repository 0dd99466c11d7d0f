"""The scanner's preview of a code: who it is, the usual, whether the balance covers it.

A scan has no side effects: nothing is consumed, locked or written.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select

from wallet_api.auth.models import User
from wallet_api.clock import utcnow
from wallet_api.extensions import db
from wallet_api.extensions.auth import Principal
from wallet_api.extensions.fixed import FixedStatement
from wallet_api.ledger import service as ledger
from wallet_api.ledger.errors import AccountClosed
from wallet_api.ledger.models import Account, AccountKind
from wallet_api.ledger.statements import Locked
from wallet_api.loyalty import service as loyalty
from wallet_api.loyalty.models import Member
from wallet_api.stores.codes import ScannedCode, resolve_code
from wallet_api.stores.errors import CodeUnknown
from wallet_api.stores.models import Charge, ChargeLine, Store
from wallet_api.stores.service import counter_store

USUAL_WINDOW = timedelta(days=90)


def greeting(first_name: str | None, store: Store, now: datetime | None = None) -> str:
    """By the clock of the store the customer stands in, not the server's.

    Without a name (a gift shown from its web page by someone without an account) it is
    just "Good morning!".
    """
    hour = (now or utcnow()).astimezone(ZoneInfo(store.timezone)).hour
    if 5 <= hour < 12:
        part = "morning"
    elif 12 <= hour < 18:
        part = "afternoon"
    else:
        part = "evening"
    return f"Good {part}, {first_name}!" if first_name else f"Good {part}!"


def the_usual(customer_id: uuid.UUID, now: datetime | None = None) -> dict[str, Any] | None:
    """The item (and size) this customer ordered most in 90 days; ties go to the latest.

    Counted by whose drink it was: a coffee a friend picked up on my allowance, or a gift
    I gave, is the friend's usual, not mine.
    """
    since = (now or utcnow()) - USUAL_WINDOW
    times = func.sum(ChargeLine.quantity).label("times")
    latest = func.max(Charge.created_at).label("latest")
    row = db.session.execute(
        select(ChargeLine.kind, ChargeLine.item_id, ChargeLine.name, ChargeLine.size, times)
        .join(Charge, Charge.id == ChargeLine.charge_id)
        .where(Charge.drinker_id == customer_id, Charge.created_at >= since)
        .group_by(ChargeLine.kind, ChargeLine.item_id, ChargeLine.name, ChargeLine.size)
        .order_by(times.desc(), latest.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return {
        "kind": row.kind,
        "item_id": row.item_id,
        "name": row.name,
        "size": row.size,
        "times": int(row.times),
    }


@dataclass(frozen=True)
class Customer:
    """The person whose code was scanned: what the counter needs of them, as read now."""

    id: uuid.UUID
    first_name: str
    created_at: datetime  # for the loyalty tenure bonus


_users = User.__table__
# Every scan and charge reads its customer: one fixed statement (extensions/fixed.py), not
# an ORM load (~0.2 ms of a charge's CPU); nothing at the counter changes the person.
_CUSTOMER = FixedStatement(
    select(_users.c.id, _users.c.first_name, _users.c.created_at, _users.c.is_active).where(
        _users.c.id == bindparam("user_id")
    )
)


def customer_user_of(scanned: ScannedCode) -> User:
    """The whole person behind the code, for handlers that show them to others."""
    user = db.session.get(User, scanned.customer_id) if scanned.customer_id else None
    if user is None or not user.is_active:
        raise CodeUnknown("This code is not known.")
    return user


def customer_of(scanned: ScannedCode) -> Customer:
    row = None
    if scanned.customer_id is not None:
        row = _CUSTOMER.execute({"user_id": scanned.customer_id}).one_or_none()
    if row is None or not row.is_active:
        raise CodeUnknown("This code is not known.")
    return Customer(row.id, row.first_name, row.created_at)


def _refuse_closed(customer: User | Customer, wallet: Account | Locked) -> None:
    if wallet.is_closed:
        raise AccountClosed(f"{customer.first_name}'s wallet is closed.")


def open_wallet(customer: User | Customer) -> Account:
    wallet = ledger.wallet_account(customer.id)
    _refuse_closed(customer, wallet)
    return wallet


def lock_open_wallet(customer: User | Customer) -> Locked:
    """The wallet a charge pays from, locked until the charge's transaction ends."""
    wallet = ledger.lock_wallet(customer.id)
    _refuse_closed(customer, wallet)
    return wallet


# --- the customer, their wallet and their loyalty member, in one statement ------------------
# A pay charge reads the person behind the code, then locks their wallet, then their loyalty
# member row: three round trips. One SELECT joins the three and locks the wallet and the
# member row (FOR NO KEY UPDATE OF both, in that order: PostgreSQL locks the rows of a
# result row in the order of the OF list, checked with a member row held elsewhere: the
# wallet is locked while the statement waits, so a charge still locks wallet, then member).
# On SQLite the same statement runs without the locking clause (the request holds the
# write lock). When it finds nothing (no member row yet before a first charge, no wallet
# yet, no such person) the charge takes the three steps, whose errors are the exact ones.
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
# A scan locks nothing: the same read of the person and their wallet, without the lock.
_CUSTOMER_AND_WALLET_AS_READ = _customer_wallet_member(with_member=False, lock=False)


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
    _refuse_closed(customer, wallet)
    return customer, wallet


def _customer_and_balance(scanned: ScannedCode) -> tuple[Customer, int]:
    """As ``customer_of`` then ``open_wallet`` and its balance, in one statement where the
    wallet exists (the two steps, with their exact errors, where it does not yet)."""
    row = None
    if scanned.customer_id is not None:
        row = _CUSTOMER_AND_WALLET_AS_READ.execute(
            {
                "user_id": scanned.customer_id,
                "wallet_key": ledger.wallet_account_key(scanned.customer_id),
            }
        ).one_or_none()
    if row is None:
        customer = customer_of(scanned)
        return customer, ledger.balance_of(open_wallet(customer))
    if not row.is_active:
        raise CodeUnknown("This code is not known.")
    customer = Customer(row.id, row.first_name, row.created_at)
    if row.wallet_is_closed:
        raise AccountClosed(f"{customer.first_name}'s wallet is closed.")
    return customer, row.wallet_balance


def scan(
    principal: Principal, code: str, *, store_id: uuid.UUID | None, amount: int | None
) -> dict[str, Any]:
    store = counter_store(principal, store_id)
    scanned = resolve_code(code)
    covers = None
    if scanned.kind == "pay":
        customer, balance = _customer_and_balance(scanned)
        if amount is not None:
            covers = balance >= amount
    else:
        customer = customer_of(scanned) if scanned.customer_id is not None else None
    if scanned.kind != "pay" and scanned.covers is not None and amount is not None:
        covers = scanned.covers(amount)
    return {
        "kind": scanned.kind,
        "customer": {"first_name": customer.first_name} if customer else None,
        "greeting": greeting(customer.first_name if customer else None, store),
        "the_usual": the_usual(customer.id) if customer else None,
        "amount": amount,
        "balance_covers": covers,
        "expires_at": scanned.expires_at,
        "details": scanned.details,
    }
