from __future__ import annotations

import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wallet_api.auth.models import User
from wallet_api.extensions.database import Model, created_at, money, uuid_pk


class Transfer(Model):
    """Credit one person sent a friend. The money itself is a ledger transaction."""

    __tablename__ = "transfers"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        # The sender's total over the last 24 hours (the daily limit) reads this index.
        Index("ix_transfers_sender_id_created_at", "sender_id", "created_at"),
    )

    id: Mapped[uuid_pk]
    sender_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    recipient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), index=True)
    amount: Mapped[money]
    currency: Mapped[str] = mapped_column(String(3))
    message: Mapped[str] = mapped_column(String(140), default="")
    # ``public_id`` of the ledger transaction that moved the money.
    transaction_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    created_at: Mapped[created_at]

    sender: Mapped[User] = relationship(foreign_keys=[sender_id], lazy="selectin")
    recipient: Mapped[User] = relationship(foreign_keys=[recipient_id], lazy="selectin")
