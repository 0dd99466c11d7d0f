"""What loyalty does at the counter besides reward codes (``scanner.py``): it takes points
back when a charge is refunded, apologises for a low rating, and counts a store's
apologies in its daily report. Registered in ``register(api)``; the counter and the
stores import nothing of loyalty.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from wallet_api.counter.models import Charge
from wallet_api.counter.registry import on_feedback, on_refund
from wallet_api.loyalty import service as loyalty
from wallet_api.stores.models import Store
from wallet_api.stores.reports import add_to_daily_report


def points_back_for_refund(charge: Charge, amount: int) -> int:
    """The points the refunded part of ``charge`` earned, taken back; how many."""
    return loyalty.reverse_points_for_refund(
        charge.customer_id, charge_id=charge.id, refunded_cents=amount, charged_cents=charge.amount
    )


def apology_for_rating(
    rater_id: uuid.UUID, charge: Charge, stars: int, paid_cents: int
) -> int | None:
    """1-2 stars: sorry, and a credit (its cents) if the visit cost the rater's wallet."""
    apology = loyalty.apology_for_feedback(
        rater_id, charge_id=charge.id, stars=stars, store_id=charge.store_id, paid_cents=paid_cents
    )
    return apology["credited_cents"] if apology else None


def apologies_of_the_day(store: Store, start: datetime, end: datetime) -> dict[str, Any]:
    apologies = loyalty.apologies_for_store(store.id, start, end)
    return {
        "apologies": {
            "count": len(apologies),
            "amount": sum(a.amount_cents for a in apologies),
        }
    }


def register_counter_hooks() -> None:
    on_refund(points_back_for_refund)
    on_feedback(apology_for_rating)
    add_to_daily_report(apologies_of_the_day)
