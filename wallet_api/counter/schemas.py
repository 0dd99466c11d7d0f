from collections.abc import Mapping
from typing import Any

import marshmallow as ma

from wallet_api.catalog.schemas import OrderLineSchema
from wallet_api.extensions import Schema
from wallet_api.extensions.fields import Cents, StrictInteger
from wallet_api.stores.schemas import StoreRefSchema

_CODE = ma.fields.String(
    required=True,
    validate=ma.validate.Length(min=1, max=64),
    metadata={"description": "The scanned text: a pay, offline, gift or reward code"},
)
_STORE_ID = ma.fields.UUID(
    load_default=None,
    metadata={"description": "The store staff work at; a device's token already says it"},
)


class ScanSchema(Schema):
    code = _CODE
    store_id = _STORE_ID
    amount = Cents(load_default=None, metadata={"description": "Does the balance cover this?"})


class UsualSchema(Schema):
    kind = ma.fields.String(required=True)
    item_id = ma.fields.UUID(required=True)
    name = ma.fields.String(required=True)
    size = ma.fields.String(required=True)
    times = ma.fields.Integer(required=True, metadata={"description": "ordered in 90 days"})


class CustomerSchema(Schema):
    first_name = ma.fields.String(required=True)


class ScanPreviewSchema(Schema):
    kind = ma.fields.String(
        required=True,
        metadata={
            "description": "pay, allowance (paid from a friend's allowance), gift "
            "or reward: what a charge of it does"
        },
    )
    customer = ma.fields.Nested(
        CustomerSchema,
        required=True,
        allow_none=True,
        metadata={"description": "null for a gift shown from its web page (no account)"},
    )
    greeting = ma.fields.String(required=True)
    the_usual = ma.fields.Nested(UsualSchema, allow_none=True, required=True)
    amount = ma.fields.Integer(allow_none=True, required=True)
    balance_covers = ma.fields.Boolean(
        allow_none=True, required=True, metadata={"description": "null without an amount"}
    )
    expires_at = ma.fields.AwareDateTime(allow_none=True, required=True)
    details = ma.fields.Dict(
        required=True,
        metadata={
            "description": "What a code contains. A reward code: {reward: {id, name, "
            "description, product_id (null: any drink), size (null: any size)}, message}"
        },
    )


class ChargeCreateSchema(Schema):
    code = _CODE
    store_id = _STORE_ID
    items = ma.fields.List(
        ma.fields.Nested(OrderLineSchema),
        validate=ma.validate.Length(min=1, max=20),
        metadata={
            "description": "Priced on the server from the menu. Give items or amount, "
            "except for a gift code (redeemed as it was given, with neither); a reward code "
            "takes exactly one drink of the reward's kind"
        },
    )
    amount = Cents(maximum=100_000, metadata={"description": "A plain till amount instead"})

    @ma.validates_schema
    def _items_or_amount(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        # Neither is checked by the kind of code: a gift is redeemed with the code alone.
        if "items" in data and "amount" in data:
            raise ma.ValidationError("Give either items or amount.", "items")


class ChargeLineSchema(Schema):
    kind = ma.fields.String(required=True)
    item_id = ma.fields.UUID(required=True)
    name = ma.fields.String(required=True)
    size = ma.fields.String(required=True)
    quantity = ma.fields.Integer(required=True)
    unit_price = ma.fields.Integer(required=True)
    total = ma.fields.Integer(required=True)


class RefundCreateSchema(Schema):
    amount = Cents(required=True)
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=500))


class RefundSchema(Schema):
    id = ma.fields.UUID(required=True)
    charge_id = ma.fields.UUID(required=True)
    amount = ma.fields.Integer(required=True)
    reason = ma.fields.String(required=True)
    points_reversed = ma.fields.Integer(
        required=True,
        metadata={"description": "Loyalty points taken back, in proportion to the charge"},
    )
    created_at = ma.fields.AwareDateTime(required=True)


class ChargeSchema(Schema):
    id = ma.fields.UUID(required=True)
    kind = ma.fields.String(required=True)
    store = ma.fields.Nested(StoreRefSchema, required=True)
    customer_id = ma.fields.UUID(required=True)
    subtotal = ma.fields.Integer(
        required=True, metadata={"description": "The items at menu prices (or the till amount)"}
    )
    discount = ma.fields.Integer(
        required=True,
        metadata={"description": "Taken off by offers, or the whole price for a reward"},
    )
    offers = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={"description": "Receipt lines of the offers (or reward) applied"},
    )
    amount = ma.fields.Integer(
        required=True, metadata={"description": "What the wallet paid: subtotal - discount"}
    )
    points_earned = ma.fields.Integer(
        required=True, metadata={"description": "Loyalty points this charge earned"}
    )
    currency = ma.fields.String(required=True)
    refunded_amount = ma.fields.Integer(required=True)
    items = ma.fields.List(ma.fields.Nested(ChargeLineSchema), required=True, attribute="lines")
    refunds = ma.fields.List(ma.fields.Nested(RefundSchema), required=True)
    created_at = ma.fields.AwareDateTime(required=True)


class ChargeCreatedSchema(Schema):
    charge = ma.fields.Nested(ChargeSchema, required=True)
    balance = ma.fields.Integer(
        required=True,
        allow_none=True,
        metadata={
            "description": "pay: the wallet after it; allowance: what is left of the "
            "allowance this period; gift: null"
        },
    )
    currency = ma.fields.String(required=True)
    greeting = ma.fields.String(required=True)


class FeedbackCreateSchema(Schema):
    stars = StrictInteger(required=True, validate=ma.validate.Range(min=1, max=5))
    comment = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))


class ApologySchema(Schema):
    amount = ma.fields.Integer(
        required=True,
        metadata={
            "description": "Credited to the wallet: 0 when the visit cost the rater nothing "
            "(a gift, an allowance, a reward, a full refund), after a credit in the "
            "cool-down, or when the wallet was full"
        },
    )
    currency = ma.fields.String(required=True)


class FeedbackSchema(Schema):
    id = ma.fields.UUID(required=True)
    charge_id = ma.fields.UUID(required=True)
    stars = ma.fields.Integer(required=True)
    comment = ma.fields.String(required=True)
    apology = ma.fields.Nested(
        ApologySchema,
        required=True,
        allow_none=True,
        metadata={"description": "The apology of a 1-2 star rating; null otherwise"},
    )
    apology_credited = ma.fields.Boolean(
        required=True, metadata={"description": "Whether money was credited as an apology"}
    )
    message = ma.fields.String(
        required=True, metadata={"description": "What to tell the customer, by first name"}
    )
    created_at = ma.fields.AwareDateTime(required=True)
