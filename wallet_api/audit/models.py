"""Audit events: append-only, one row per staff or admin action worth answering for."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import JSON, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from wallet_api.extensions.database import bigint_pk, created_at, db


class AuditEvent(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "audit_events"

    id: Mapped[bigint_pk]
    # A structured tag, "<domain>:<object>:<what happened>", e.g. "loyalty:goodwill:credited".
    tag: Mapped[str] = mapped_column(String(80), index=True)
    # Who acted (staff or admin; None for the system itself) and whom it concerned.
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    subject_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[created_at]
