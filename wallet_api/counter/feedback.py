"""Customers rate their visits; a low rating makes it right at once.

The person who drank rates the visit: the payer for "pay" and "reward" charges, the
recipient of a gift, the friend who picked up a coffee on an allowance. The giver or the
allowance's owner, who paid but was not there, sees the charge in their history and is
told 403 ``feedback_not_drinker``; anyone else gets 404, as for any charge.

One rating per charge, final: a second one is 409 ``feedback_already_given`` rather than
an update, so a rating cannot be lowered for an apology credit and raised again later, and
a store's daily figures never change after the day. 1 or 2 stars call loyalty's
``apology_for_feedback`` (loyalty's ``on_feedback`` hook): a sorry in the inbox, and a
credit of at most what the visit cost the rater's own wallet (nothing for a gift, an
allowance or a reward drink), at most one per person per cool-down.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from wallet_api.auth import service as auth
from wallet_api.clock import utcnow
from wallet_api.counter.errors import ChargeNotFound, FeedbackAlreadyGiven, FeedbackNotDrinker
from wallet_api.counter.models import Charge, ChargeFeedback
from wallet_api.counter.registry import feedback_hooks
from wallet_api.extensions import db
from wallet_api.extensions.auth import DEVICE, Principal
from wallet_api.extensions.money import format_money
from wallet_api.ledger.service import currency


@dataclass(frozen=True)
class FeedbackResult:
    feedback: ChargeFeedback
    apology: dict[str, Any] | None
    apology_credited: bool
    message: str

    def __getattr__(self, name: str) -> Any:
        return getattr(self.feedback, name)


def _drunk_by(principal: Principal, charge_id: uuid.UUID) -> Charge:
    charge = db.session.get(Charge, charge_id)
    if charge is None or principal.kind == DEVICE:
        raise ChargeNotFound("No such charge.")
    if charge.drinker_id == principal.id:
        return charge
    if charge.customer_id == principal.id:
        raise FeedbackNotDrinker("Only the person who had this drink can rate the visit.")
    raise ChargeNotFound("No such charge.")


def _cost_to(charge: Charge, person_id: uuid.UUID) -> int:
    """What the visit cost this person's own wallet, less refunds."""
    return charge.amount - charge.refunded_amount if charge.customer_id == person_id else 0


def give_feedback(
    principal: Principal, charge_id: uuid.UUID, *, stars: int, comment: str
) -> FeedbackResult:
    """The person who drank rates the visit, once; 1-2 stars bring an apology."""
    charge = _drunk_by(principal, charge_id)
    feedback = ChargeFeedback(
        charge_id=charge.id,
        store_id=charge.store_id,
        user_id=principal.id,
        stars=stars,
        comment=comment,
        created_at=utcnow(),
    )
    try:
        # The unique charge_id decides between two ratings sent at the same moment.
        with db.session.begin_nested():
            db.session.add(feedback)
    except IntegrityError as exc:
        raise FeedbackAlreadyGiven("You already rated this purchase. Thank you!") from exc
    # Loyalty's apology for a low rating (its hook; it locks the rater's wallet), once
    # the rating is in: a second rating sent at the same moment has been refused by then.
    credits = [
        credited
        for hook in feedback_hooks()
        if (credited := hook(principal.id, charge, stars, _cost_to(charge, principal.id)))
        is not None
    ]
    apologised, credited = bool(credits), sum(credits)
    first_name = auth.get_user(principal.id).first_name
    if not apologised:
        message = f"Thank you, {first_name}!"
    elif credited:
        message = f"Sorry, {first_name} — we've added {format_money(credited)} to your wallet."
    else:
        message = f"Sorry, {first_name} — thank you for telling us."
    return FeedbackResult(
        feedback,
        {"amount": credited, "currency": currency()} if apologised else None,
        credited > 0,
        message,
    )


def feedback_summary(store_id: uuid.UUID, start: datetime, end: datetime) -> dict[str, Any]:
    """For the daily report: ratings given in [start, end) on this store's charges."""
    count, average = db.session.execute(
        select(func.count(ChargeFeedback.id), func.avg(ChargeFeedback.stars)).where(
            ChargeFeedback.store_id == store_id,
            ChargeFeedback.created_at >= start,
            ChargeFeedback.created_at < end,
        )
    ).one()
    return {
        "count": int(count),
        "average_stars": round(float(average), 2) if average is not None else None,
    }
