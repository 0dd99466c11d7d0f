"""Writing audit events. Services call ``record_event`` inside the request's transaction,
so an action and its audit row are committed together or not at all."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from wallet_api.audit.models import AuditEvent
from wallet_api.clock import utcnow
from wallet_api.extensions import db


def record_event(
    tag: str,
    *,
    actor_id: uuid.UUID | None,
    subject_id: uuid.UUID | None,
    data: Mapping[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        tag=tag,
        actor_id=actor_id,
        subject_id=subject_id,
        data=dict(data or {}),
        created_at=utcnow(),
    )
    db.session.add(event)
    db.session.flush()
    return event


def events_for(subject_id: uuid.UUID, *, tag_prefix: str = "") -> list[AuditEvent]:
    """The audit trail of one person, oldest first."""
    stmt = select(AuditEvent).where(AuditEvent.subject_id == subject_id)
    if tag_prefix:
        stmt = stmt.where(AuditEvent.tag.startswith(tag_prefix))
    return list(db.session.scalars(stmt.order_by(AuditEvent.id)))
