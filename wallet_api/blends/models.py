"""Custom blends, their ratings, and the counters the top-10 reads.

A blend is a recipe over catalog ingredients; its price is never stored but computed from
the menu when it is shown or ordered (see ``service.price_of``). Deleting a blend is soft
(``deleted_at``): copies keep pointing at it, receipts and gifts keep their own snapshot.

The ranking reads maintained counters rather than the ratings themselves, all changed in
the same transaction as the rating, order or copy: ``rating_count``/``rating_sum`` and
``ref_rating`` on the blend, the totals of all counted ratings in ``blend_rating_totals``,
and order/copy counts per blend per day in ``blend_daily_stats``.

A rating is *counted* when it is ``verified`` (the rater has had the blend, see
``BlendRating.verified``) and not by the blend's creator. Other ratings are kept and
shown, marked, but rank nothing: an account made a minute ago cannot rate a blend up.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wallet_api.auth.models import User
from wallet_api.catalog.models import Ingredient, IngredientKind, Size
from wallet_api.extensions.database import (
    Model,
    UTCDateTime,
    bigint_pk,
    created_at,
    str_enum,
    uuid_pk,
)


class Visibility(enum.StrEnum):
    PRIVATE = "private"
    FRIENDS = "friends"
    PUBLIC = "public"


# The rows the top-10 ranks: public, not deleted, with a counted rating.
# The partial index holds exactly these rows, ordered by ``ref_rating``, with every column
# the ranking reads: the top-10 reads the best few hundred entries, not every blend.
RANKED = "visibility = 'public' AND deleted_at IS NULL AND rating_count > 0"
# ``ref_rating`` is the Bayesian rating at this fixed mean (see service.top_blends).
PRIOR_VOTES = 10
REF_MEAN = 3.5
TOTALS_SHARDS = 16


class Blend(Model):
    __tablename__ = "blends"
    __table_args__ = (
        CheckConstraint("shots BETWEEN 1 AND 4", name="shots_range"),
        CheckConstraint("rating_count >= 0 AND rating_sum >= rating_count", name="rating_totals"),
        CheckConstraint("orders_count >= 0 AND copies_count >= 0", name="counts_not_negative"),
        Index("ix_blends_owner_created", "owner_id", "created_at", "id"),
        Index(
            "ix_blends_ranked",
            "ref_rating",
            "rating_count",
            "rating_sum",
            "orders_count",
            "copies_count",
            "id",
            postgresql_where=text(RANKED),
            sqlite_where=text(RANKED),
        ),
    )

    id: Mapped[uuid_pk]
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(80))
    size: Mapped[Size] = mapped_column(str_enum(Size, length=2))
    base_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("catalog_ingredients.id"))
    shots: Mapped[int] = mapped_column(Integer)
    milk_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("catalog_ingredients.id"))
    notes: Mapped[str] = mapped_column(String(280), default="")
    visibility: Mapped[Visibility] = mapped_column(
        str_enum(Visibility, length=16), default=Visibility.PRIVATE
    )
    # "One of what they're having": the blend this one was copied from, and the original at
    # the root of that chain, whose creator is credited (kept even if the original goes).
    copied_from_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("blends.id"))
    origin_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("blends.id"))
    original_creator_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    # Counted ratings only (module docstring), maintained in the transaction of the rating
    # or of the charge that verified it.
    rating_count: Mapped[int] = mapped_column(Integer, default=0)
    rating_sum: Mapped[int] = mapped_column(Integer, default=0)
    # (rating_sum + PRIOR_VOTES x REF_MEAN) / (rating_count + PRIOR_VOTES), kept with them.
    ref_rating: Mapped[float] = mapped_column(Double, default=REF_MEAN)
    # Orders (cups) and copies by people other than the owner, all time; per day below.
    orders_count: Mapped[int] = mapped_column(Integer, default=0)
    copies_count: Mapped[int] = mapped_column(Integer, default=0)
    # Distinct people other than the owner who ordered or copied it.
    enjoyed_by: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[created_at]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    owner: Mapped[User] = relationship(foreign_keys=[owner_id], lazy="joined", innerjoin=True)
    original_creator: Mapped[User | None] = relationship(
        foreign_keys=[original_creator_id], lazy="selectin"
    )
    # Ingredients are few and shared by many blends: lists load the ones they need in one
    # query (service.present_all) and these find them in the session without asking again.
    base: Mapped[Ingredient] = relationship(foreign_keys=[base_id])
    milk: Mapped[Ingredient | None] = relationship(foreign_keys=[milk_id])
    components: Mapped[list[BlendComponent]] = relationship(
        back_populates="blend",
        cascade="all, delete-orphan",
        order_by=lambda: (BlendComponent.kind, BlendComponent.position),
        lazy="selectin",
    )

    def of_kind(self, kind: IngredientKind) -> list[BlendComponent]:
        return [c for c in self.components if c.kind == kind]


class BlendComponent(Model):
    """A bean origin (``amount`` = share in %), a syrup (pumps), a topping or an extra (1)."""

    __tablename__ = "blend_components"
    __table_args__ = (
        UniqueConstraint("blend_id", "ingredient_id", name="uq_blend_components_ingredient"),
        CheckConstraint("amount BETWEEN 1 AND 100", name="amount_range"),
    )

    id: Mapped[bigint_pk]
    blend_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("blends.id"))
    ingredient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("catalog_ingredients.id"))
    kind: Mapped[IngredientKind] = mapped_column(str_enum(IngredientKind, length=16))
    position: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(Integer)

    blend: Mapped[Blend] = relationship(back_populates="components")
    ingredient: Mapped[Ingredient] = relationship()


class BlendRating(Model):
    __tablename__ = "blend_ratings"
    __table_args__ = (
        UniqueConstraint("blend_id", "user_id", name="uq_blend_ratings_blend_user"),
        CheckConstraint("stars BETWEEN 1 AND 5", name="stars_range"),
        Index("ix_blend_ratings_blend_updated", "blend_id", "updated_at", "id"),
    )

    id: Mapped[uuid_pk]
    blend_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("blends.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    stars: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(String(500), default="")
    # The rater has had the blend: was the drinker of a charge line (ordered, on an
    # allowance, a gift made for them) of it, of a copy made from it or, for an original,
    # of any copy down its chain (the blends ``copied_from_id``/``origin_id`` point at).
    # Set when rating, or by the charge for a rating made before; never unset (a refund
    # leaves it: they had the drink).
    verified: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[created_at]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)
    blend: Mapped[Blend] = relationship()


class BlendRatingTotals(Model):
    """Sum and count of every counted rating, over all blends.

    Their ratio is the mean C of the ranking. Spread over ``TOTALS_SHARDS`` rows by blend,
    so that ratings of different blends rarely wait for one another's row lock.
    """

    __tablename__ = "blend_rating_totals"

    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rating_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    rating_count: Mapped[int] = mapped_column(BigInteger, default=0)


class BlendDailyStats(Model):
    """Orders (cups) and copies of a blend by people other than its owner, per UTC day.

    The ranking looks up only its candidates' days, by the primary key (blend_id, day).
    """

    __tablename__ = "blend_daily_stats"
    __table_args__ = (CheckConstraint("orders >= 0 AND copies >= 0", name="counts_not_negative"),)

    blend_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("blends.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    orders: Mapped[int] = mapped_column(Integer, default=0)
    copies: Mapped[int] = mapped_column(Integer, default=0)


class BlendEnjoyer(Model):
    """Someone other than the owner who ordered or copied the blend ("enjoyed by N")."""

    __tablename__ = "blend_enjoyers"

    blend_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("blends.id"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), primary_key=True)
    created_at: Mapped[created_at]
