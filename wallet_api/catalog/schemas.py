from collections.abc import Mapping, Sequence
from typing import Any

import marshmallow as ma

from wallet_api.catalog.models import IngredientKind, Size
from wallet_api.extensions import Schema
from wallet_api.extensions.fields import Cents, StrictBoolean, StrictInteger

SIZES = [s.value for s in Size]


class PriceSchema(Schema):
    size = ma.fields.Enum(Size, by_value=True, required=True)
    price = Cents(required=True, maximum=100_00)


def _unique_sizes(prices: Sequence[Mapping[str, Any]]) -> None:
    sizes = [p["size"] for p in prices]
    if len(sizes) != len(set(sizes)):
        raise ma.ValidationError("Each size appears once.")


def _prices(fewest: int = 1, **kwargs: Any) -> ma.fields.List[dict[str, Any]]:
    return ma.fields.List(
        ma.fields.Nested(PriceSchema),
        validate=[ma.validate.Length(min=fewest, max=len(SIZES)), _unique_sizes],
        **kwargs,
    )


class ProductSchema(Schema):
    id = ma.fields.UUID(dump_only=True)
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=80))
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))
    category = ma.fields.String(load_default="coffee", validate=ma.validate.Length(min=1, max=40))
    prices = _prices(required=True)
    is_available = StrictBoolean(load_default=True)


class ProductPatchSchema(Schema):
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=80))
    description = ma.fields.String(validate=ma.validate.Length(max=500))
    category = ma.fields.String(validate=ma.validate.Length(min=1, max=40))
    prices = _prices()
    is_available = StrictBoolean()


_BASE_PRICES = {
    "description": "Bases only: the price of a blend's cup per size, before shots (each "
    "shot adds the base's price_delta) and other ingredients. Empty for every other kind, "
    "and for a base not yet sold in any size (a blend on it is refused until it is)."
}


class IngredientSchema(Schema):
    id = ma.fields.UUID(dump_only=True)
    kind = ma.fields.Enum(IngredientKind, by_value=True, required=True)
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=80))
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))
    price_delta = Cents(load_default=0, minimum=0, maximum=10_00)
    origin = ma.fields.String(load_default=None, allow_none=True)
    is_available = StrictBoolean(load_default=True)
    prices = _prices(fewest=0, load_default=None, metadata=_BASE_PRICES)


class IngredientPatchSchema(Schema):
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=80))
    description = ma.fields.String(validate=ma.validate.Length(max=500))
    price_delta = Cents(minimum=0, maximum=10_00)
    origin = ma.fields.String(allow_none=True)
    is_available = StrictBoolean()
    prices = _prices(fewest=0, metadata=_BASE_PRICES)


class CatalogSchema(Schema):
    currency = ma.fields.String(required=True)
    sizes = ma.fields.List(ma.fields.String(), required=True)
    products = ma.fields.List(ma.fields.Nested(ProductSchema), required=True)
    ingredients = ma.fields.List(ma.fields.Nested(IngredientSchema), required=True)


class OrderLineSchema(Schema):
    """One line of an order: a standard drink or a blend, a size, a quantity."""

    product_id = ma.fields.UUID(load_default=None)
    blend_id = ma.fields.UUID(load_default=None)
    size = ma.fields.Enum(Size, by_value=True, load_default=None)
    quantity = StrictInteger(load_default=1, validate=ma.validate.Range(min=1, max=20))

    @ma.validates_schema
    def _one_item(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if (data.get("product_id") is None) == (data.get("blend_id") is None):
            raise ma.ValidationError("Give exactly one of product_id or blend_id.", "product_id")
        if data.get("product_id") is not None and data.get("size") is None:
            raise ma.ValidationError("A standard drink needs a size.", "size")
