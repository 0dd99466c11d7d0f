from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from wallet_api.extensions.database import (
    Model,
    UTCDateTime,
    bigint_pk,
    created_at,
    str_enum,
    uuid_pk,
)


class Role(enum.StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"
    ADMIN = "admin"


class User(Model):
    __tablename__ = "users"

    id: Mapped[uuid_pk]
    # Emails and handles are kept lower-case so uniqueness is case-insensitive everywhere.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    first_name: Mapped[str] = mapped_column(String(80))
    display_name: Mapped[str] = mapped_column(String(80))
    handle: Mapped[str] = mapped_column(String(30), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    locale: Mapped[str] = mapped_column(String(10), default="en")
    birthday: Mapped[date | None] = mapped_column(Date)
    role: Mapped[Role] = mapped_column(str_enum(Role, length=16), default=Role.CUSTOMER)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[created_at]


class RefreshToken(Model):
    """One refresh token; all tokens from one login share a ``family_id``.

    Only a SHA-256 of the token is stored. Using a token marks it ``used_at``; presenting a
    used token again means it was stolen (or replayed), so the whole family is revoked.
    """

    __tablename__ = "refresh_tokens"

    id: Mapped[bigint_pk]
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), index=True)
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[created_at]
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
