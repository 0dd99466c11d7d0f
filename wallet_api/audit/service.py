"""Recording and reading audit events. Callers pass the principal; no Flask request here."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from wallet_api.audit.models import AuditEvent
from wallet_api.clock import utcnow
from wallet_api.extensions import db
from wallet_api.extensions.auth import Principal
from wallet_api.extensions.pagination import keyset_page


def record_event(
    tag: str,
    *,
    actor: Principal | None,
    subject: str,
    data: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Add an event to the caller's transaction: it commits with the action or not at all."""
    event = AuditEvent(
        tag=tag,
        actor_kind=actor.kind if actor is not None else "system",
        actor_id=actor.id if actor is not None else None,
        subject=subject,
        data=dict(data or {}),
        created_at=utcnow(),
    )
    db.session.add(event)
    return event


def user_actor(user_id: uuid.UUID) -> Principal:
    """The actor for an event caused by a person, where only their id is at hand."""
    return Principal(kind="user", id=user_id)


def list_events(
    *, tag: str | None, subject: str | None, limit: int, cursor: str | None
) -> dict[str, Any]:
    stmt = select(AuditEvent)
    if tag:
        # A prefix ("store:refund") selects a family of tags.
        stmt = stmt.where(AuditEvent.tag.startswith(tag, autoescape=True))
    if subject:
        stmt = stmt.where(AuditEvent.subject == subject)
    return keyset_page(stmt, [AuditEvent.id], limit=limit, cursor=cursor)
