"""Stores, their staff and scanner devices (the charges made at them: counter/models.py)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from wallet_api.extensions.database import Model, UTCDateTime, bigint_pk, created_at, uuid_pk


class Store(Model):
    __tablename__ = "stores"

    id: Mapped[uuid_pk]
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(300), default="")
    # IANA name ("Europe/Amsterdam"): greetings and daily reports use the store's own day.
    timezone: Mapped[str] = mapped_column(String(64))
    is_open: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[created_at]


class StoreStaff(Model):
    __tablename__ = "store_staff"
    __table_args__ = (UniqueConstraint("store_id", "user_id", name="uq_store_staff_store_user"),)

    id: Mapped[bigint_pk]
    store_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("stores.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), index=True)
    created_at: Mapped[created_at]


class Device(Model):
    """A scanner at one store. Only a SHA-256 of its secret is kept (see service.py)."""

    __tablename__ = "store_devices"

    id: Mapped[uuid_pk]
    store_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("stores.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[created_at]
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
