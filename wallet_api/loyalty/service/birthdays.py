"""Birthday treats: a free drink on one's birthday, once a year, given by the daily job.

The birthday is kept in ``users.birthday`` (``PATCH /v1/me``). The day is the person's own:
the time zone of the store of their most recent visit, else of the chain's first store,
else UTC. A 29 February birthday is celebrated on 28 February in common years. Only
accounts at least ``birthday_min_member_days`` old get one, so a new account cannot be made
for a free drink. The treat is a reward code (no points spent; the chain's promotions pay
the store when it is redeemed, as for any reward code) for the catalog's free drink: its
first active reward for any drink in any size.

Once per person and calendar year, whoever runs the job and how often: a unique
``(user_id, year)`` decides, so changing one's birthday after the treat gives no second
one that year, and two runs at once give one.
"""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, extract, or_, select
from sqlalchemy.exc import IntegrityError

from wallet_api.audit.service import record_event
from wallet_api.auth.models import User
from wallet_api.clock import utcnow
from wallet_api.extensions import db
from wallet_api.loyalty.models import BirthdayTreat, Reward
from wallet_api.loyalty.rules import current_rules
from wallet_api.loyalty.service.common import _notify
from wallet_api.loyalty.service.rewards import _issue_code


def celebrated_on(birthday: date, year: int) -> date:
    """The day of ``year`` on which this birthday is celebrated."""
    if (birthday.month, birthday.day) == (2, 29) and not calendar.isleap(year):
        return date(year, 2, 28)
    return birthday.replace(year=year)


def _days_near(at: datetime) -> list[tuple[int, int]]:
    """The (month, day) of every birthday that may be today somewhere: each time zone's
    date is within a day of UTC's."""
    days = []
    for offset in (-1, 0, 1):
        day = at.date() + timedelta(days=offset)
        days.append((day.month, day.day))
        if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
            days.append((2, 29))
    return days


def birthday_reward() -> Reward | None:
    """The catalog's free drink: the first active reward for any drink in any size."""
    return db.session.scalar(
        select(Reward)
        .where(Reward.is_active.is_(True), Reward.product_id.is_(None), Reward.size.is_(None))
        .order_by(Reward.created_at, Reward.id)
        .limit(1)
    )


def _zone(user_id: uuid.UUID) -> tzinfo:
    from wallet_api.counter.service import home_timezone

    name = home_timezone(user_id)
    return ZoneInfo(name) if name else UTC


def give_birthday_treats(at: datetime | None = None, *, batch: int = 200) -> Iterable[int]:
    """Give today's birthday treats; yields how many per batch (the caller commits).

    Safe to run as often as wanted, and twice at once: see the module docstring.
    """
    at = at or utcnow()
    rules = current_rules()
    reward = birthday_reward()
    if reward is None:
        return
    month, day = extract("month", User.birthday), extract("day", User.birthday)
    window = (at.date() - timedelta(days=1), at.date() + timedelta(days=1))
    due = select(User.id, User.first_name, User.birthday).where(
        User.birthday.is_not(None),
        User.is_active.is_(True),
        User.created_at <= at - timedelta(days=rules.birthday_min_member_days),
        or_(*(and_(month == m, day == d) for m, d in _days_near(at))),
        # Treated already today: not even looked at again.
        ~exists().where(
            BirthdayTreat.user_id == User.id, BirthdayTreat.celebrated_on.between(*window)
        ),
    )
    after: uuid.UUID | None = None
    while True:
        page = due if after is None else due.where(User.id > after)
        people = db.session.execute(page.order_by(User.id).limit(batch)).all()
        if not people:
            return
        given = 0
        for user_id, first_name, birthday in people:
            assert birthday is not None  # noqa: S101  (selected where it is not null)
            today = at.astimezone(_zone(user_id)).date()
            if celebrated_on(birthday, today.year) == today and _treat(
                user_id, first_name, reward, today, at
            ):
                given += 1
        after = people[-1].id
        db.session.flush()
        yield given


def _treat(user_id: uuid.UUID, first_name: str, reward: Reward, today: date, at: datetime) -> bool:
    """One person's treat for ``today.year``; False if they had it already this year."""
    had = select(BirthdayTreat.id).where(
        BirthdayTreat.user_id == user_id, BirthdayTreat.year == today.year
    )
    if db.session.scalar(had) is not None:
        return False  # e.g. the birthday was changed after this year's treat
    try:
        with db.session.begin_nested():
            code = _issue_code(user_id, reward, source="birthday", points=0, at=at).row
            db.session.add(
                BirthdayTreat(
                    user_id=user_id,
                    year=today.year,
                    celebrated_on=today,
                    reward_code_id=code.id,
                    created_at=at,
                )
            )
    except IntegrityError:
        return False  # another run gave it a moment ago
    record_event(
        "loyalty:birthday_treat:given",
        actor=None,
        subject=f"user:{user_id}",
        data={"year": today.year, "reward_id": str(reward.id), "reward_code_id": str(code.id)},
    )
    _notify(
        user_id,
        "birthday_treat",
        title="happy birthday!",
        body=f"{first_name}, happy birthday! {reward.name} is on us: find it in your rewards "
        f"(valid for {current_rules().reward_code_ttl_days} days).",
        data={"reward_code_id": code.id, "reward_id": reward.id},
    )
    return True
