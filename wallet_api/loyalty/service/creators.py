"""Creators of public blends earn points when other people enjoy them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select

from wallet_api.extensions import db
from wallet_api.loyalty.models import (
    CreatorReward,
)
from wallet_api.loyalty.rules import current_rules
from wallet_api.loyalty.service.common import _customer, _move_points, _notify
from wallet_api.loyalty.service.tiers import _ensure_member

CREATOR_REASONS = {"order": "ordered", "copy": "copied"}


def reward_creator(
    creator_id: uuid.UUID,
    *,
    blend_id: uuid.UUID,
    by_user_id: uuid.UUID,
    reason: str,
    at: datetime,
) -> int:
    """Someone else ordered or copied my public blend: bonus points, capped per UTC day.

    My own orders and copies earn nothing and are not counted. Returns the points given.
    """
    if reason not in CREATOR_REASONS:
        raise ValueError(f"reason is one of {sorted(CREATOR_REASONS)}")
    if creator_id == by_user_id:
        return 0
    rules = current_rules()
    creator, fan = _customer(creator_id), _customer(by_user_id)
    # The member lock makes "how much today" and "give" one step per creator.
    _ensure_member(creator_id, at)
    day = at.astimezone(UTC).date()
    day_start = datetime.combine(day, time.min, tzinfo=UTC)
    given = db.session.scalar(
        select(func.coalesce(func.sum(CreatorReward.points), 0)).where(
            CreatorReward.creator_id == creator_id,
            CreatorReward.at >= day_start,
            CreatorReward.at < day_start + timedelta(days=1),
        )
    )
    points = max(0, min(rules.creator_bonus_points, rules.creator_daily_cap - int(given or 0)))
    db.session.add(
        CreatorReward(
            creator_id=creator_id,
            blend_id=blend_id,
            by_user_id=by_user_id,
            reason=reason,
            points=points,
            at=at,
        )
    )
    db.session.flush()
    if points:
        verb = CREATOR_REASONS[reason]
        _move_points(
            "creator_bonus",
            creator_id,
            points,
            at=at,
            memo=f"{fan.first_name} {verb} your blend",
            meta={
                "blend_id": str(blend_id),
                "by_user_id": str(by_user_id),
                "by_name": fan.first_name,
                "reason": reason,
            },
        )
        _notify(
            creator_id,
            "creator_bonus",
            title=f"{fan.first_name} enjoyed your blend",
            body=f"{creator.first_name}, {fan.first_name} {verb} your blend: "
            f"here are {points} points.",
            data={"blend_id": str(blend_id), "points": points},
        )
    return points


def blend_enjoyed_by(blend_id: uuid.UUID) -> int:
    """How many other people ordered or copied this blend (for the blend's page)."""
    return int(
        db.session.scalar(
            select(func.count(func.distinct(CreatorReward.by_user_id))).where(
                CreatorReward.blend_id == blend_id
            )
        )
        or 0
    )
