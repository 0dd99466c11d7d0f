"""Pay codes and the offline keys of customers' phones.

Neither table holds a usable secret: a pay code is stored as its SHA-256, and both the
pay code text and an offline key's TOTP secret are derived from the row id with an HMAC
keyed by the server's secret key (see service.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from wallet_api.extensions.database import Model, UTCDateTime, created_at, uuid_pk


class PayCode(Model):
    __tablename__ = "pay_codes"
    __table_args__ = (
        # The live codes of one wallet, oldest first, to retire the surplus.
        Index("ix_pay_codes_user_id_created_at", "user_id", "created_at"),
    )

    id: Mapped[uuid_pk]
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[created_at]
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when the code pays from a friend's allowance instead of the owner's wallet.
    allowance_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("allowances.id"))


class OfflineKey(Model):
    __tablename__ = "offline_keys"

    id: Mapped[uuid_pk]
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), index=True)
    # The short public id that offline codes start with (8 base32 characters).
    key_id: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    # The highest TOTP step accepted so far: every step is accepted once, in order.
    last_counter: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[created_at]
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
