"""Charges at the counter, their lines, refunds and feedback.

A charge keeps a snapshot of what was sold (name, size, unit price) so receipts, reports
and "the usual" never depend on today's menu.
"""

from __future__ import annotations

import uuid

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wallet_api.extensions.database import Model, bigint_pk, created_at, uuid_pk
from wallet_api.stores.models import Store


class Charge(Model):
    """One sale at the counter, with its receipt.

    ``amount`` is what the customer's wallet paid; ``discount`` what offers (or a reward)
    took off the menu price, paid to the store by the chain's promotions account, so the
    store's sales are ``subtotal = amount + discount`` whoever paid. A reward redemption
    is a charge of ``amount`` 0 whose ``discount`` is the drink's price.
    """

    __tablename__ = "charges"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("discount >= 0", name="discount_not_negative"),
        CheckConstraint("amount + discount > 0", name="subtotal_positive"),
        CheckConstraint("points_earned >= 0", name="points_earned_not_negative"),
        CheckConstraint(
            "refunded_amount >= 0 AND refunded_amount <= amount", name="refunds_within_amount"
        ),
        # Daily reports: one store's charges in a time range.
        Index("ix_charges_store_id_created_at", "store_id", "created_at"),
        # One paying customer's charges.
        Index("ix_charges_customer_id_created_at", "customer_id", "created_at"),
        # "The usual": what one person recently drank, whoever paid.
        Index("ix_charges_drinker_id_created_at", "drinker_id", "created_at"),
    )

    id: Mapped[uuid_pk]
    store_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("stores.id"))
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    # Whose code was scanned, so whose drink it was: the customer for "pay" and "reward",
    # the friend for "allowance", the recipient for "gift" (None when a gift's claim link
    # was shown by someone without an account). "The usual" counts by this, not the payer.
    drinker_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    # What was scanned: "pay" or "reward" ("gift" redemptions will be charges too).
    kind: Mapped[str] = mapped_column(String(16), default="pay")
    # Where the code came from ("pay_code", "offline_key", "reward_code") and that row's id.
    code_source: Mapped[str] = mapped_column(String(24))
    code_source_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    # Who charged: a scanner device or a staff member.
    device_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("store_devices.id"))
    staff_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    discount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # The receipt lines of the offers (or reward) applied, as the customer read them.
    offers: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    points_earned: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    currency: Mapped[str] = mapped_column(String(3))
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    ledger_transaction_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[created_at]

    store: Mapped[Store] = relationship()
    lines: Mapped[list[ChargeLine]] = relationship(
        order_by="ChargeLine.position", lazy="selectin", cascade="all, delete-orphan"
    )
    refunds: Mapped[list[Refund]] = relationship(
        order_by="Refund.created_at", lazy="selectin", back_populates="charge"
    )

    @property
    def subtotal(self) -> int:
        return self.amount + self.discount

    @property
    def refundable(self) -> int:
        return self.amount - self.refunded_amount


class ChargeLine(Model):
    __tablename__ = "charge_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
    )

    id: Mapped[bigint_pk]
    charge_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("charges.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # "product" or "blend"
    item_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(120))
    size: Mapped[str] = mapped_column(String(2))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(BigInteger)

    @property
    def total(self) -> int:
        return self.unit_price * self.quantity


class Refund(Model):
    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_refunds_store_id_created_at", "store_id", "created_at"),
    )

    id: Mapped[uuid_pk]
    charge_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("charges.id"), index=True)
    # Denormalised from the charge so a store's daily report needs no join.
    store_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("stores.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(500))
    actor_kind: Mapped[str] = mapped_column(String(16))  # "user" or "device"
    actor_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    ledger_transaction_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    # Loyalty points this refund took back (in proportion to the charge's points).
    points_reversed: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[created_at]

    charge: Mapped[Charge] = relationship(back_populates="refunds")


class ChargeFeedback(Model):
    """The customer's rating of a charge: one per charge, never changed afterwards."""

    __tablename__ = "charge_feedback"
    __table_args__ = (
        CheckConstraint("stars BETWEEN 1 AND 5", name="stars_1_to_5"),
        # The store's daily report: its feedback in a time range.
        Index("ix_charge_feedback_store_id_created_at", "store_id", "created_at"),
    )

    id: Mapped[uuid_pk]
    charge_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("charges.id"), unique=True)
    # Denormalised from the charge, as for refunds.
    store_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("stores.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    stars: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[created_at]
