"""The rewards catalog and single-use reward codes (stored hashed)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Select, select, update
from sqlalchemy.exc import IntegrityError

from wallet_api.clock import utcnow
from wallet_api.counter.errors import CodeAlreadyUsed, CodeExpired, CodeUnknown
from wallet_api.extensions import db
from wallet_api.loyalty.errors import (
    ProductUnknown,
    RewardCodeNotFound,
    RewardNameTaken,
    RewardNotFound,
)
from wallet_api.loyalty.models import (
    Reward,
    RewardCode,
)
from wallet_api.loyalty.rules import current_rules
from wallet_api.loyalty.service.common import _customer, _move_points, _notify, first_name_of

REWARD_CODE_PREFIX = "RW"


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def normalise_code(text: str) -> str:
    return "".join(text.split()).replace("-", "").upper()


def looks_like_reward_code(text: str) -> bool:
    """For the scanner's dispatch: is this text a reward code (rather than a pay code)?"""
    return normalise_code(text).startswith(REWARD_CODE_PREFIX)


def _new_code() -> str:
    # 15 random bytes = 120 bits, exactly 24 base32 characters (A-Z, 2-7), no padding.
    return REWARD_CODE_PREFIX + base64.b32encode(secrets.token_bytes(15)).decode()


def _check_product(product_id: uuid.UUID | None) -> None:
    from wallet_api.catalog import service as catalog
    from wallet_api.catalog.errors import ProductNotFound

    if product_id is None:
        return
    try:
        catalog.get_product(product_id)
    except ProductNotFound as exc:
        raise ProductUnknown(errors={"product_id": ["No such product."]}) from exc


def _save_reward(reward: Reward, values: Mapping[str, Any]) -> Reward:
    _check_product(values.get("product_id"))
    try:
        with db.session.begin_nested():
            for name, value in values.items():
                setattr(reward, name, value)
            db.session.add(reward)
    except IntegrityError as exc:
        raise RewardNameTaken(f"A reward called {values.get('name')!r} already exists.") from exc
    return reward


def create_reward(data: Mapping[str, Any]) -> Reward:
    return _save_reward(Reward(), data)


def update_reward(reward_id: uuid.UUID, changes: Mapping[str, Any]) -> Reward:
    """Change or retire a reward. Codes already bought keep working until they expire."""
    reward = db.session.get(Reward, reward_id)
    if reward is None:
        raise RewardNotFound()
    return _save_reward(reward, changes)


def rewards_query(*, include_inactive: bool = False) -> Select[Any]:
    stmt = select(Reward)
    return stmt if include_inactive else stmt.where(Reward.is_active.is_(True))


def get_reward(reward_id: uuid.UUID) -> Reward:
    reward = db.session.get(Reward, reward_id)
    if reward is None or not reward.is_active:
        raise RewardNotFound()
    return reward


@dataclass(frozen=True)
class IssuedCode:
    """A reward code as issued; ``code`` exists only here, never in the database."""

    row: RewardCode
    code: str

    def __getattr__(self, name: str) -> Any:
        return getattr(self.row, name)


def _issue_code(
    user_id: uuid.UUID, reward: Reward, *, source: str, points: int, at: datetime
) -> IssuedCode:
    code = _new_code()
    row = RewardCode(
        id=uuid.uuid4(),
        user_id=user_id,
        reward_id=reward.id,
        reward=reward,
        code_hash=_digest(code),
        code_hint=code[-4:],
        source=source,
        points_spent=points,
        created_at=at,
        expires_at=at + timedelta(days=current_rules().reward_code_ttl_days),
    )
    db.session.add(row)
    db.session.flush()
    return IssuedCode(row, code)


def redeem_reward(user_id: uuid.UUID, reward_id: uuid.UUID) -> IssuedCode:
    """Spend points on a reward: points wallet -> points issued, and a single-use code."""
    at = utcnow()
    reward = get_reward(reward_id)
    issued = _issue_code(user_id, reward, source="points", points=reward.points_cost, at=at)
    _move_points(
        "loyalty_reward",
        user_id,
        -reward.points_cost,
        memo=f"{reward.name} for {reward.points_cost} points",
        meta={
            "reward_id": str(reward.id),
            "reward_name": reward.name,
            "reward_code_id": str(issued.row.id),
        },
    )
    return issued


def reward_codes_query(user_id: uuid.UUID) -> Select[Any]:
    return select(RewardCode).where(RewardCode.user_id == user_id)


def _code_by_text(text: str) -> RewardCode | None:
    return db.session.scalar(
        select(RewardCode)
        .where(RewardCode.code_hash == _digest(normalise_code(text)))
        .execution_options(populate_existing=True)
    )


def _raise_unusable(row: RewardCode | None, not_found: type[Exception] = CodeUnknown) -> None:
    if row is None:
        raise not_found()
    if row.redeemed_at is not None:
        raise CodeAlreadyUsed("This reward code was already redeemed.")
    raise CodeExpired("This reward code has expired.")


