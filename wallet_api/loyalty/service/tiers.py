"""Tiers without cliffs: up at once, down one level at most per qualification year,
only after a grace period. Evaluated lazily on read and on earning, and by a daily job."""

from __future__ import annotations

import uuid
from collections import namedtuple
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, event, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from wallet_api.clock import utcnow
from wallet_api.extensions import db
from wallet_api.extensions.database import transaction_memo
from wallet_api.extensions.fixed import FixedStatement, as_persistent
from wallet_api.extensions.money import format_money
from wallet_api.ledger import service as ledger
from wallet_api.loyalty.models import (
    Member,
    Spend,
    Tier,
)
from wallet_api.loyalty.rules import LoyaltyRules, current_rules
from wallet_api.loyalty.service.common import (
    _customer,
    _notify,
    first_name_of,
    points_balance,
)


def _times(pct: int) -> str:
    return f"{pct / 100:g}x"


def _date(at: datetime) -> str:
    return f"{at.day} {at:%B %Y}"


def tier_threshold(tier: Tier, rules: LoyaltyRules) -> int:
    return 0 if tier is Tier.GREEN else rules.tier_spend[tier.rank - 1]


def tier_for_spend(spend_cents: int, rules: LoyaltyRules) -> Tier:
    return max((t for t in Tier if spend_cents >= tier_threshold(t, rules)), key=lambda t: t.rank)


_spends = Spend.__table__
# Built once (Core): every charge evaluates the tier.
_SPEND_IN_WINDOW = FixedStatement(
    select(func.coalesce(func.sum(_spends.c.amount_cents - _spends.c.refunded_cents), 0)).where(
        _spends.c.user_id == bindparam("user_id"),
        _spends.c.spent_at > bindparam("since"),
        _spends.c.spent_at <= bindparam("at"),
    )
)


def qualifying_spend(user_id: uuid.UUID, at: datetime, rules: LoyaltyRules) -> int:
    """Paid spend less refunds over the qualification window ending at ``at``."""
    since = at - timedelta(days=rules.qualification_days)
    # A Core statement does not autoflush: a refund's change to a spend must be in first.
    db.session.flush()
    total = _SPEND_IN_WINDOW.execute({"user_id": user_id, "since": since, "at": at}).scalar()
    return int(total or 0)


def tenure_years(member_since: datetime, at: datetime) -> int:
    """Full years of membership at ``at`` (a 29 February joiner has anniversaries on 1 March)."""
    years = at.year - member_since.year
    if (at.month, at.day, at.time()) < (member_since.month, member_since.day, member_since.time()):
        years -= 1
    return max(years, 0)


def tenure_bonus_pct(member_since: datetime, at: datetime, rules: LoyaltyRules) -> int:
    years = tenure_years(member_since, at)
    return min(years * rules.tenure_bonus_pct_per_year, rules.tenure_bonus_max_pct)


# What this transaction already knows (``transaction_memo``):
# * ``_LOCKED_MEMBERS``: members it has locked, by user id. A charge reaches the customer's
#   member row three times (lock order, offers, points); once the row lock is held nobody
#   else can change the row, so the object already loaded is current and reading it again
#   under FOR UPDATE is a wasted round trip.
# * ``_KNOWN_SPEND``: the qualifying spend of a locked member at a moment, by (user id,
#   moment). A charge evaluates the tier twice at the same moment (offers, then points)
#   and the sum over the year's spends is the same both times: spends are written only
#   under the member's lock, and this session's own writes of a spend forget it.
_LOCKED_MEMBERS = "loyalty_locked_members"
_KNOWN_SPEND = "loyalty_known_spend"


def forget_known_spend(session: Session, user_id: uuid.UUID) -> None:
    """A spend of ``user_id`` was written or changed in this transaction."""
    known = transaction_memo(_KNOWN_SPEND, session)
    for key in [k for k in known if k[0] == user_id]:
        del known[key]


@event.listens_for(Session, "transient_to_pending")
def _spend_added(session: Session, instance: Any) -> None:
    if isinstance(instance, Spend):
        forget_known_spend(session, instance.user_id)


@event.listens_for(Spend.amount_cents, "set")
@event.listens_for(Spend.refunded_cents, "set")
@event.listens_for(Spend.spent_at, "set")
def _spend_changed(spend: Spend, *_: Any) -> None:
    session = object_session(spend)
    if session is not None:
        forget_known_spend(session, spend.user_id)


