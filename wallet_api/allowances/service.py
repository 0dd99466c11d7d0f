"""Allowances: "pick up a coffee for me on your way to the office". Nothing commits here.

The owner lets a friend (the grantee) pay at the till from the owner's wallet, up to
``amount`` per period. The grantee asks for a pay code with ``allowance_id``; the till
sees kind ``allowance``, and the charge takes the money from the owner's wallet, never
more than what is left of the current period (422 ``allowance_exceeded``) nor than the
owner's balance (402). The owner hears of every use and can revoke at once.

Periods are UTC calendar periods: a day from 00:00 UTC, a week from Monday 00:00 UTC (ISO
weeks), a month from the 1st 00:00 UTC. The service knows no customer's time zone, and a
calendar period (unlike a rolling window) is what people mean by "€10 a week".

Concurrency: a charge locks the owner's wallet and then the allowance row (``FOR
UPDATE``) before it sums the period's uses, so two tills charging one allowance at once
are served one after the other and the second sees the first's use. Wallet first, as
every charge does: the owner paying with their own code at the same moment queues
behind (or ahead of) the allowance charge instead of deadlocking with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from wallet_api.allowances.errors import (
    AllowanceExceeded,
    AllowanceExists,
    AllowanceExpired,
    AllowanceNotFound,
    AllowanceRevoked,
    AllowanceToSelf,
)
from wallet_api.allowances.models import Allowance, AllowanceUse, Period
from wallet_api.auth.models import User
from wallet_api.catalog.service import PricedLine
from wallet_api.clock import utcnow
from wallet_api.counter.errors import CodeUnknown
from wallet_api.counter.models import Charge
from wallet_api.counter.registry import ScannedCode
from wallet_api.counter.scanning import open_wallet
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
from wallet_api.extensions.database import locked
from wallet_api.extensions.money import format_money
from wallet_api.ledger import service as ledger
from wallet_api.ledger.models import AccountKind
from wallet_api.ledger.service import HistoryEntry
from wallet_api.social import service as social
from wallet_api.social.models import NotificationKind
from wallet_api.stores.models import Store
from wallet_api.wallet import counterparties

ALLOWANCE_KIND = "allowance"
LEDGER_KIND = "allowance_charge"
# A person's list stays short; a new allowance replaces an old one for the same friend.
MAX_GIVEN = 50
_THIS = {Period.DAY: "today", Period.WEEK: "this week", Period.MONTH: "this month"}


# --- periods ---------------------------------------------------------------------------


def period_bounds(period: Period, now: datetime) -> tuple[datetime, datetime]:
    """The UTC calendar period that contains ``now``: [start, end)."""
    today = now.astimezone(UTC).date()
    if period is Period.DAY:
        start = today
        end = start + timedelta(days=1)
    elif period is Period.WEEK:
        start = today - timedelta(days=today.weekday())
        end = start + timedelta(days=7)
    else:
        start = today.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    return datetime.combine(start, time.min, UTC), datetime.combine(end, time.min, UTC)


def used_in_period(allowance: Allowance, now: datetime) -> int:
    """What the period's charges cost the owner: a refunded coffee gives its room back."""
    start, end = period_bounds(allowance.period, now)
    total = db.session.scalar(
        select(func.coalesce(func.sum(AllowanceUse.amount - Charge.refunded_amount), 0))
        .join(Charge, Charge.id == AllowanceUse.charge_id)
        .where(
            AllowanceUse.allowance_id == allowance.id,
            AllowanceUse.created_at >= start,
            AllowanceUse.created_at < end,
        )
    )
    return int(total or 0)


def left_in_period(allowance: Allowance, now: datetime) -> int:
    return max(allowance.amount - used_in_period(allowance, now), 0)


def _expired(allowance: Allowance, now: datetime) -> bool:
    return allowance.expires_at is not None and allowance.expires_at <= now


# --- granting and revoking ----------------------------------------------------------------


