"""Allowances: a friend may pay from my wallet, up to an amount per day, week or month.

Each use is a row beside the charge it paid for; what is left of a period is the amount
minus the uses in it. Charges on one allowance are serialised by its row lock.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wallet_api.auth.models import User
from wallet_api.extensions.database import Model, UTCDateTime, created_at, str_enum, uuid_pk

_LIVE = text("revoked_at IS NULL")


class Period(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class Allowance(Model):
    __tablename__ = "allowances"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("owner_id <> grantee_id", name="not_to_self"),
        # One live allowance per owner and grantee: change it by revoking and granting anew.
        Index(
            "uq_allowances_live_pair",
            "owner_id",
            "grantee_id",
            unique=True,
            postgresql_where=_LIVE,
            sqlite_where=_LIVE,
        ),
        Index("ix_allowances_grantee_id", "grantee_id"),
    )

    id: Mapped[uuid_pk]
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    grantee_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    amount: Mapped[int] = mapped_column(BigInteger)  # per period
    currency: Mapped[str] = mapped_column(String(3))
    period: Mapped[Period] = mapped_column(str_enum(Period, length=8))
    created_at: Mapped[created_at]
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Revoked by the owner, or ended when a new one replaced an expired one.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    owner: Mapped[User] = relationship(foreign_keys=[owner_id], lazy="selectin")
    grantee: Mapped[User] = relationship(foreign_keys=[grantee_id], lazy="selectin")


class AllowanceUse(Model):
    __tablename__ = "allowance_uses"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        # What was used in the current period: one range scan.
        Index("ix_allowance_uses_allowance_id_created_at", "allowance_id", "created_at"),
    )

    id: Mapped[uuid_pk]
    allowance_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("allowances.id"))
    charge_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("charges.id"), unique=True)
    store_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("stores.id"))
    store_name: Mapped[str] = mapped_column(String(120))
    amount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[created_at]