def _describe_code(row: RewardCode, at: datetime) -> dict[str, Any]:
    customer = _customer(row.user_id)
    reward = row.reward
    return {
        "kind": "reward",
        "status": row.status_at(at),
        "code_id": row.id,
        "customer": {"id": customer.id, "first_name": customer.first_name},
        "greeting": f"Hi {customer.first_name}! {reward.name} is on us today.",
        "reward": {
            "id": reward.id,
            "name": reward.name,
            "description": reward.description,
            # None means any drink / any size.
            "product_id": reward.product_id,
            "size": reward.size.value if reward.size else None,
        },
        "expires_at": row.expires_at,
        "redeemed_at": row.redeemed_at,
        "redeemed_store_id": row.redeemed_store_id,
    }


def preview_reward_code(code: str, *, at: datetime | None = None) -> dict[str, Any]:
    """What the scanner shows for a reward code, without using it."""
    at = at or utcnow()
    row = _code_by_text(code)
    if row is None or row.status_at(at) != "valid":
        _raise_unusable(row)
    assert row is not None  # noqa: S101  (narrowing for the type checker; raised above)
    return _describe_code(row, at)


def redeem_reward_code(code: str, *, store_id: uuid.UUID | None, at: datetime) -> dict[str, Any]:
    """Use a reward code at a store, exactly once even when two tills try at once.

    One conditional UPDATE decides: only the request that flips ``redeemed_at`` from NULL
    wins; on PostgreSQL a concurrent one waits for the row and then finds it taken.
    """
    result = cast(
        CursorResult[Any],
        db.session.execute(
            update(RewardCode)
            .where(
                RewardCode.code_hash == _digest(normalise_code(code)),
                RewardCode.redeemed_at.is_(None),
                RewardCode.returned_at.is_(None),
                RewardCode.expires_at > at,
            )
            .values(redeemed_at=at, redeemed_store_id=store_id)
            .execution_options(synchronize_session=False)
        ),
    )
    row = _code_by_text(code)
    if result.rowcount != 1 or row is None:
        _raise_unusable(row)
    assert row is not None  # noqa: S101  (narrowing for the type checker; raised above)
    return _describe_code(row, at)


def reveal_code(user_id: uuid.UUID, code_id: uuid.UUID) -> IssuedCode:
    """A fresh code for one of my unused reward codes; the previous code stops working.

    Codes are stored hashed, so a lost code cannot be shown again; it can be replaced.
    This is also how a reward given as goodwill reaches the customer and never the staff.
    """
    at = utcnow()
    code = _new_code()
    result = cast(
        CursorResult[Any],
        db.session.execute(
            update(RewardCode)
            .where(
                RewardCode.id == code_id,
                RewardCode.user_id == user_id,
                RewardCode.redeemed_at.is_(None),
                RewardCode.returned_at.is_(None),
                RewardCode.expires_at > at,
            )
            .values(code_hash=_digest(code), code_hint=code[-4:])
            .execution_options(synchronize_session=False)
        ),
    )
    row = db.session.scalar(
        select(RewardCode)
        .where(RewardCode.id == code_id, RewardCode.user_id == user_id)
        .execution_options(populate_existing=True)
    )
    if result.rowcount != 1 or row is None:
        _raise_unusable(row, RewardCodeNotFound)
    assert row is not None  # noqa: S101  (narrowing for the type checker; raised above)
    return IssuedCode(row, code)


def return_expired_codes(at: datetime | None = None, *, batch: int = 200) -> Iterable[int]:
    """Give back the points of reward codes that expired unused, once each.

    Points bought the reward; letting them vanish with the code would be a small cliff.
    Yields the number returned per batch; the caller commits between batches.
    """
    at = at or utcnow()
    while True:
        rows = list(
            db.session.scalars(
                select(RewardCode)
                .where(
                    RewardCode.redeemed_at.is_(None),
                    RewardCode.returned_at.is_(None),
                    RewardCode.expires_at <= at,
                    RewardCode.points_spent > 0,
                )
                .order_by(RewardCode.expires_at, RewardCode.id)
                .limit(batch)
            )
        )
        if not rows:
            return
        returned = 0
        for row in rows:
            claimed = cast(
                CursorResult[Any],
                db.session.execute(
                    update(RewardCode)
                    .where(
                        RewardCode.id == row.id,
                        RewardCode.redeemed_at.is_(None),
                        RewardCode.returned_at.is_(None),
                    )
                    .values(returned_at=at)
                    .execution_options(synchronize_session=False)
                ),
            )
            if claimed.rowcount != 1:
                continue  # redeemed or returned meanwhile
            returned += 1
            _move_points(
                "loyalty_reward_returned",
                row.user_id,
                row.points_spent,
                memo=f"{row.points_spent} points back: {row.reward.name} expired unused",
                meta={"reward_code_id": str(row.id), "reward_name": row.reward.name},
            )
            first_name = first_name_of(row.user_id)
            _notify(
                row.user_id,
                "reward_expired",
                title="your points are back",
                body=f"{first_name}, your {row.reward.name} code expired before you used it, "
                f"so the {row.points_spent} points are back in your account.",
                data={"reward_code_id": str(row.id), "points": row.points_spent},
            )
        db.session.flush()
        yield returned
