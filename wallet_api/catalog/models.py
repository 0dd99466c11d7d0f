"""The menu: standard drinks with a price per size, and ingredients with price deltas.

Nothing here is ever deleted: hiding an item (``is_available = False``) takes it off the
menu, while old receipts, blends and gifts keep the snapshot they were made with.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import (
    Case,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
    case,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wallet_api.extensions.database import Model, created_at, str_enum, uuid_pk


class Size(enum.StrEnum):
    S = "S"
    M = "M"
    L = "L"


class IngredientKind(enum.StrEnum):
    BEAN = "bean"
    BASE = "base"
    MILK = "milk"
    SYRUP = "syrup"
    TOPPING = "topping"
    EXTRA = "extra"


def _size_order(price: type[ProductPrice] | type[IngredientPrice]) -> Case[int]:
    """S, M, L rather than alphabetical."""
    return case({s.value: i for i, s in enumerate(Size)}, value=price.size)


class _SizePrice(Protocol):
    @property
    def size(self) -> Size: ...
    @property
    def price(self) -> int: ...


class _HasPrices(Protocol):
    """What ``price_for`` needs of the model it is mixed into: its price rows."""

    @property
    def prices(self) -> Sequence[_SizePrice]: ...


class _PricedPerSize:
    """A ``prices`` relationship with one row per size."""

    def price_for(self: _HasPrices, size: Size) -> int | None:
        return next((p.price for p in self.prices if p.size == size), None)


class Product(_PricedPerSize, Model):
    __tablename__ = "catalog_products"

    id: Mapped[uuid_pk]
    name: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    category: Mapped[str] = mapped_column(String(40), default="coffee")
    is_available: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[created_at]

    prices: Mapped[list[ProductPrice]] = relationship(
        back_populates="product",
        cascade="all, delete-orphan",
        order_by=lambda: _size_order(ProductPrice),
        lazy="selectin",
    )


class ProductPrice(Model):
    __tablename__ = "catalog_product_prices"
    __table_args__ = (
        UniqueConstraint("product_id", "size", name="uq_catalog_product_prices_product_size"),
        CheckConstraint("price > 0", name="price_positive"),
    )

    id: Mapped[uuid_pk]
    product_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("catalog_products.id"))
    size: Mapped[Size] = mapped_column(str_enum(Size, length=2))
    price: Mapped[int] = mapped_column(Integer)

    product: Mapped[Product] = relationship(back_populates="prices")


class Ingredient(_PricedPerSize, Model):
    __tablename__ = "catalog_ingredients"
    __table_args__ = (
        UniqueConstraint("kind", "name", name="uq_catalog_ingredients_kind_name"),
        CheckConstraint("price_delta >= 0", name="price_delta_not_negative"),
    )

    id: Mapped[uuid_pk]
    kind: Mapped[IngredientKind] = mapped_column(str_enum(IngredientKind, length=16))
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(String(500), default="")
    # Cents added per unit (a shot, a pump, a portion); beans add theirs once per drink,
    # weighted by their share. A base's delta is its price per shot.
    price_delta: Mapped[int] = mapped_column(Integer, default=0)
    origin: Mapped[str | None] = mapped_column(String(80))
    is_available: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[created_at]

    # Only bases have these: the price of a blend's cup per size, before shots and extras.
    prices: Mapped[list[IngredientPrice]] = relationship(
        back_populates="ingredient",
        cascade="all, delete-orphan",
        order_by=lambda: _size_order(IngredientPrice),
        lazy="selectin",
    )


class IngredientPrice(Model):
    __tablename__ = "catalog_ingredient_prices"
    __table_args__ = (
        UniqueConstraint(
            "ingredient_id", "size", name="uq_catalog_ingredient_prices_ingredient_size"
        ),
        CheckConstraint("price > 0", name="price_positive"),
    )

    id: Mapped[uuid_pk]
    ingredient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("catalog_ingredients.id"))
    size: Mapped[Size] = mapped_column(str_enum(Size, length=2))
    price: Mapped[int] = mapped_column(Integer)

    ingredient: Mapped[Ingredient] = relationship(back_populates="prices")
