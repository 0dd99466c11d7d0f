"""Points for paid charges and their proportional reversal on refunds."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import insert, select

from wallet_api.clock import utcnow
from wallet_api.extensions import db
from wallet_api.extensions.fixed import FixedStatement
from wallet_api.ledger import service as ledger
from wallet_api.loyalty.models import (
    Spend,
)
from wallet_api.loyalty.rules import current_rules
from wallet_api.loyalty.service.common import _customer, _move_points
from wallet_api.loyalty.service.tiers import (
    _ensure_member,
    _evaluate,
    forget_known_spend,
    tenure_bonus_pct,
)

# Built once: every charge that earns writes its spend row with it.
_INSERT_SPEND = FixedStatement(insert(Spend.__table__))


def award_points_for_charge(
    user_id: uuid.UUID,
    *,
    charge_id: uuid.UUID,
    amount_cents: int,
    store_id: uuid.UUID | None,
    at: datetime,
    offer_bonus_points: int = 0,
    new_charge: bool = False,
    customer_since: datetime | None = None,
    postings: list[ledger.Posting] | None = None,
) -> int:
    """Record a paid charge towards the tier and credit its points; returns points earned.

    points = floor(base x (tier multiplier % + tenure bonus %) / 100) + offer bonus, where
    base = floor(amount_cents x points_per_euro / 100). The charge counts towards the tier
    first, so the charge that reaches a tier already earns at its rate. A charge earns once:
    calling again with the same ``charge_id`` returns the first answer. ``new_charge``: the
    caller minted ``charge_id`` in this transaction, so it cannot have earned yet and the
    look-up is skipped (the unique ``charge_id`` of a spend would refuse a second row anyway).
    ``customer_since``: when the customer's account was opened, if the caller has read it
    (the counter has), for the tenure bonus; otherwise it is read here. ``postings``: the
    points' ledger posting goes there, for the caller to post with the charge's own.
    """
    if amount_cents < 0 or offer_bonus_points < 0:
        raise ValueError("amounts and bonus points are not negative")
    if not new_charge:
        existing = db.session.scalar(select(Spend).where(Spend.charge_id == charge_id))
        if existing is not None:
            return existing.points_earned
    rules = current_rules()
    if customer_since is None:
        customer_since = _customer(user_id).created_at
    member = _ensure_member(user_id, at)
    # The tier counts this charge before its spend row is written (it is spent at ``at``,
    # inside the window), so the row is inserted once with its points, not updated after.
    _evaluate(member, at, rules, also_spent=amount_cents)
    base = amount_cents * rules.points_per_euro // 100
    multiplier = rules.tier_multipliers[member.tier.rank]
    tenure = tenure_bonus_pct(customer_since, at, rules)
    points = base * (multiplier + tenure) // 100 + offer_bonus_points
    # A Core insert, not the unit of work: this runs on every charge, and nothing in the
    # request needs the row as an object (a refund reads it back in its own request).
    _INSERT_SPEND.execute(
        {
            "user_id": user_id,
            "charge_id": charge_id,
            "store_id": store_id,
            "amount_cents": amount_cents,
            "refunded_cents": 0,
            "points_earned": points,
            "points_reversed": 0,
            "points_shortfall": 0,
            "spent_at": at,
            "created_at": utcnow(),
        },
    )
    forget_known_spend(db.session(), user_id)
    if points:
        _move_points(
            "loyalty_points",
            user_id,
            points,
            at=at,
            memo=f"{points} points for a purchase",
            meta={
                "charge_id": str(charge_id),
                "store_id": str(store_id) if store_id else None,
                "amount_cents": amount_cents,
                "base_points": base,
                "tier": member.tier.value,
                "multiplier_pct": multiplier,
                "tenure_bonus_pct": tenure,
                "offer_bonus_points": offer_bonus_points,
            },
            postings=postings,
        )
    return points


def reverse_points_for_refund(
    user_id: uuid.UUID, *, charge_id: uuid.UUID, refunded_cents: int, charged_cents: int
) -> int:
    """Take back the points of a refund in proportion; returns the points taken back.

    ``refunded_cents`` is this refund; ``charged_cents`` the amount the points were earned
    on. Over all refunds of a charge the points due back are floor(earned x refunded total
    / charged), so two partial refunds never take more than one full refund. A balance never
    goes below zero: if the points were spent meanwhile, what is left is taken and the rest
    is recorded as ``points_shortfall`` on the charge (and in the ledger meta). The
    customer keeps what they already redeemed; nothing is clawed back from their money.
    """
    spend = db.session.scalar(
        select(Spend)
        .where(Spend.charge_id == charge_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if spend is None:
        return 0  # the charge earned nothing (or earned before loyalty existed)
    if spend.user_id != user_id or charged_cents != spend.amount_cents:
        raise ValueError("refund does not match the charge the points were earned on")
    if refunded_cents <= 0:
        raise ValueError("a refund is a positive amount")
    now = utcnow()
    # The member before the points account, the order earning takes too (no deadlock).
    member = _ensure_member(user_id, now)
    spend.refunded_cents = min(spend.amount_cents, spend.refunded_cents + refunded_cents)
    due = spend.points_earned * spend.refunded_cents // spend.amount_cents
    owed = due - spend.points_reversed - spend.points_shortfall
    taken = 0
    if owed > 0:
        account = ledger.points_account(user_id)
        available = ledger.lock_customer_accounts([account.id])[account.id].balance or 0
        taken = min(owed, available)
        spend.points_reversed += taken
        spend.points_shortfall += owed - taken
        if taken:
            _move_points(
                "loyalty_points_reversal",
                user_id,
                -taken,
                memo=f"{taken} points back for a refund",
                meta={
                    "charge_id": str(charge_id),
                    "refunded_cents": refunded_cents,
                    "shortfall": owed - taken,
                },
            )
    _evaluate(member, now, current_rules())
    return taken
