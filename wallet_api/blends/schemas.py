"""Blends on the wire.

The recipe comes in slots (``base_id``, ``beans``, ``milk_id``, ``syrups``, ``toppings``,
``extras``) so that a wrong kind in a slot has a field to be reported on. The shape is
checked here (counts, ranges, shares adding up to 100, an ingredient listed twice); the
service then checks the recipe against the menu. Each layer reports every broken rule at
once, each under its own field.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from wallet_api.blends.models import Visibility
from wallet_api.catalog.models import Size
from wallet_api.catalog.schemas import PriceSchema
from wallet_api.extensions import Schema
from wallet_api.extensions.fields import StrictInteger
from wallet_api.social.schemas import PersonSchema

MAX_BEANS = 3
MAX_SYRUPS = 3
MAX_TOPPINGS = 3
MAX_EXTRAS = 3
MAX_SHOTS = 4
MAX_PUMPS = 4


def _count(low: int, high: int, what: str) -> ma.validate.Length:
    message = f"Choose {low} to {high} {what}." if low else f"Choose at most {high} {what}."
    return ma.validate.Length(min=low, max=high, error=message)


class BeanShareSchema(Schema):
    ingredient_id = ma.fields.UUID(required=True, metadata={"description": "A bean origin"})
    share = StrictInteger(
        required=True,
        validate=ma.validate.Range(min=1, max=100),
        metadata={"description": "Percent of the beans; the shares add up to 100"},
    )


class SyrupPumpsSchema(Schema):
    ingredient_id = ma.fields.UUID(required=True, metadata={"description": "A syrup"})
    pumps = StrictInteger(required=True, validate=ma.validate.Range(min=1, max=MAX_PUMPS))


_ID_LISTS = ("toppings", "extras")
_OBJECT_LISTS = ("beans", "syrups")


class BlendCreateSchema(Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=80))
    base_id = ma.fields.UUID(
        required=True,
        metadata={"description": "An ingredient of kind `base` (espresso, filter, ...)"},
    )
    size = ma.fields.Enum(Size, by_value=True, required=True)
    shots = StrictInteger(load_default=1, validate=ma.validate.Range(min=1, max=MAX_SHOTS))
    beans = ma.fields.List(
        ma.fields.Nested(BeanShareSchema),
        required=True,
        validate=_count(1, MAX_BEANS, "bean origins"),
    )
    milk_id = ma.fields.UUID(load_default=None, allow_none=True)
    syrups = ma.fields.List(
        ma.fields.Nested(SyrupPumpsSchema),
        load_default=list,
        validate=_count(0, MAX_SYRUPS, "syrups"),
    )
    toppings = ma.fields.List(
        ma.fields.UUID(), load_default=list, validate=_count(0, MAX_TOPPINGS, "toppings")
    )
    extras = ma.fields.List(
        ma.fields.UUID(), load_default=list, validate=_count(0, MAX_EXTRAS, "extras")
    )
    notes = ma.fields.String(load_default="", validate=ma.validate.Length(max=280))
    visibility = ma.fields.Enum(Visibility, by_value=True, load_default=Visibility.PRIVATE)

    @ma.validates_schema(skip_on_field_errors=False)
    def _shares_add_up(self, data: dict[str, Any], **kwargs: Any) -> None:
        # This runs after field errors too, so a bean whose share was refused has none here;
        # its own error says so, and a sum without it would be a second, wrong message.
        shares = [bean.get("share") for bean in data.get("beans") or []]
        if shares and None not in shares and (total := sum(shares)) != 100:
            raise ma.ValidationError(f"The shares add up to {total}%, not 100%.", "beans")

    @ma.validates_schema(skip_on_field_errors=False)
    def _each_ingredient_once(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, Any] = {}
        for slot in (*_OBJECT_LISTS, *_ID_LISTS):
            seen = set()
            for index, item in enumerate(data.get(slot) or []):
                ingredient_id = item.get("ingredient_id") if slot in _OBJECT_LISTS else item
                if ingredient_id is None:  # refused by its own field, reported there
                    continue
                if ingredient_id in seen:
                    message = ["This ingredient is already in the blend."]
                    error: Any = {"ingredient_id": message} if slot in _OBJECT_LISTS else message
                    errors.setdefault(slot, {})[index] = error
                seen.add(ingredient_id)
        if errors:
            raise ma.ValidationError(errors)


# Fields a PATCH may leave out: all of them; a list given replaces the whole list.
class BlendPatchSchema(BlendCreateSchema):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("partial", tuple(BlendCreateSchema._declared_fields))
        super().__init__(**kwargs)


class CopySchema(Schema):
    name = ma.fields.String(
        validate=ma.validate.Length(min=1, max=80),
        metadata={"description": "Defaults to the original's name"},
    )
    visibility = ma.fields.Enum(Visibility, by_value=True, load_default=Visibility.PRIVATE)


# --- answers ----------------------------------------------------------------------------


class IngredientRefSchema(Schema):
    ingredient_id = ma.fields.UUID(required=True)
    name = ma.fields.String(required=True)
    on_menu = ma.fields.Boolean(
        required=True, metadata={"description": "False once the menu dropped it"}
    )


class BeanOutSchema(IngredientRefSchema):
    origin = ma.fields.String(allow_none=True)
    share = ma.fields.Integer(required=True)


class SyrupOutSchema(IngredientRefSchema):
    pumps = ma.fields.Integer(required=True)


class RatingSummarySchema(Schema):
    average = ma.fields.Float(
        allow_none=True,
        metadata={"description": "Mean stars of the counted ratings (verified, not the creator's)"},
    )
    count = ma.fields.Integer(
        required=True, metadata={"description": "Counted ratings: verified, not the creator's"}
    )


class MyRatingSchema(Schema):
    stars = ma.fields.Integer(required=True)
    comment = ma.fields.String(required=True)
    updated_at = ma.fields.AwareDateTime(required=True)


class BlendSchema(Schema):
    id = ma.fields.UUID(required=True)
    name = ma.fields.String(required=True)
    creator = ma.fields.Nested(PersonSchema, required=True)
    visibility = ma.fields.Enum(Visibility, by_value=True, required=True)
    size = ma.fields.Enum(Size, by_value=True, required=True)
    base = ma.fields.Nested(IngredientRefSchema, required=True)
    shots = ma.fields.Integer(required=True)
    beans = ma.fields.List(ma.fields.Nested(BeanOutSchema), required=True)
    milk = ma.fields.Nested(IngredientRefSchema, allow_none=True, required=True)
    syrups = ma.fields.List(ma.fields.Nested(SyrupOutSchema), required=True)
    toppings = ma.fields.List(ma.fields.Nested(IngredientRefSchema), required=True)
    extras = ma.fields.List(ma.fields.Nested(IngredientRefSchema), required=True)
    notes = ma.fields.String(required=True)
    currency = ma.fields.String(required=True)
    price = ma.fields.Integer(
        allow_none=True,
        required=True,
        metadata={"description": "Today's price in cents at the blend's size"},
    )
    prices = ma.fields.List(
        ma.fields.Nested(PriceSchema),
        required=True,
        metadata={"description": "Today's price for each size the base is offered in"},
    )
    orderable = ma.fields.Boolean(
        required=True,
        metadata={"description": "Every ingredient is on the menu and the size is offered"},
    )
    rating = ma.fields.Nested(RatingSummarySchema, required=True)
    my_rating = ma.fields.Nested(MyRatingSchema, allow_none=True, required=True)
    orders_count = ma.fields.Integer(
        required=True, metadata={"description": "Cups ordered by others, copies included"}
    )
    copies_count = ma.fields.Integer(required=True)
    enjoyed_by = ma.fields.Integer(
        required=True, metadata={"description": "People who ordered or copied it"}
    )
    copied_from_id = ma.fields.UUID(allow_none=True, required=True)
    original_creator = ma.fields.Nested(
        PersonSchema, allow_none=True, required=True, metadata={"description": "Credited"}
    )
    created_at = ma.fields.AwareDateTime(required=True)
    updated_at = ma.fields.AwareDateTime(required=True)


class RatingInSchema(Schema):
    stars = StrictInteger(required=True, validate=ma.validate.Range(min=1, max=5))
    comment = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(max=500),
        metadata={"description": "Left out when rating again: the earlier comment stays"},
    )


class RatingSchema(Schema):
    id = ma.fields.UUID(required=True)
    blend_id = ma.fields.UUID(required=True)
    rater = ma.fields.Nested(PersonSchema, required=True)
    stars = ma.fields.Integer(required=True)
    comment = ma.fields.String(required=True)
    by_creator = ma.fields.Boolean(
        required=True, metadata={"description": "The creator's own rating: not counted"}
    )
    verified = ma.fields.Boolean(
        required=True,
        metadata={
            "description": "The rater has had this blend (the drinker of an order or gift of "
            "it or of a copy made from it): only verified ratings by others than the "
            "creator count toward its rating and the top-10"
        },
    )
    created_at = ma.fields.AwareDateTime(required=True)
    updated_at = ma.fields.AwareDateTime(required=True)


WINDOWS = ("7d", "30d", "all")


class TopArgsSchema(Schema):
    window = ma.fields.String(load_default="7d", validate=ma.validate.OneOf(WINDOWS))
    limit = ma.fields.Integer(load_default=10, validate=ma.validate.Range(min=1, max=50))


class TopEntrySchema(Schema):
    rank = ma.fields.Integer(required=True)
    score = ma.fields.Float(required=True)
    weighted_rating = ma.fields.Float(
        required=True, metadata={"description": "Bayesian average of the stars"}
    )
    orders = ma.fields.Integer(required=True, metadata={"description": "In the window"})
    copies = ma.fields.Integer(required=True, metadata={"description": "In the window"})
    blend = ma.fields.Nested(BlendSchema, required=True)


class TopSchema(Schema):
    window = ma.fields.String(required=True)
    items = ma.fields.List(ma.fields.Nested(TopEntrySchema), required=True)
