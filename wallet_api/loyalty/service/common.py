"""Shared by the loyalty services: people, money formatting, points moves, the inbox."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from wallet_api.auth import service as auth
from wallet_api.auth.errors import UserNotFound
from wallet_api.auth.models import User
from wallet_api.extensions import db
from wallet_api.extensions.problems import NotFound
from wallet_api.ledger import service as ledger
from wallet_api.ledger.models import AccountKind
from wallet_api.social import service as social


def _customer(user_id: uuid.UUID) -> User:
    try:
        return auth.get_user(user_id)
    except NotFound as exc:
        raise UserNotFound("No such customer.") from exc


def first_name_of(user_id: uuid.UUID) -> str:
    """For messages written by jobs: the person may have closed their account since."""
    user = db.session.get(User, user_id)
    return user.first_name if user is not None else "there"


def _notify(
    user_id: uuid.UUID,
    kind: str,
    *,
    title: str,
    body: str,
    data: Mapping[str, Any] | None = None,
) -> None:
    """The one door to the person's inbox (GET /v1/notifications).

    ``title`` follows the greeting that ``social.notify`` puts in front ("Anna, you're Gold
    now"); ``kind`` is one of social's notification kinds.
    """
    social.notify(user_id, kind, title=title, body=body, data=dict(data or {}))


def _move_points(
    kind: str,
    user_id: uuid.UUID,
    points: int,
    *,
    meta: Mapping[str, Any],
    at: datetime | None = None,
    memo: str = "",
    postings: list[ledger.Posting] | None = None,
) -> None:
    """Points into (positive) or out of (negative) the customer's points account.

    With ``postings``, the posting is added there for the caller to post with its own
    (``ledger.post_transactions``) instead of being posted now.
    """
    # Only the ids: posting locks and reads the points account itself.
    mine = ledger.points_account_id(user_id)
    issued = ledger.system_account_id(AccountKind.POINTS_ISSUED)
    source, destination = (issued, mine) if points > 0 else (mine, issued)
    legs = [ledger.Leg(source, -abs(points)), ledger.Leg(destination, abs(points))]
    posting = ledger.Posting(kind, legs, memo=memo, meta=meta, event_at=at)
    if postings is None:
        ledger.post_transactions([posting])
    else:
        postings.append(posting)


def points_balance(user_id: uuid.UUID) -> int:
    return ledger.balance_of(ledger.points_account(user_id))
