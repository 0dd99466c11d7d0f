"""The counter's part of a store's daily report (``stores/reports.py``): sales, refunds,
net and what sold best.

Charges are grouped by ``kind`` (the kind of code scanned): reward redemptions appear
beside ``pay`` (gift redemptions will too); ``top_items`` carries each line's kind, so the
top blends are the ``blend`` rows of the same query. Amounts of charges are what
customers paid; ``promotions`` is what offers and rewards took off the menu price (the
chain's promotions account paid the store that). ``feedback`` counts the ratings given
that day for the store's charges (loyalty adds the apologies they brought).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from wallet_api.counter.feedback import feedback_summary
from wallet_api.counter.models import Charge, ChargeLine, Refund
from wallet_api.extensions import db
from wallet_api.stores.models import Store

TOP_ITEMS = 5


def charges_of_the_day(store: Store, start: datetime, end: datetime) -> dict[str, Any]:
    in_day = (Charge.store_id == store.id, Charge.created_at >= start, Charge.created_at < end)

    by_kind: list[dict[str, Any]] = [
        {"kind": kind, "count": count, "amount": int(amount)}
        for kind, count, amount in db.session.execute(
            select(Charge.kind, func.count(Charge.id), func.sum(Charge.amount))
            .where(*in_day)
            .group_by(Charge.kind)
            .order_by(Charge.kind)
        )
    ]
    promotions_count, promotions_amount = db.session.execute(
        select(func.count(Charge.id), func.coalesce(func.sum(Charge.discount), 0)).where(
            *in_day, Charge.discount > 0
        )
    ).one()
    refunds_count, refunds_amount = db.session.execute(
        select(func.count(Refund.id), func.coalesce(func.sum(Refund.amount), 0)).where(
            Refund.store_id == store.id, Refund.created_at >= start, Refund.created_at < end
        )
    ).one()
    quantity = func.sum(ChargeLine.quantity).label("quantity")
    top_items = [
        {
            "kind": row.kind,
            "item_id": row.item_id,
            "name": row.name,
            "quantity": int(row.quantity),
            "amount": int(row.amount),
        }
        for row in db.session.execute(
            select(
                ChargeLine.kind,
                ChargeLine.item_id,
                ChargeLine.name,
                quantity,
                func.sum(ChargeLine.quantity * ChargeLine.unit_price).label("amount"),
            )
            .join(Charge, Charge.id == ChargeLine.charge_id)
            .where(*in_day)
            .group_by(ChargeLine.kind, ChargeLine.item_id, ChargeLine.name)
            .order_by(quantity.desc(), ChargeLine.name)
            .limit(TOP_ITEMS)
        )
    ]
    charges = {
        "count": sum(k["count"] for k in by_kind),
        "amount": sum(k["amount"] for k in by_kind),
    }
    return {
        "charges": charges,
        "refunds": {"count": refunds_count, "amount": int(refunds_amount)},
        "net": charges["amount"] - int(refunds_amount),
        "by_kind": by_kind,
        "top_items": top_items,
        "promotions": {"count": promotions_count, "amount": int(promotions_amount)},
        "feedback": feedback_summary(store.id, start, end),
    }
