"""Offers with parity: nothing can be restricted to new customers."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, insert, or_, select
from sqlalchemy.exc import IntegrityError

from wallet_api.audit.service import record_event, user_actor
from wallet_api.clock import utcnow
from wallet_api.extensions import db
from wallet_api.extensions.fixed import FixedStatement
from wallet_api.extensions.money import format_money
from wallet_api.loyalty.errors import (
    OfferAlreadyUsed,
    OfferNotFound,
    OfferParityViolation,
)
from wallet_api.loyalty.models import (
    Offer,
    OfferKind,
    OfferStore,
    OfferUse,
    Tier,
)
from wallet_api.loyalty.service.rewards import _check_product
from wallet_api.loyalty.service.tiers import current_tier

# Ways an offer could leave out the people who have been coming for years. Each is refused.
PARITY_RULES: dict[str, str] = {
    "audience": "An offer is for everyone (audience 'everyone'); it cannot target a group "
    "such as new customers.",
    "new_customers_only": "An offer open to new customers is open to existing customers too.",
    "first_purchase_only": "A first-purchase offer would leave out every existing customer.",
    "max_tenure_days": "An offer cannot end with a customer's tenure.",
    "member_since_after": "An offer cannot depend on how recently someone joined.",
    "max_tier": "An offer cannot exclude higher tiers; use min_tier to reward loyalty.",
}


def _parity_problems(data: Mapping[str, Any]) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    allowed: dict[str, Callable[[Any], bool]] = {
        "audience": lambda v: v in (None, "everyone"),
        "new_customers_only": lambda v: not v,
        "first_purchase_only": lambda v: not v,
        "max_tenure_days": lambda v: v is None,
        "member_since_after": lambda v: v is None,
        "max_tier": lambda v: v in (None, Tier.PLATINUM),
    }
    for name, ok in allowed.items():
        if name in data and not ok(data[name]):
            problems[name] = [PARITY_RULES[name]]
    if data.get("is_welcome") and data.get("min_tier") not in (None, Tier.GREEN):
        problems["min_tier"] = ["A welcome offer is open to every customer who never had it."]
    return problems


def create_offer(data: Mapping[str, Any], *, created_by: uuid.UUID) -> Offer:
    """Create an offer, refusing any that would leave out existing customers (parity)."""
    problems = _parity_problems(data)
    if problems:
        raise OfferParityViolation(
            "Loyal customers never get a worse deal than new ones: "
            + " ".join(message for messages in problems.values() for message in messages),
            errors=problems,
        )
    _check_product(data.get("product_id"))
    fields = {k: v for k, v in data.items() if k not in PARITY_RULES and k != "store_ids"}
    if fields.get("min_tier") is Tier.GREEN:
        fields["min_tier"] = None  # green and above is everyone
    offer = Offer(**fields, created_by=created_by)
    # A welcome offer is once per customer, for every customer, old or new.
    offer.once_per_customer = bool(offer.once_per_customer or offer.is_welcome)
    offer.stores = [OfferStore(store_id=s) for s in dict.fromkeys(data.get("store_ids") or [])]
    db.session.add(offer)
    db.session.flush()
    record_event(
        "loyalty:offer:created",
        actor=user_actor(created_by),
        subject=f"offer:{offer.id}",
        data={"offer_id": str(offer.id), "title": offer.title, "kind": offer.kind.value},
    )
    return offer


def end_offer(offer_id: uuid.UUID, *, ended_by: uuid.UUID) -> None:
    """End an offer now. Charges that used it keep it on their receipts."""
    offer = db.session.get(Offer, offer_id)
    if offer is None:
        raise OfferNotFound()
    if offer.is_active:
        offer.is_active = False
        record_event(
            "loyalty:offer:ended",
            actor=user_actor(ended_by),
            subject=f"offer:{offer.id}",
            data={"offer_id": str(offer.id), "title": offer.title},
        )
    db.session.flush()


_offers, _uses, _offer_stores = Offer.__table__, OfferUse.__table__, OfferStore.__table__


def _eligible_offers(user_id: Any, tiers: Any, at: Any, store_id: Any = None) -> list[Any]:
    """The conditions of ``eligible_offers_query``, from values or bound parameters.

    Written on the tables (Core), so the counter can send them as a fixed statement.
    """
    used = select(_uses.c.id).where(_uses.c.offer_id == _offers.c.id, _uses.c.user_id == user_id)
    criteria = [
        _offers.c.is_active.is_(True),
        _offers.c.starts_at <= at,
        _offers.c.ends_at > at,
        or_(_offers.c.min_tier.is_(None), _offers.c.min_tier.in_(tiers)),
        or_(_offers.c.once_per_customer.is_(False), ~used.exists()),
    ]
    if store_id is not None:
        limited = select(_offer_stores.c.offer_id).where(_offer_stores.c.offer_id == _offers.c.id)
        criteria.append(
            or_(~limited.exists(), limited.where(_offer_stores.c.store_id == store_id).exists())
        )
    return criteria


def eligible_offers_query(
    user_id: uuid.UUID, tier: Tier, at: datetime, *, store_id: uuid.UUID | None = None
) -> Select[Any]:
    """Offers running at ``at`` for this person's tier, not yet used if once-per-customer.

    Tenure and history never narrow this list, so an existing customer always sees at least
    what a new customer sees (less only what they already used).
    """
    return select(Offer).where(*_eligible_offers(user_id, tier.at_or_below(), at, store_id))


# The same conditions with bound parameters, built once and sent as a fixed statement
# (extensions/fixed.py): a charge asks it every time. The tiers are one parameter per
# tier, not an expanding IN list, so the SQL never changes (a lower tier repeats the
# highest it reaches), and only the columns the counter uses are read.
_TIER_PARAMS = [f"tier_{rank}" for rank in range(len(Tier))]
_OFFERS_AT_THE_COUNTER = FixedStatement(
    select(
        _offers.c.id,
        _offers.c.title,
        _offers.c.kind,
        _offers.c.value,
        _offers.c.product_id,
        _offers.c.min_subtotal_cents,
        _offers.c.once_per_customer,
    )
    .where(
        *_eligible_offers(
            bindparam("user_id"),
            [bindparam(name) for name in _TIER_PARAMS],
            bindparam("at"),
            bindparam("store_id"),
        )
    )
    .order_by(_offers.c.created_at, _offers.c.id)
)


def _tier_params(tier: Tier) -> dict[str, Tier]:
    reached = tier.at_or_below()
    return {name: reached[min(rank, len(reached) - 1)] for rank, name in enumerate(_TIER_PARAMS)}


@dataclass(frozen=True)
class AppliedOffer:
    offer_id: uuid.UUID
    title: str
    kind: OfferKind
    discount_cents: int
    bonus_points: int
    once_per_customer: bool
    receipt_text: str


@dataclass(frozen=True)
class OffersResult:
    applied: list[AppliedOffer]
    discount_cents: int
    bonus_points: int

    @property
    def receipt_lines(self) -> list[str]:
        return [a.receipt_text for a in self.applied]


def _line_value(line: Any, name: str) -> Any:
    return line.get(name) if isinstance(line, Mapping) else getattr(line, name, None)


def _total_of_product(lines: Sequence[Any], product_id: uuid.UUID) -> int:
    """Total of the lines for one product; lines are catalog ``PricedLine``s or dicts."""
    total = 0
    for line in lines:
        item = _line_value(line, "item_id") or _line_value(line, "product_id")
        if _line_value(line, "kind") in (None, "product") and str(item) == str(product_id):
            total += int(_line_value(line, "total") or 0)
    return total


def apply_offers(
    user_id: uuid.UUID,
    *,
    store_id: uuid.UUID,
    subtotal_cents: int,
    lines: Sequence[Any],
    at: datetime,
) -> OffersResult:
    """The offers that apply to this order, with receipt text; moves nothing.

    Every eligible offer applies, oldest first. Percentages are of the subtotal (or of the
    offer's product lines), never compounded; the discount total never exceeds the subtotal,
    and an offer that the cap leaves at zero is not applied (nor used up).
    """
    tier = current_tier(user_id, at)
    offers = _OFFERS_AT_THE_COUNTER.execute(
        {"user_id": user_id, "at": at, "store_id": store_id, **_tier_params(tier)}
    )
    remaining = subtotal_cents
    applied: list[AppliedOffer] = []
    for offer in offers:
        if subtotal_cents < offer.min_subtotal_cents:
            continue
        base = subtotal_cents
        if offer.product_id is not None:
            base = _total_of_product(lines, offer.product_id)
            if base == 0:
                continue
        discount = bonus = 0
        if offer.kind is OfferKind.PERCENTAGE:
            discount = min((base * offer.value + 50) // 100, remaining)
            text = f"{offer.title}: {offer.value}% off, -{format_money(discount)}"
        elif offer.kind is OfferKind.FIXED:
            discount = min(offer.value, base, remaining)
            text = f"{offer.title}: -{format_money(discount)}"
        else:
            bonus = offer.value
            text = f"{offer.title}: +{bonus} points"
        if discount == 0 and bonus == 0:
            continue
        remaining -= discount
        applied.append(
            AppliedOffer(
                offer_id=offer.id,
                title=offer.title,
                kind=offer.kind,
                discount_cents=discount,
                bonus_points=bonus,
                once_per_customer=offer.once_per_customer,
                receipt_text=text,
            )
        )
    return OffersResult(
        applied=applied,
        discount_cents=subtotal_cents - remaining,
        bonus_points=sum(a.bonus_points for a in applied),
    )


# Built once: a charge that applied offers records their use with it.
_INSERT_OFFER_USES = FixedStatement(insert(OfferUse.__table__))


def _offer_use_row(
    user_id: uuid.UUID, charge_id: uuid.UUID, offer: AppliedOffer, at: datetime
) -> dict[str, Any]:
    return {
        "offer_id": offer.offer_id,
        "once_offer_id": offer.offer_id if offer.once_per_customer else None,
        "user_id": user_id,
        "charge_id": charge_id,
        "discount_cents": offer.discount_cents,
        "bonus_points": offer.bonus_points,
        "used_at": at,
    }


def record_offer_use(
    user_id: uuid.UUID,
    *,
    charge_id: uuid.UUID,
    applied: Sequence[AppliedOffer],
    at: datetime | None = None,
    new_charge: bool = False,
) -> None:
    """Record the offers a charge used. Again for the same charge: nothing new.

    Raises ``OfferAlreadyUsed`` when a concurrent charge used a once-per-customer offer
    first; the charge should fail (and may be priced again).

    ``new_charge``: the caller minted ``charge_id`` in this transaction and holds the
    customer's member lock (``lock_members``) since before ``apply_offers``, as a charge at
    the counter does. Then the uses are written by one statement, without the look-up and
    the savepoint: no row can hold the new charge id yet, and every charge of the customer
    takes that lock before it reads the offers, so a second charge waits for the first to
    commit and then no longer finds a once-per-customer offer it used. The unique
    constraints stay the final guard: a use that slips past the lock fails the statement,
    and the charge (``OfferAlreadyUsed``) with its whole transaction, as it would with the
    savepoint.
    """
    at = at or utcnow()
    if new_charge:
        if applied:
            try:
                _INSERT_OFFER_USES.execute(
                    [_offer_use_row(user_id, charge_id, offer, at) for offer in applied]
                )
            except IntegrityError as exc:
                once = [offer.title for offer in applied if offer.once_per_customer]
                titles = ", ".join(once) or "An offer"
                raise OfferAlreadyUsed(f"{titles} was already used by this customer.") from exc
        return
    for offer in applied:
        recorded = db.session.scalar(
            select(OfferUse.id).where(
                OfferUse.offer_id == offer.offer_id, OfferUse.charge_id == charge_id
            )
        )
        if recorded is not None:
            continue
        try:
            with db.session.begin_nested():
                db.session.add(
                    OfferUse(
                        offer_id=offer.offer_id,
                        once_offer_id=offer.offer_id if offer.once_per_customer else None,
                        user_id=user_id,
                        charge_id=charge_id,
                        discount_cents=offer.discount_cents,
                        bonus_points=offer.bonus_points,
                        used_at=at,
                    )
                )
        except IntegrityError as exc:
            raise OfferAlreadyUsed(f"{offer.title} was already used by this customer.") from exc
