"""Loyalty: members and their tiers, spend, rewards and reward codes, offers, goodwill,
apologies, creator rewards and switcher bonuses. Messages to people go to the inbox of
the notifications domain (``social.notify``).

Points themselves live in the ledger (unit ``PTS``); these tables hold the reasons.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wallet_api.catalog.models import Size
from wallet_api.clock import utcnow
from wallet_api.extensions.database import (
    Model,
    UTCDateTime,
    bigint_pk,
    created_at,
    str_enum,
    uuid_pk,
)


class Tier(enum.StrEnum):
    GREEN = "green"
    SILVER = "silver"
    GOLD = "gold"
    PLATINUM = "platinum"

    @property
    def rank(self) -> int:
        return list(Tier).index(self)

    @property
    def label(self) -> str:
        return self.value.capitalize()

    def at_or_below(self) -> list[Tier]:
        return list(Tier)[: self.rank + 1]


class Member(Model):
    """A customer's tier state. No row means green with nothing to protect."""

    __tablename__ = "loyalty_members"

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), primary_key=True)
    tier: Mapped[Tier] = mapped_column(str_enum(Tier, length=16), default=Tier.GREEN)
    tier_since: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set while the spend no longer qualifies for the tier: the earliest moment it may drop.
    protected_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_drop_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[created_at]


class Spend(Model):
    """One paid charge: what it counts towards the tier and the points it earned.

    Refunds reduce ``refunded_cents`` on the charge's own row, so the spend leaves the
    qualification window on the date it was made, not on the date of the refund.
    """

    __tablename__ = "loyalty_spend"
    __table_args__ = (
        CheckConstraint("amount_cents >= 0", name="amount_not_negative"),
        CheckConstraint(
            "refunded_cents >= 0 AND refunded_cents <= amount_cents", name="refund_within_amount"
        ),
        CheckConstraint(
            "points_reversed + points_shortfall <= points_earned", name="reversal_within_earned"
        ),
        Index("ix_loyalty_spend_user_id_spent_at", "user_id", "spent_at"),
    )

    id: Mapped[bigint_pk]
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    charge_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    store_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    refunded_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    points_earned: Mapped[int] = mapped_column(BigInteger, default=0)
    points_reversed: Mapped[int] = mapped_column(BigInteger, default=0)
    # Points a refund should have taken back but that had been spent meanwhile.
    points_shortfall: Mapped[int] = mapped_column(BigInteger, default=0)
    spent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[created_at]


class Reward(Model):
    """Something points buy: a drink (any, or one product; any size, or one size)."""

    __tablename__ = "loyalty_rewards"
    __table_args__ = (CheckConstraint("points_cost > 0", name="points_cost_positive"),)

    id: Mapped[uuid_pk]
    name: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    points_cost: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("catalog_products.id"))
    size: Mapped[Size | None] = mapped_column(str_enum(Size, length=2))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[created_at]


class RewardCode(Model):
    """A single-use code for one reward. Only a SHA-256 of the code is stored."""

    __tablename__ = "loyalty_reward_codes"
    __table_args__ = (Index("ix_loyalty_reward_codes_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[uuid_pk]
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    reward_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("loyalty_rewards.id"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The last characters, so a person can tell their codes apart.
    code_hint: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(16))  # "points", "goodwill" or "birthday"
    points_spent: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[created_at]
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    redeemed_store_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # Points of an expired, unused code go back to the customer once.
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    reward: Mapped[Reward] = relationship(lazy="joined")

    def status_at(self, at: datetime) -> str:
        if self.redeemed_at is not None:
            return "redeemed"
        if self.returned_at is not None or self.expires_at <= at:
            return "expired"
        return "valid"

    @property
    def status(self) -> str:
        return self.status_at(utcnow())


class OfferKind(enum.StrEnum):
    PERCENTAGE = "percentage"
    FIXED = "fixed"
    BONUS_POINTS = "bonus_points"


class Offer(Model):
    """A discount or bonus, for a time, for a tier and above, at some or all stores.

    There is deliberately no column that could narrow an offer to new customers.
    """

    __tablename__ = "loyalty_offers"
    __table_args__ = (
        CheckConstraint("value > 0", name="value_positive"),
        CheckConstraint("kind <> 'percentage' OR value <= 100", name="percentage_at_most_100"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("min_subtotal_cents >= 0", name="min_subtotal_not_negative"),
    )

    id: Mapped[uuid_pk]
    title: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(String(500), default="")
    kind: Mapped[OfferKind] = mapped_column(str_enum(OfferKind, length=16))
    # Percent, cents or points, by kind.
    value: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # This tier and every tier above it; None is everyone.
    min_tier: Mapped[Tier | None] = mapped_column(str_enum(Tier, length=16))
    product_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("catalog_products.id"))
    min_subtotal_cents: Mapped[int] = mapped_column(Integer, default=0)
    once_per_customer: Mapped[bool] = mapped_column(default=False)
    is_welcome: Mapped[bool] = mapped_column(default=False)
    # An admin may end an offer early; it stays for the receipts that show it.
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    created_at: Mapped[created_at]

    stores: Mapped[list[OfferStore]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="OfferStore.store_id"
    )

    @property
    def store_ids(self) -> list[uuid.UUID]:
        return [s.store_id for s in self.stores]


class OfferStore(Model):
    """An offer limited to some stores has one row per store; none means every store."""

    __tablename__ = "loyalty_offer_stores"

    offer_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("loyalty_offers.id"), primary_key=True
    )
    store_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)


