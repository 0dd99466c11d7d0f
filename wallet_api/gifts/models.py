"""Gifts: a drink or an amount, paid into gift escrow when given, settled once.

A gift leaves ``pending`` exactly once, by a conditional update (``WHERE status =
'pending'``) in the same database transaction as the ledger posting that settles it:
redeemed at a store, accepted into a wallet (an amount), declined or expired (both back
to the giver). No secret is stored: the claim token of a link gift and the redemption
code are kept as SHA-256 only (see service.py).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wallet_api.auth.models import User
from wallet_api.extensions.database import Model, UTCDateTime, created_at, str_enum, uuid_pk


class GiftStatus(enum.StrEnum):
    PENDING = "pending"  # in escrow: waiting to be redeemed, accepted or claimed
    REDEEMED = "redeemed"  # a drink, made at a store
    ACCEPTED = "accepted"  # an amount, in the recipient's wallet
    DECLINED = "declined"  # back to the giver, by the recipient
    EXPIRED = "expired"  # back to the giver, by `wallet-api gifts expire`


class GiftKind(enum.StrEnum):
    ITEM = "item"  # a drink: a standard one or a blend, as priced when given
    AMOUNT = "amount"  # credit


class AddressKind(enum.StrEnum):
    USER = "user"  # a friend, by user id or handle
    EMAIL = "email"  # anyone, by a claim link
    PHONE = "phone"


class Gift(Model):
    __tablename__ = "gifts"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("giver_id <> recipient_id", name="not_to_self"),
        # Both boxes, newest first.
        Index("ix_gifts_giver_id_created_at", "giver_id", "created_at"),
        Index("ix_gifts_recipient_id_created_at", "recipient_id", "created_at"),
        # The expiry job: pending gifts past their expiry.
        Index("ix_gifts_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[uuid_pk]
    giver_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    # Whose gift it is: set for a friend, for an account that has the email or phone it was
    # sent to, and for whoever claims a link. NULL: only the link's holder has it.
    recipient_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    address_kind: Mapped[AddressKind] = mapped_column(str_enum(AddressKind, length=8))
    # The email or phone as the giver typed it (normalised); NULL for a friend.
    address: Mapped[str | None] = mapped_column(String(254))
    kind: Mapped[GiftKind] = mapped_column(str_enum(GiftKind, length=8))
    # The priced line as given (catalog ``PricedLine.receipt()``): the barista makes what
    # this snapshot says, whatever happens to the menu or the blend later. NULL for credit.
    item: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    amount: Mapped[int] = mapped_column(BigInteger)  # what sits in escrow
    currency: Mapped[str] = mapped_column(String(3))
    message: Mapped[str] = mapped_column(String(280), default="")
    status: Mapped[GiftStatus] = mapped_column(
        str_enum(GiftStatus, length=16), default=GiftStatus.PENDING
    )
    # The redemption code is derived from (id, generation); a claim moves to the next
    # generation so the code on the link's page stops working (its hash is kept to say so).
    code_generation: Mapped[int] = mapped_column(Integer, default=0)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    retired_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    claim_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[created_at]
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    thanked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # ``public_id``s of the ledger transactions into and out of escrow.
    funding_transaction_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    settlement_transaction_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # The redemption's receipt (a Charge of the store).
    charge_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("charges.id"))

    giver: Mapped[User] = relationship(foreign_keys=[giver_id], lazy="selectin")
    recipient: Mapped[User | None] = relationship(foreign_keys=[recipient_id], lazy="selectin")
