"""Making it right: switcher welcomes, goodwill from staff, apologies for low ratings."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError

from wallet_api.audit.service import record_event, user_actor
from wallet_api.auth.models import User
from wallet_api.clock import utcnow
from wallet_api.extensions import db
from wallet_api.extensions.money import format_money
from wallet_api.extensions.problems import GrantToSelf
from wallet_api.ledger import service as ledger
from wallet_api.ledger.models import AccountKind
from wallet_api.loyalty.errors import (
    GoodwillLimitExceeded,
    GoodwillToSelf,
    SwitcherBonusAlreadyGranted,
)
from wallet_api.loyalty.models import (
    Apology,
    Goodwill,
    GoodwillDay,
    SwitcherBonus,
)
from wallet_api.loyalty.rules import current_rules
from wallet_api.loyalty.service.common import _customer, _move_points, _notify
from wallet_api.loyalty.service.rewards import _issue_code, get_reward


def grant_switcher_bonus(user_id: uuid.UUID, *, chain_name: str, staff: User) -> SwitcherBonus:
    """One-time welcome points for someone who shows another chain's card; once ever."""
    customer = _customer(user_id)
    if customer.id == staff.id:
        raise GrantToSelf("The switcher bonus goes to customers, not to yourself.")
    points = current_rules().switcher_bonus_points
    if db.session.scalar(select(SwitcherBonus.id).where(SwitcherBonus.user_id == user_id)):
        raise SwitcherBonusAlreadyGranted()
    bonus = SwitcherBonus(
        user_id=user_id, chain_name=chain_name, points=points, granted_by=staff.id
    )
    try:
        with db.session.begin_nested():
            db.session.add(bonus)
    except IntegrityError as exc:
        raise SwitcherBonusAlreadyGranted() from exc
    if points:
        _move_points(
            "loyalty_switcher_bonus",
            user_id,
            points,
            memo=f"Welcome bonus for switching from {chain_name}",
            meta={
                "chain_name": chain_name,
                "staff_id": str(staff.id),
                "staff_name": staff.first_name,
            },
        )
    record_event(
        "loyalty:switcher_bonus:granted",
        actor=user_actor(staff.id),
        subject=f"user:{user_id}",
        data={"chain_name": chain_name, "points": points},
    )
    _notify(
        user_id,
        "switcher_bonus",
        title="welcome, and thanks for switching!",
        body=f"{customer.first_name}, thanks for bringing your {chain_name} card over. "
        f"Here are {points} points to say welcome.",
        data={"points": points, "chain_name": chain_name},
    )
    return bonus


# --- goodwill ----------------------------------------------------------------------------