def _locked_member_spend(member: Member, at: datetime, rules: LoyaltyRules) -> int:
    """``qualifying_spend`` of a member this transaction has locked, read once per moment."""
    known: dict[tuple[uuid.UUID, datetime], int] = transaction_memo(_KNOWN_SPEND)
    key = (member.user_id, at)
    if key not in known:
        known[key] = qualifying_spend(member.user_id, at, rules)
    return known[key]


_members = Member.__table__
# Every charge locks its customer's member row: a fixed statement (extensions/fixed.py),
# then the object the tier rules change, without an ORM load (~0.2 ms of CPU less).
_LOCK_MEMBER = FixedStatement(
    select(_members).where(_members.c.user_id == bindparam("user_id")).with_for_update()
)


def _locked_member(user_id: uuid.UUID) -> Member | None:
    locked: dict[uuid.UUID, Member] = transaction_memo(_LOCKED_MEMBERS)
    member = locked.get(user_id)
    if member is not None:
        return member
    db.session.flush()  # as an ORM query would autoflush: a member added just before
    row = _LOCK_MEMBER.execute({"user_id": user_id}).one_or_none()
    if row is None:
        return None
    member = locked[user_id] = as_persistent(Member, row)
    return member


_MemberRow = namedtuple("_MemberRow", [column.key for column in _members.c])  # type: ignore[misc]  # fields known at run time


def hold_locked_member(values: Mapping[str, Any]) -> Member:
    """A member row another statement has just read under a lock that excludes
    ``_LOCK_MEMBER``'s (the counter reads it with the customer and the wallet, after the
    wallet, ``stores/scanning.py``): kept as this transaction's, as ``_locked_member`` keeps
    what it locks. ``values``: every column of the row, by name."""
    locked: dict[uuid.UUID, Member] = transaction_memo(_LOCKED_MEMBERS)
    member = locked[values["user_id"]] = as_persistent(Member, _MemberRow(**values))
    return member


def _ensure_member(user_id: uuid.UUID, at: datetime) -> Member:
    """The member row, locked: every tier decision for one person happens in turn."""
    member = _locked_member(user_id)
    if member is None:
        try:
            with db.session.begin_nested():
                db.session.add(Member(user_id=user_id, tier=Tier.GREEN, tier_since=at))
        except IntegrityError:
            pass  # created concurrently; the lock below waits for it
        member = _locked_member(user_id)
        if member is None:  # pragma: no cover - the other request rolled back
            raise RuntimeError("loyalty member row vanished")
    return member


def lock_members(user_ids: Iterable[uuid.UUID], at: datetime) -> None:
    """Lock several members in ascending id order, before any of them is touched.

    A charge that earns points for its customer and bonus points for the creators of the
    blends it orders locks several members; taking them all first, in one order, means
    two such charges (Anna ordering Ben's blend while Ben orders Anna's) wait for each
    other instead of deadlocking.
    """
    for user_id in sorted(set(user_ids)):
        _ensure_member(user_id, at)


def _earliest_drop(member: Member, at: datetime, rules: LoyaltyRules) -> datetime:
    earliest = at + timedelta(days=rules.grace_days)
    if member.last_drop_at is not None:
        earliest = max(earliest, member.last_drop_at + timedelta(days=rules.qualification_days))
    return earliest


