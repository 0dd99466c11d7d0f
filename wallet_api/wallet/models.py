"""Top-ups and the payment-provider webhook events already handled.

Money itself lives in the ledger; a top-up records the payment that brings it in and
points at the ledger transaction that credited the wallet (once, when it succeeded).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from wallet_api.extensions.database import (
    Model,
    UTCDateTime,
    bigint_pk,
    created_at,
    str_enum,
    uuid_pk,
)


class TopUpStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for the provider (Stripe: the app confirms the payment)
    SUCCEEDED = "succeeded"  # paid and credited to the wallet, exactly once
    # Declined or failed; nothing credited. Stripe lets the customer retry the same payment,
    # so a later success still credits it.
    FAILED = "failed"
    # Paid, but crediting it would push the wallet over its maximum balance: nothing is
    # credited and the payment is to be refunded to the card by an operator.
    REFUND_DUE = "refund_due"


class TopUp(Model):
    __tablename__ = "wallet_top_ups"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        UniqueConstraint("provider", "provider_ref", name="uq_wallet_top_ups_provider_ref"),
    )

    id: Mapped[uuid_pk]
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    provider: Mapped[str] = mapped_column(String(20))
    status: Mapped[TopUpStatus] = mapped_column(str_enum(TopUpStatus, length=16))
    # The provider's id of the payment (a Stripe PaymentIntent id).
    provider_ref: Mapped[str | None] = mapped_column(String(255))
    # What the app needs to complete the payment (Stripe's PaymentIntent client secret).
    client_secret: Mapped[str | None] = mapped_column(String(255))
    failure_reason: Mapped[str | None] = mapped_column(String(255))
    # The ledger transaction (public id) that credited the wallet.
    transaction_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[created_at]
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookEvent(Model):
    """A provider event that was handled; a redelivery of the same id changes nothing."""

    __tablename__ = "wallet_webhook_events"
    __table_args__ = (
        UniqueConstraint("provider", "event_id", name="uq_wallet_webhook_events_event"),
    )

    id: Mapped[bigint_pk]
    provider: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(100))
    top_up_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("wallet_top_ups.id"))
    outcome: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[created_at]
