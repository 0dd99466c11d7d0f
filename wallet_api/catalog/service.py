"""The menu and the one place that prices an order line."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from wallet_api.catalog.errors import (
    IngredientNotFound,
    ItemUnavailable,
    NameTaken,
    ProductNotFound,
    SizeUnavailable,
)
from wallet_api.catalog.models import (
    Ingredient,
    IngredientKind,
    IngredientPrice,
    Product,
    ProductPrice,
    Size,
)
from wallet_api.extensions import db
from wallet_api.extensions.fixed import FixedStatement
from wallet_api.extensions.problems import ValidationFailed


@dataclass(frozen=True)
class PricedLine:
    """An order line priced now; ``snapshot`` is what the barista makes, kept forever."""

    kind: str  # "product" or "blend"
    item_id: uuid.UUID
    name: str
    size: str
    quantity: int
    unit_price: int
    snapshot: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.unit_price * self.quantity

    def receipt(self) -> dict[str, Any]:
        """The line as it appears on receipts and in wallet history."""
        data = asdict(self)
        data["item_id"] = str(self.item_id)
        data["total"] = self.total
        return data


# --- reading -----------------------------------------------------------------------------


def list_products(*, include_hidden: bool = False) -> list[Product]:
    stmt = select(Product).order_by(Product.category, Product.name)
    if not include_hidden:
        stmt = stmt.where(Product.is_available.is_(True))
    return list(db.session.scalars(stmt))


def list_ingredients(*, include_hidden: bool = False) -> list[Ingredient]:
    stmt = select(Ingredient).order_by(Ingredient.kind, Ingredient.name)
    if not include_hidden:
        stmt = stmt.where(Ingredient.is_available.is_(True))
    return list(db.session.scalars(stmt))


def get_product(product_id: uuid.UUID) -> Product:
    product = db.session.get(Product, product_id)
    if product is None:
        raise ProductNotFound()
    return product


def get_ingredient(ingredient_id: uuid.UUID) -> Ingredient:
    ingredient = db.session.get(Ingredient, ingredient_id)
    if ingredient is None:
        raise IngredientNotFound()
    return ingredient


# --- managing the menu (admins) -------------------------------------------------------


def _flush_named() -> None:
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise NameTaken("An item with this name already exists.") from exc


def create_product(data: Mapping[str, Any]) -> Product:
    prices = [ProductPrice(size=p["size"], price=p["price"]) for p in data["prices"]]
    product = Product(**{k: v for k, v in data.items() if k != "prices"}, prices=prices)
    db.session.add(product)
    _flush_named()
    return product


def _update(item: Product | Ingredient, changes: Mapping[str, Any], price_row: type) -> None:
    for name, value in changes.items():
        if name == "prices":
            # Old receipts keep their own snapshot; replacing today's prices is safe. The old
            # rows go first: the unit of work would insert the new ones before deleting.
            item.prices.clear()
            db.session.flush()
            item.prices = [price_row(size=p["size"], price=p["price"]) for p in value]
        else:
            setattr(item, name, value)
    _flush_named()


def update_product(product: Product, changes: Mapping[str, Any]) -> Product:
    _update(product, changes, ProductPrice)
    return product


def _only_bases_have_prices(kind: IngredientKind, prices: Any) -> None:
    if prices and kind != IngredientKind.BASE:
        raise ValidationFailed(errors={"prices": ["Only a base has a price per size."]})


def create_ingredient(data: Mapping[str, Any]) -> Ingredient:
    values = dict(data)
    prices = values.pop("prices", None) or []
    _only_bases_have_prices(values["kind"], prices)
    ingredient = Ingredient(
        **values, prices=[IngredientPrice(size=p["size"], price=p["price"]) for p in prices]
    )
    db.session.add(ingredient)
    _flush_named()
    return ingredient


def update_ingredient(ingredient: Ingredient, changes: Mapping[str, Any]) -> Ingredient:
    _only_bases_have_prices(ingredient.kind, changes.get("prices"))
    _update(ingredient, changes, IngredientPrice)
    return ingredient


def hide(item: Product | Ingredient) -> None:
    """ "Deleting" takes an item off the menu; history keeps referring to it."""
    item.is_available = False
    db.session.flush()


# --- pricing -----------------------------------------------------------------------------


_products, _product_prices = Product.__table__, ProductPrice.__table__
# The product and its price in the size asked, in one statement (Core, built once): this
# prices every line of every charge.
_PRODUCT_PRICE = FixedStatement(
    select(_products.c.id, _products.c.name, _products.c.is_available, _product_prices.c.price)
    .outerjoin(
        _product_prices,
        (_product_prices.c.product_id == _products.c.id)
        & (_product_prices.c.size == bindparam("size")),
    )
    .where(_products.c.id == bindparam("product_id"))
)


def price_product(product_id: uuid.UUID, size: Size | str, quantity: int = 1) -> PricedLine:
    size = Size(size)
    product = _PRODUCT_PRICE.execute({"product_id": product_id, "size": size}).one_or_none()
    if product is None or not product.is_available:
        raise ItemUnavailable(
            "This drink is not on the menu.", errors={"product_id": [str(product_id)]}
        )
    if product.price is None:
        raise SizeUnavailable(f"{product.name} is not offered in size {size.value}.")
    return PricedLine(
        kind="product",
        item_id=product.id,
        name=product.name,
        size=size.value,
        quantity=quantity,
        unit_price=product.price,
        snapshot={"product": product.name, "size": size.value},
    )


class LinePricer(Protocol):
    def __call__(
        self, item_id: uuid.UUID, size: str | None, quantity: int, /, *, viewer_id: uuid.UUID | None
    ) -> PricedLine: ...


# Order lines of items the catalog does not own (a blend: ``blend_id``) are priced by the
# domain that owns them, which builds on the catalog and registers its pricer here when the
# app is made; so the catalog never imports it. Keyed by the line's id field.
_line_pricers: dict[str, LinePricer] = {}


def register_line_pricer(id_field: str, pricer: LinePricer) -> None:
    """Price every order line that names ``id_field`` (e.g. ``blend_id``) with ``pricer``."""
    existing = _line_pricers.get(id_field)
    if existing is not None and existing is not pricer:
        raise ValueError(f"order lines with {id_field!r} are priced by {existing!r} already")
    _line_pricers[id_field] = pricer


def price_lines(
    lines: Iterable[Mapping[str, Any]], *, viewer_id: uuid.UUID | None
) -> list[PricedLine]:
    """Price order lines (``OrderLineSchema``) at today's menu prices.

    Menu products are priced here; other items by their registered pricer (blends: their
    own composition, and a line without a size takes the blend's own). ``viewer_id`` is who
    orders: an item they may not see is refused like an unknown one.
    """
    priced: list[PricedLine] = []
    for line in lines:
        quantity = line.get("quantity", 1)
        owned = next((f for f in _line_pricers if line.get(f) is not None), None)
        if owned is not None:
            pricer = _line_pricers[owned]
            priced.append(pricer(line[owned], line.get("size"), quantity, viewer_id=viewer_id))
        else:
            priced.append(price_product(line["product_id"], line["size"], quantity))
    return priced