def grant(
    owner: User,
    *,
    grantee: str,
    amount: int,
    period: Period,
    expires_at: datetime | None = None,
) -> dict[str, Any]:
    """Let a friend pay from my wallet, up to ``amount`` per ``period``."""
    friend = social.resolve_user_ref(grantee)
    if friend is not None and friend.id == owner.id:
        raise AllowanceToSelf("You cannot give yourself an allowance.")
    friend = social.friend_by_ref(owner.id, grantee)
    now = utcnow()
    # An expired allowance still holds the live slot of its pair: end it first.
    db.session.execute(
        update(Allowance)
        .where(
            Allowance.owner_id == owner.id,
            Allowance.grantee_id == friend.id,
            Allowance.revoked_at.is_(None),
            Allowance.expires_at <= now,
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    given = db.session.scalar(
        select(func.count(Allowance.id)).where(
            Allowance.owner_id == owner.id, Allowance.revoked_at.is_(None)
        )
    )
    if (given or 0) >= MAX_GIVEN:
        raise AllowanceExists(f"You give at most {MAX_GIVEN} allowances; revoke one first.")
    allowance = Allowance(
        id=uuid.uuid4(),
        owner=owner,
        grantee=friend,
        amount=amount,
        currency=ledger.currency(),
        period=period,
        created_at=now,
        expires_at=expires_at,
    )
    try:
        with db.session.begin_nested():
            db.session.add(allowance)
    except IntegrityError as exc:
        # The partial unique index: a live allowance for this friend exists (or was just
        # made by a concurrent request).
        raise AllowanceExists(
            f"You already give {friend.display_name} an allowance; revoke it to change it."
        ) from exc
    return view(allowance, now)


def revoke(owner: User, allowance_id: uuid.UUID) -> None:
    """The owner ends an allowance at once; a charge already under way finishes first."""
    allowance = db.session.scalar(
        select(Allowance)
        .where(
            Allowance.id == allowance_id,
            Allowance.owner_id == owner.id,
            Allowance.revoked_at.is_(None),
        )
        .with_for_update()
    )
    if allowance is None:
        raise AllowanceNotFound("No such allowance.")
    allowance.revoked_at = utcnow()
    db.session.flush()


# --- reading ---------------------------------------------------------------------------


def _uses(
    allowance: Allowance, start: datetime, end: datetime
) -> Sequence[tuple[AllowanceUse, int]]:
    """The period's uses, each with what has been refunded of its charge."""
    rows = db.session.execute(
        select(AllowanceUse, Charge.refunded_amount)
        .join(Charge, Charge.id == AllowanceUse.charge_id)
        .where(
            AllowanceUse.allowance_id == allowance.id,
            AllowanceUse.created_at >= start,
            AllowanceUse.created_at < end,
        )
        .order_by(AllowanceUse.created_at.desc(), AllowanceUse.id)
    )
    return [(use, refunded) for use, refunded in rows]


def view(allowance: Allowance, now: datetime) -> dict[str, Any]:
    start, end = period_bounds(allowance.period, now)
    uses = _uses(allowance, start, end)
    used = sum(use.amount - refunded for use, refunded in uses)
    return {
        "id": allowance.id,
        "owner": social.summary(allowance.owner),
        "grantee": social.summary(allowance.grantee),
        "amount": allowance.amount,
        "currency": allowance.currency,
        "period": allowance.period,
        "expires_at": allowance.expires_at,
        "created_at": allowance.created_at,
        "period_start": start,
        "period_end": end,
        "used": used,
        "left": max(allowance.amount - used, 0),
        "uses": [
            {
                "charge_id": use.charge_id,
                "store": {"id": use.store_id, "name": use.store_name},
                "amount": use.amount,
                "refunded": refunded,
                "created_at": use.created_at,
            }
            for use, refunded in uses
        ],
    }


def list_allowances(user: User) -> dict[str, list[dict[str, Any]]]:
    """The live allowances I give and those I was given, with this period's uses."""
    now = utcnow()
    rows = db.session.scalars(
        select(Allowance)
        .where(
            or_(Allowance.owner_id == user.id, Allowance.grantee_id == user.id),
            Allowance.revoked_at.is_(None),
            or_(Allowance.expires_at.is_(None), Allowance.expires_at > now),
        )
        .order_by(Allowance.created_at.desc(), Allowance.id)
    ).all()
    return {
        "given": [view(a, now) for a in rows if a.owner_id == user.id],
        "received": [view(a, now) for a in rows if a.grantee_id == user.id],
    }


# --- paying with it ----------------------------------------------------------------------


def _check_usable(allowance: Allowance, now: datetime) -> None:
    if allowance.revoked_at is not None:
        raise AllowanceRevoked(f"{allowance.owner.first_name} revoked this allowance.")
    if _expired(allowance, now):
        raise AllowanceExpired("This allowance has expired.")
    social.require_friend(allowance.owner_id, allowance.grantee_id)


def usable_allowance(grantee: User, allowance_id: uuid.UUID) -> Allowance:
    """For a new pay code: the caller's own allowance, live, from a friend."""
    allowance = db.session.get(Allowance, allowance_id)
    if allowance is None or allowance.grantee_id != grantee.id or allowance.revoked_at:
        raise AllowanceNotFound("No such allowance.")
    _check_usable(allowance, utcnow())
    return allowance


def drawing_on(scanned: ScannedCode, allowance_id: uuid.UUID) -> ScannedCode:
    """A scanned pay code that pays from an allowance: what the till is told of it."""
    allowance = db.session.get(Allowance, allowance_id)
    if allowance is None:  # pragma: no cover - pay codes keep their allowance (foreign key)
        raise AllowanceNotFound("No such allowance.")
    now = utcnow()
    _check_usable(allowance, now)

    def covers(amount: int) -> bool:
        wallet = ledger.wallet_account(allowance.owner_id)
        return amount <= left_in_period(allowance, now) and ledger.balance_of(wallet) >= amount

    scanned.kind = ALLOWANCE_KIND
    scanned.covers = covers
    scanned.context["allowance_id"] = allowance.id
    scanned.details = {"paid_by": {"first_name": allowance.owner.first_name}}
    return scanned


def _what(lines: Sequence[PricedLine]) -> str:
    if len(lines) == 1 and lines[0].quantity == 1:
        return f"a {lines[0].name}"
    if lines:
        return f"{sum(line.quantity for line in lines)} items"
    return "a coffee"


def _party(user: User) -> dict[str, str]:
    return {"id": str(user.id), "name": user.display_name, "first_name": user.first_name}


@counterparties.describes(LEDGER_KIND)
def _grantee(entries: Sequence[HistoryEntry]) -> dict[int, counterparties.Counterparty]:
    """The owner's row shows the friend who used the allowance, by the id the charge
    recorded (no statement). The friend has no row: the owner's wallet paid."""
    found: dict[int, counterparties.Counterparty] = {}
    for entry in entries:
        grantee_id = counterparties.meta_id(entry, "allowance", "grantee", "id")
        if grantee_id is not None:
            found[entry.entry_id] = counterparties.Person(grantee_id)
    return found


def _grantee_of(scanned: ScannedCode) -> User:
    """The friend whose code was scanned, in full: the owner is shown who they are."""
    grantee = db.session.get(User, scanned.customer_id) if scanned.customer_id else None
    if grantee is None or not grantee.is_active:
        raise CodeUnknown("This code is not known.")
    return grantee


def charge_allowance(
    principal: Principal, store: Store, scanned: ScannedCode, data: Mapping[str, Any]
) -> ChargeResult:
    """The charge handler of kind ``allowance``: the owner's wallet pays the store."""
    grantee = _grantee_of(scanned)
    # Lock order, as every charge: the paying wallet first, then the allowance row. The
    # owner paying with their own code at the same moment locks the same wallet first,
    # so the two queue instead of deadlocking.
    owner_id = db.session.scalar(
        select(Allowance.owner_id).where(Allowance.id == scanned.context["allowance_id"])
    )
    if owner_id is None:  # pragma: no cover - allowances are never deleted
        raise AllowanceNotFound("No such allowance.")
    ledger.lock_customer_accounts([ledger.wallet_account(owner_id).id])
    allowance = locked(Allowance, scanned.context["allowance_id"])
    if allowance is None:  # pragma: no cover - allowances are never deleted
        raise AllowanceNotFound("No such allowance.")
    now = utcnow()
    _check_usable(allowance, now)
    owner = allowance.owner
    wallet = open_wallet(owner.id, owner.first_name)
    priced, amount = priced_order(data, viewer_id=grantee.id)
    left = left_in_period(allowance, now)
    if amount > left:
        raise AllowanceExceeded(
            f"{format_money(left, allowance.currency)} is left of {owner.first_name}'s "
            f"allowance {_THIS[allowance.period]}.",
            left=left,
            currency=allowance.currency,
        )
    sentence = f"{grantee.first_name} picked up {_what(priced)} on your allowance"

    def post(charge_id: uuid.UUID) -> Posted:
        return Posted(
            ledger.transfer(
                LEDGER_KIND,
                wallet,
                ledger.system_account(AccountKind.STORE_SALES, store.id),
                amount,
                memo=sentence,
                meta=sale_meta(
                    store,
                    charge_id,
                    priced,
                    allowance={
                        "id": str(allowance.id),
                        "owner": _party(owner),
                        "grantee": _party(grantee),
                    },
                ),
            )
        )

    def then(charge: Receipt) -> int:
        db.session.add(
            AllowanceUse(
                allowance_id=allowance.id,
                charge_id=charge.id,
                store_id=store.id,
                store_name=store.name,
                amount=amount,
                created_at=now,
            )
        )
        left_now = left - amount
        social.notify(
            owner.id,
            NotificationKind.ALLOWANCE_USED,
            title=sentence,
            body=f"{format_money(amount, wallet.unit)} at {store.name}; "
            f"{format_money(left_now, wallet.unit)} left {_THIS[allowance.period]}.",
            data={
                "allowance_id": allowance.id,
                "charge_id": charge.id,
                "amount": amount,
                "currency": wallet.unit,
                "left": left_now,
                "grantee": social.summary(grantee),
                "store": {"id": store.id, "name": store.name},
            },
        )
        db.session.flush()
        return left_now

    sale = Sale(
        payer_id=owner.id,
        drinker_first_name=grantee.first_name,
        lines=priced,
        amount=amount,
        currency=wallet.unit,
    )
    return sell(principal, store, scanned, sale, post=post, then=then)