class OfferUse(Model):
    __tablename__ = "loyalty_offer_uses"
    __table_args__ = (
        UniqueConstraint("offer_id", "charge_id", name="uq_loyalty_offer_uses_offer_charge"),
        # Set only for once-per-customer offers: NULLs never collide, so the database
        # itself refuses a second use of such an offer, even by two charges at once.
        UniqueConstraint("once_offer_id", "user_id", name="uq_loyalty_offer_uses_once_user"),
        Index("ix_loyalty_offer_uses_user_id_offer_id", "user_id", "offer_id"),
    )

    id: Mapped[bigint_pk]
    offer_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("loyalty_offers.id"))
    once_offer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    charge_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    discount_cents: Mapped[int] = mapped_column(Integer, default=0)
    bonus_points: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SwitcherBonus(Model):
    __tablename__ = "loyalty_switcher_bonuses"

    id: Mapped[uuid_pk]
    # Once per customer, ever: the database refuses a second row.
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), unique=True)
    chain_name: Mapped[str] = mapped_column(String(80))
    points: Mapped[int] = mapped_column(Integer)
    granted_by: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    created_at: Mapped[created_at]


class Goodwill(Model):
    __tablename__ = "loyalty_goodwill"
    __table_args__ = (
        CheckConstraint(
            "(amount_cents IS NULL) <> (reward_code_id IS NULL)", name="money_or_reward"
        ),
    )

    id: Mapped[uuid_pk]
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), index=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), index=True)
    amount_cents: Mapped[int | None] = mapped_column(Integer)
    reward_code_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("loyalty_reward_codes.id")
    )
    # The charge that went wrong, when staff gave it by charge (its payer is ``user_id``).
    charge_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    reason: Mapped[str] = mapped_column(String(500))
    message: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[created_at]


class GoodwillDay(Model):
    """What one staff member gave on one UTC day; raised by a conditional update only."""

    __tablename__ = "loyalty_goodwill_days"

    staff_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    cents: Mapped[int] = mapped_column(BigInteger, default=0)
    grants: Mapped[int] = mapped_column(Integer, default=0)


class Apology(Model):
    """A 1-2 star rating answered: a sorry, and ``amount_cents`` of credit (maybe 0)."""

    __tablename__ = "loyalty_apologies"
    __table_args__ = (
        Index("ix_loyalty_apologies_store_id_created_at", "store_id", "created_at"),
        # The cool-down: this person's recent apologies.
        Index("ix_loyalty_apologies_user_id_created_at", "user_id", "created_at"),
    )

    id: Mapped[uuid_pk]
    # One apology per charge, whatever happens concurrently.
    charge_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    store_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    stars: Mapped[int] = mapped_column(Integer)
    amount_cents: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[created_at]


class BirthdayTreat(Model):
    """A birthday's free drink: a reward code that cost no points, once a year."""

    __tablename__ = "loyalty_birthday_treats"
    __table_args__ = (
        # Once per person and year, whoever runs the job, how often, and however the
        # birthday is changed meanwhile: the database refuses a second row.
        UniqueConstraint("user_id", "year", name="uq_loyalty_birthday_treats_user_year"),
    )

    id: Mapped[bigint_pk]
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    year: Mapped[int] = mapped_column(Integer)
    # The day celebrated, in the person's time zone (28 February for a 29 February
    # birthday in a common year).
    celebrated_on: Mapped[date] = mapped_column(Date)
    reward_code_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("loyalty_reward_codes.id"))
    created_at: Mapped[created_at]


class CreatorReward(Model):
    """Someone enjoyed a creator's blend (ordered or copied it); points may be 0 at the cap."""

    __tablename__ = "loyalty_creator_rewards"
    __table_args__ = (Index("ix_loyalty_creator_rewards_creator_id_at", "creator_id", "at"),)

    id: Mapped[bigint_pk]
    creator_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    blend_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    by_user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(16))  # "order" or "copy"
    points: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
