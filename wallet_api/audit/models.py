"""One row per staff or admin action that moves money or changes roles.

Rows are only ever added. ``tag`` is structured ``<domain>:<object>:<what happened>``
(``store:refund:created``) so reviewers can filter by prefix.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import JSON, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from wallet_api.extensions.database import Model, bigint_pk, created_at


class AuditEvent(Model):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_subject_id", "subject", "id"),)

    id: Mapped[bigint_pk]
    tag: Mapped[str] = mapped_column(String(80), index=True)
    # "user", "device" or "system"; the id of that user or device (None for the system).
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    # What the action was about: "charge:<uuid>", "user:<uuid>", "store:<uuid>".
    subject: Mapped[str] = mapped_column(String(120))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[created_at]
