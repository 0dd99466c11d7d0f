"""Friend requests, friendships and notifications.

A friendship is one row per unordered pair, stored ordered (``user_low_id < user_high_id``)
under a unique constraint, so two requests accepted at the same moment cannot make two
friendships. Pending requests carry the same ordered pair under a partial unique index,
so two people asking each other at once leave one pending request, not two.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wallet_api.auth.models import User
from wallet_api.extensions.database import Model, UTCDateTime, created_at, str_enum, uuid_pk

_PENDING = text("status = 'pending'")


def ordered_pair(a: uuid.UUID, b: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    """The pair as stored: UUIDs compare the same in Python, PostgreSQL and SQLite (hex)."""
    return (a, b) if a < b else (b, a)


class RequestStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    # Superseded: the two became friends through another request.
    CLOSED = "closed"


class ContactKind(enum.StrEnum):
    HANDLE = "handle"
    EMAIL = "email"
    PHONE = "phone"


class FriendRequest(Model):
    """A request as the requester addressed it (``contact_kind``/``contact``).

    ``addressee_id`` is NULL when the request reached nobody: an email or phone number
    without an account, or a person who may not be asked right now by that route. The
    requester sees such a request like any other, so no answer tells whether (or whose)
    an account exists behind an email or phone number.
    """

    __tablename__ = "friend_requests"
    __table_args__ = (
        CheckConstraint("pair_low_id < pair_high_id", name="pair_ordered"),
        Index(
            "uq_friend_requests_pending_pair",
            "pair_low_id",
            "pair_high_id",
            unique=True,
            postgresql_where=_PENDING,
            sqlite_where=_PENDING,
        ),
        Index(
            "uq_friend_requests_pending_contact",
            "requester_id",
            "contact_kind",
            "contact",
            unique=True,
            postgresql_where=_PENDING,
            sqlite_where=_PENDING,
        ),
        Index("ix_friend_requests_requester_id_created_at", "requester_id", "created_at"),
        Index("ix_friend_requests_addressee_id_created_at", "addressee_id", "created_at"),
    )

    id: Mapped[uuid_pk]
    requester_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    addressee_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    pair_low_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    pair_high_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    contact_kind: Mapped[ContactKind] = mapped_column(str_enum(ContactKind, length=8))
    # Normalised as typed: a handle without '@', a lower-case email, an E.164 phone.
    contact: Mapped[str] = mapped_column(String(254))
    status: Mapped[RequestStatus] = mapped_column(
        str_enum(RequestStatus, length=16), default=RequestStatus.PENDING
    )
    created_at: Mapped[created_at]
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    requester: Mapped[User] = relationship(foreign_keys=[requester_id], lazy="selectin")

    @property
    def target(self) -> dict[str, str]:
        """Whom it was sent to, exactly as the requester named them (and nothing more).

        Showing the person behind an email or phone number would tell the requester that
        it belongs to an account; showing it for handles only would make the two
        distinguishable. So a request shows what was typed, for every kind.
        """
        return {self.contact_kind.value: self.contact}


class Friendship(Model):
    __tablename__ = "friendships"
    __table_args__ = (
        UniqueConstraint("user_low_id", "user_high_id", name="uq_friendships_pair"),
        CheckConstraint("user_low_id < user_high_id", name="pair_ordered"),
    )

    id: Mapped[uuid_pk]
    user_low_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    user_high_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), index=True)
    created_at: Mapped[created_at]

    user_low: Mapped[User] = relationship(foreign_keys=[user_low_id], lazy="selectin")
    user_high: Mapped[User] = relationship(foreign_keys=[user_high_id], lazy="selectin")

    def other(self, user_id: uuid.UUID) -> User:
        return self.user_high if self.user_low_id == user_id else self.user_low


class NotificationKind(enum.StrEnum):
    FRIEND_REQUEST = "friend_request"
    FRIEND_ACCEPTED = "friend_accepted"
    CREDIT_RECEIVED = "credit_received"
    GIFT_RECEIVED = "gift_received"
    GIFT_THANKS = "gift_thanks"
    # Loyalty: tier news, goodwill and apologies, reward codes, bonuses.
    TIER_CHANGED = "tier_changed"  # up or down a level: data.change is "up" or "down"
    TIER_PROTECTED = "tier_protected"
    TIER_KEPT = "tier_kept"
    GIFT_REDEEMED = "gift_redeemed"  # to the giver: the drink was enjoyed
    GIFT_RETURNED = "gift_returned"  # to the giver: declined or expired, money back
    ALLOWANCE_USED = "allowance_used"  # to the owner: a friend paid with it
    GOODWILL = "goodwill"
    APOLOGY = "apology"
    REWARD_EXPIRED = "reward_expired"
    SWITCHER_BONUS = "switcher_bonus"
    CREATOR_BONUS = "creator_bonus"
    RATE_VISIT = "rate_visit"  # after a charge, to the drinker: how was it? data.charge_id
    BIRTHDAY_TREAT = "birthday_treat"  # a free drink on one's birthday: data.reward_code_id


class Notification(Model):
    __tablename__ = "notifications"
    __table_args__ = (
        # The inbox, newest first, is a keyset walk over this index.
        Index("ix_notifications_user_id_created_at_id", "user_id", "created_at", "id"),
    )

    id: Mapped[uuid_pk]
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    # Stored as a plain string: a new kind needs no migration.
    kind: Mapped[NotificationKind] = mapped_column(str_enum(NotificationKind, length=40))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(String(1000), default="")
    # What the app needs to open the thing: ids of the gift, transfer, request, person.
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[created_at]
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