def _take_goodwill_allowance(staff_id: uuid.UUID, at: datetime, cents: int) -> None:
    """Count one grant (and its cents) against today's limits, or refuse it.

    One conditional UPDATE checks and raises the counters together, so two grants at once
    by the same person can never pass the limit between them.
    """
    rules = current_rules()
    day = at.date()
    if db.session.get(GoodwillDay, (staff_id, day)) is None:
        try:
            with db.session.begin_nested():
                db.session.add(GoodwillDay(staff_id=staff_id, day=day, cents=0, grants=0))
        except IntegrityError:
            pass  # created concurrently
    result = cast(
        CursorResult[Any],
        db.session.execute(
            update(GoodwillDay)
            .where(
                GoodwillDay.staff_id == staff_id,
                GoodwillDay.day == day,
                GoodwillDay.cents + cents <= rules.goodwill_daily_cents,
                GoodwillDay.grants + 1 <= rules.goodwill_daily_grants,
            )
            .values(cents=GoodwillDay.cents + cents, grants=GoodwillDay.grants + 1)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        used = db.session.scalar(
            select(GoodwillDay)
            .where(GoodwillDay.staff_id == staff_id, GoodwillDay.day == day)
            .execution_options(populate_existing=True)
        )
        left_cents = rules.goodwill_daily_cents - (used.cents if used else 0)
        left_grants = rules.goodwill_daily_grants - (used.grants if used else 0)
        raise GoodwillLimitExceeded(
            f"You can give {format_money(max(left_cents, 0))} more in {max(left_grants, 0)} "
            "more grants today.",
            remaining_cents=max(left_cents, 0),
            remaining_grants=max(left_grants, 0),
        )


def give_goodwill(
    *,
    staff: User,
    user_id: uuid.UUID,
    reason: str,
    message: str | None = None,
    amount_cents: int | None = None,
    reward_id: uuid.UUID | None = None,
    charge: Mapping[str, Any] | None = None,
) -> Goodwill:
    """Make it right: credit money (from promotions) or a reward, with a personal message.

    ``charge`` (``{"id": ..., "store": {"id": ..., "name": ...}}``) names the charge it
    makes right, when staff gave it by charge; it goes into the ledger meta and the inbox.
    """
    if (amount_cents is None) == (reward_id is None):
        raise ValueError("goodwill is money or a reward")
    at = utcnow()
    customer = _customer(user_id)
    if customer.id == staff.id:
        raise GoodwillToSelf()
    reward = get_reward(reward_id) if reward_id is not None else None
    _take_goodwill_allowance(staff.id, at, amount_cents or 0)
    meta: dict[str, Any] = {
        "reason": reason,
        "message": message or "",
        "staff_id": str(staff.id),
        "staff_name": staff.first_name,
    }
    if charge is not None:
        meta |= {"charge_id": charge["id"], "store": charge["store"]}
    code = None
    if amount_cents is not None:
        ledger.transfer(
            "goodwill",
            ledger.system_account(AccountKind.PROMOTIONS),
            ledger.wallet_account(user_id),
            amount_cents,
            memo=f"Goodwill from {staff.first_name}",
            meta=meta,
            max_balance=current_app.config["WALLET_MAX_BALANCE"],
        )
        gift = format_money(amount_cents)
        default = f"we've added {gift} to your wallet"
    else:
        assert reward is not None  # noqa: S101  (narrowing for the type checker)
        code = _issue_code(user_id, reward, source="goodwill", points=0, at=at).row
        gift = reward.name
        default = f"{reward.name} is on us: find it in your rewards"
    grant = Goodwill(
        user_id=user_id,
        staff_id=staff.id,
        amount_cents=amount_cents,
        reward_code_id=code.id if code else None,
        charge_id=uuid.UUID(charge["id"]) if charge else None,
        reason=reason,
        message=message or "",
        created_at=at,
    )
    db.session.add(grant)
    db.session.flush()
    record_event(
        "loyalty:goodwill:" + ("credited" if amount_cents is not None else "reward"),
        actor=user_actor(staff.id),
        subject=f"user:{user_id}",
        data={
            "goodwill_id": str(grant.id),
            "amount_cents": amount_cents,
            "reward_id": str(reward.id) if reward else None,
            "charge_id": charge["id"] if charge else None,
            "reason": reason,
        },
    )
    _notify(
        user_id,
        "goodwill",
        title="this one's on us",
        body=f"{customer.first_name}, {message or default}. {staff.first_name}",
        data={
            "goodwill_id": str(grant.id),
            "gift": gift,
            "reward_code_id": str(code.id) if code else None,
            "charge_id": charge["id"] if charge else None,
        },
    )
    return grant


# --- apologies ---------------------------------------------------------------------------

# Why a bad rating brought no credit, as the store's message says it.
_NO_CREDIT = {
    "nothing_paid": "nothing was paid for it, so no credit",
    "apologised_recently": "they had an apology credit recently, so no credit",
    "wallet_full": "no credit fit",
}


def _apology_answer(
    apology: Apology, first_name: str, *, again: bool, why_not: str | None = None
) -> dict[str, Any]:
    if apology.amount_cents:
        what = f"we credited {format_money(apology.amount_cents)} as an apology"
    else:
        what = _NO_CREDIT.get(why_not or "", "no credit")
    return {
        "apology_id": apology.id,
        "credited_cents": apology.amount_cents,
        "currency": ledger.currency(),
        "already_apologised": again,
        "store_message": f"{first_name} rated a purchase {apology.stars} of 5; {what}. "
        "A personal word on their next visit goes a long way.",
    }


def _credited_since(user_id: uuid.UUID, since: datetime) -> bool:
    return (
        db.session.scalar(
            select(Apology.id)
            .where(
                Apology.user_id == user_id,
                Apology.amount_cents > 0,
                Apology.created_at > since,
            )
            .limit(1)
        )
        is not None
    )


def apology_for_feedback(
    user_id: uuid.UUID,
    *,
    charge_id: uuid.UUID,
    stars: int,
    store_id: uuid.UUID | None,
    paid_cents: int,
) -> dict[str, Any] | None:
    """A 1-2 star rating of a charge apologises, once per charge; it may credit money.

    ``user_id`` is who rated the visit (the person who drank it) and ``paid_cents`` what
    the visit cost their own wallet (less refunds): 0 for a reward drink, a gift or an
    allowance. The credit is the configured apology amount, never more than
    ``paid_cents`` nor the room under the wallet's maximum balance, and at most one per
    person per cool-down (``apology_cooldown_days``), however many visits they rate
    badly. Returns what to tell the store (None for 3 stars and up); the person is told
    in their inbox either way.
    """
    if not 1 <= stars <= 5:
        raise ValueError("stars are 1 to 5")
    if stars > 2:
        return None
    rules, at = current_rules(), utcnow()
    customer = _customer(user_id)
    wallet = ledger.wallet_account(user_id)
    # The wallet lock serialises this person's bad ratings, of one charge or of several
    # sent at the same moment: the second one sees the first's apology (its credit too).
    balance = ledger.lock_customer_accounts([wallet.id])[wallet.id].balance or 0
    existing = db.session.scalar(select(Apology).where(Apology.charge_id == charge_id))
    if existing is not None:
        return _apology_answer(existing, customer.first_name, again=True)
    amount, why_not = 0, None
    if paid_cents <= 0:
        why_not = "nothing_paid"
    elif _credited_since(user_id, at - timedelta(days=rules.apology_cooldown_days)):
        why_not = "apologised_recently"
    else:
        room = max(current_app.config["WALLET_MAX_BALANCE"] - balance, 0)
        amount = min(rules.apology_credit_cents, paid_cents, room)
        why_not = None if amount else "wallet_full"
    apology = Apology(
        charge_id=charge_id,
        user_id=user_id,
        store_id=store_id,
        stars=stars,
        amount_cents=amount,
        created_at=at,
    )
    try:
        with db.session.begin_nested():
            db.session.add(apology)
    except IntegrityError:
        existing = db.session.scalar(select(Apology).where(Apology.charge_id == charge_id))
        if existing is None:  # pragma: no cover - the other request rolled back
            raise
        return _apology_answer(existing, customer.first_name, again=True)
    meta = {"charge_id": str(charge_id), "store_id": str(store_id) if store_id else None}
    if amount:
        ledger.transfer(
            "apology",
            ledger.system_account(AccountKind.PROMOTIONS),
            wallet,
            amount,
            memo="Sorry about your visit",
            meta={**meta, "stars": stars},
        )
    record_event(
        "loyalty:apology:credited",
        actor=None,
        subject=f"user:{user_id}",
        data={**meta, "stars": stars, "amount_cents": amount, "no_credit": why_not},
    )
    _notify(
        user_id,
        "apology",
        title="we're sorry",
        body=f"{customer.first_name}, we're sorry your visit wasn't what it should be"
        + (f"; we've added {format_money(amount)} to your wallet." if amount else ".")
        + " Thank you for telling us.",
        data={**meta, "amount_cents": amount},
    )
    return _apology_answer(apology, customer.first_name, again=False, why_not=why_not)


def apologies_for_store(store_id: uuid.UUID, start: datetime, end: datetime) -> list[Apology]:
    """For the store's daily report: the apologies made for its charges in [start, end)."""
    stmt = select(Apology).where(
        Apology.store_id == store_id, Apology.created_at >= start, Apology.created_at < end
    )
    return list(db.session.scalars(stmt.order_by(Apology.created_at)))
