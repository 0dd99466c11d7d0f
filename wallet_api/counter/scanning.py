"""The scanner's preview of a code: who it is, the usual, whether the balance covers it.

A scan has no side effects: nothing is consumed, locked or written.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from wallet_api.auth import service as auth
from wallet_api.clock import utcnow
from wallet_api.counter.errors import CodeUnknown
from wallet_api.counter.models import Charge, ChargeLine
from wallet_api.counter.registry import ScannedCode, resolve_code
from wallet_api.extensions import db
from wallet_api.extensions.auth import Principal
from wallet_api.ledger import service as ledger
from wallet_api.ledger.errors import AccountClosed
from wallet_api.ledger.models import Account
from wallet_api.ledger.statements import Locked
from wallet_api.stores.models import Store
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


def customer_of(scanned: ScannedCode) -> Customer:
    """The person whose code was scanned, active, as auth reads them (one fixed statement)."""
    person = auth.counter_customer(scanned.customer_id) if scanned.customer_id else None
    if person is None:
        raise CodeUnknown("This code is not known.")
    return Customer(person.id, person.first_name, person.created_at)


def _refuse_closed(first_name: str, is_closed: bool) -> None:
    if is_closed:
        raise AccountClosed(f"{first_name}'s wallet is closed.")


def open_wallet(owner_id: uuid.UUID, first_name: str) -> Account:
    """The wallet a scan previews (or another wallet pays from), unlocked."""
    wallet = ledger.wallet_account(owner_id)
    _refuse_closed(first_name, wallet.is_closed)
    return wallet


def lock_open_wallet(customer: Customer) -> Locked:
    """The wallet a charge pays from, locked until the charge's transaction ends."""
    wallet = ledger.lock_wallet(customer.id)
    _refuse_closed(customer.first_name, wallet.is_closed)
    return wallet


def scan(
    principal: Principal, code: str, *, store_id: uuid.UUID | None, amount: int | None
) -> dict[str, Any]:
    store = counter_store(principal, store_id)
    scanned = resolve_code(code)
    customer = customer_of(scanned) if scanned.customer_id is not None else None
    covers = None
    if scanned.kind == "pay" and customer is not None:
        wallet = open_wallet(customer.id, customer.first_name)
        if amount is not None:
            covers = ledger.balance_of(wallet) >= amount
    elif scanned.covers is not None and amount is not None:
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
