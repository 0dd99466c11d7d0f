"""Demo rewards and a welcome offer, so the embedded default shows loyalty at work."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from wallet_api.clock import utcnow
from wallet_api.extensions import db
from wallet_api.loyalty.models import Offer, OfferKind, Reward

REWARDS = [
    ("Free drink, any size", "Any drink on the menu, in any size", 500),
    ("Free small drink", "Any drink on the menu, size S", 300),
]


def seed_loyalty() -> None:
    names = set(db.session.scalars(select(Reward.name)))
    for name, description, cost in REWARDS:
        if name not in names:
            size = "S" if "small" in name else None
            db.session.add(Reward(name=name, description=description, points_cost=cost, size=size))
    if db.session.scalar(select(Offer.id).where(Offer.is_welcome.is_(True))) is None:
        now = utcnow()
        db.session.add(
            Offer(
                title="Welcome",
                description="1.00 off your next drink: for new and long-time customers alike",
                kind=OfferKind.FIXED,
                value=100,
                starts_at=now,
                ends_at=now + timedelta(days=365),
                once_per_customer=True,
                is_welcome=True,
            )
        )
    db.session.flush()