def _evaluate(member: Member, at: datetime, rules: LoyaltyRules, also_spent: int = 0) -> int:
    """Move the tier as the rules say at ``at``; returns the qualifying spend.

    Up at once. Down never at once: when the spend stops qualifying, the tier is protected
    until the grace period ends (and a year after the last drop); then it drops one level,
    and a further drop waits another qualification year. Every change tells the person.
    ``also_spent`` counts a spend at ``at`` that is not written yet (the charge earning).
    """
    spend = _locked_member_spend(member, at, rules) + also_spent
    earned = tier_for_spend(spend, rules)
    current = member.tier
    # The name is read only for a message: most evaluations (every charge) change nothing.
    if earned.rank > current.rank:
        member.tier, member.tier_since, member.protected_until = earned, at, None
        pct = rules.tier_multipliers[earned.rank]
        first_name = first_name_of(member.user_id)
        _notify(
            member.user_id,
            "tier_changed",
            title=f"you're {earned.label} now",
            body=f"{first_name}, you're {earned.label} now: every euro earns {_times(pct)} "
            "points. Thank you for coming back.",
            data={"tier": earned.value, "previous_tier": current.value, "change": "up"},
        )
    elif earned is current:
        if member.protected_until is not None:
            member.protected_until = None
            first_name = first_name_of(member.user_id)
            _notify(
                member.user_id,
                "tier_kept",
                title=f"you've kept {current.label}",
                body=f"{first_name}, you've kept {current.label}. Thank you!",
                data={"tier": current.value},
            )
    elif member.protected_until is None:
        member.protected_until = _earliest_drop(member, at, rules)
        needed = tier_threshold(current, rules) - spend
        first_name = first_name_of(member.user_id)
        _notify(
            member.user_id,
            "tier_protected",
            title=f"your {current.label} status is protected",
            body=f"{first_name}, you're {current.label} until at least "
            f"{_date(member.protected_until)}. Spend {format_money(needed)} more by then "
            "to keep it.",
            data={"tier": current.value, "protected_until": member.protected_until.isoformat()},
        )
    elif at >= member.protected_until:
        lower = list(Tier)[current.rank - 1]
        member.tier, member.tier_since, member.last_drop_at = lower, at, at
        member.protected_until = (
            _earliest_drop(member, at, rules) if earned.rank < lower.rank else None
        )
        until = (
            f" You keep it at least until {_date(member.protected_until)}."
            if member.protected_until
            else ""
        )
        first_name = first_name_of(member.user_id)
        _notify(
            member.user_id,
            "tier_changed",
            title=f"you're {lower.label} now",
            body=f"{first_name}, you're {lower.label} now, one step down from "
            f"{current.label}, never more than one a year.{until}",
            data={"tier": lower.value, "previous_tier": current.value, "change": "down"},
        )
    return spend


def current_tier(user_id: uuid.UUID, at: datetime | None = None) -> Tier:
    """The tier at ``at``, evaluated on the way (a customer with no history is green)."""
    at = at or utcnow()
    member = _locked_member(user_id)
    if member is None:
        return Tier.GREEN
    _evaluate(member, at, current_rules())
    return member.tier


def evaluate_all(at: datetime | None = None, *, batch: int = 200) -> Iterable[int]:
    """Evaluate every member above green or under protection; yields counts per batch.

    The caller commits after each batch so that locks stay short.
    """
    at = at or utcnow()
    rules = current_rules()
    last: uuid.UUID | None = None
    while True:
        stmt = (
            select(Member.user_id)
            .where(or_(Member.tier != Tier.GREEN, Member.protected_until.is_not(None)))
            .order_by(Member.user_id)
            .limit(batch)
        )
        if last is not None:
            stmt = stmt.where(Member.user_id > last)
        ids = list(db.session.scalars(stmt))
        if not ids:
            return
        for user_id in ids:
            member = _locked_member(user_id)
            if member is not None:
                _evaluate(member, at, rules)
        last = ids[-1]
        yield len(ids)


def loyalty_status(user_id: uuid.UUID, at: datetime | None = None) -> dict[str, Any]:
    """What GET /v1/loyalty shows: the tier, evaluated now, and how to go further."""
    at = at or utcnow()
    rules = current_rules()
    user = _customer(user_id)
    member = _locked_member(user_id)
    if member is None:
        spend, tier, tier_since, protected_until = 0, Tier.GREEN, user.created_at, None
    else:
        spend = _evaluate(member, at, rules)
        tier, tier_since, protected_until = member.tier, member.tier_since, member.protected_until
    next_tier = None
    if tier is not Tier.PLATINUM:
        above = list(Tier)[tier.rank + 1]
        next_tier = {
            "tier": above,
            "spend_needed_cents": max(tier_threshold(above, rules) - spend, 0),
        }
    return {
        "first_name": user.first_name,
        "points": points_balance(user_id),
        "tier": tier,
        "tier_since": tier_since,
        "multiplier_pct": rules.tier_multipliers[tier.rank],
        "qualifying_spend_cents": spend,
        "currency": ledger.currency(),
        "next_tier": next_tier,
        "spend_to_keep_tier_cents": max(tier_threshold(tier, rules) - spend, 0),
        "protected_until": protected_until,
        "member_since": user.created_at,
        "tenure_years": tenure_years(user.created_at, at),
        "tenure_bonus_pct": tenure_bonus_pct(user.created_at, at, rules),
    }
