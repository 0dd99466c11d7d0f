from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import marshmallow as ma

from wallet_api.extensions import Schema
from wallet_api.extensions.fields import StrictBoolean


def _known_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ma.ValidationError("Not a known IANA time zone, e.g. Europe/Amsterdam.") from exc


class StoreSchema(Schema):
    id = ma.fields.UUID(dump_only=True)
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=120))
    address = ma.fields.String(load_default="", validate=ma.validate.Length(max=300))
    timezone = ma.fields.String(
        required=True,
        validate=[ma.validate.Length(max=64), _known_timezone],
        metadata={"description": "IANA time zone; greetings and daily reports use it"},
    )
    is_open = StrictBoolean(load_default=True)
    created_at = ma.fields.AwareDateTime(dump_only=True)


class StorePatchSchema(Schema):
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=120))
    address = ma.fields.String(validate=ma.validate.Length(max=300))
    is_open = StrictBoolean(metadata={"description": "false closes the store to charges"})


class StaffAddSchema(Schema):
    user_id = ma.fields.UUID(required=True)


class MembershipSchema(Schema):
    store_id = ma.fields.UUID(required=True)
    user_id = ma.fields.UUID(required=True)
    first_name = ma.fields.String(required=True)
    role = ma.fields.String(required=True)
    created_at = ma.fields.AwareDateTime(required=True)


class DeviceCreateSchema(Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=80))


class DeviceCreatedSchema(Schema):
    device_id = ma.fields.UUID(required=True, attribute="id")
    store_id = ma.fields.UUID(required=True)
    name = ma.fields.String(required=True)
    device_secret = ma.fields.String(
        required=True, metadata={"description": "Shown once; trade it for a device token"}
    )
    created_at = ma.fields.AwareDateTime(required=True)


class DeviceTokenRequestSchema(Schema):
    device_id = ma.fields.UUID(required=True)
    device_secret = ma.fields.String(
        required=True, load_only=True, validate=ma.validate.Length(max=200)
    )


class DeviceTokenSchema(Schema):
    access_token = ma.fields.String(required=True)
    token_type = ma.fields.String(required=True)
    expires_in = ma.fields.Integer(required=True, metadata={"description": "seconds"})
    device_id = ma.fields.UUID(required=True)
    store_id = ma.fields.UUID(required=True)


class StoreRefSchema(Schema):
    id = ma.fields.UUID(required=True)
    name = ma.fields.String(required=True)


class ReportArgsSchema(Schema):
    date = ma.fields.Date(
        load_default=None, metadata={"description": "YYYY-MM-DD in the store's time zone"}
    )


class TotalSchema(Schema):
    count = ma.fields.Integer(required=True)
    amount = ma.fields.Integer(required=True)


class KindTotalSchema(TotalSchema):
    kind = ma.fields.String(required=True)


class TopItemSchema(Schema):
    kind = ma.fields.String(required=True, metadata={"description": "product or blend"})
    item_id = ma.fields.UUID(required=True)
    name = ma.fields.String(required=True)
    quantity = ma.fields.Integer(required=True)
    amount = ma.fields.Integer(required=True)


class FeedbackTotalSchema(Schema):
    count = ma.fields.Integer(required=True)
    average_stars = ma.fields.Float(
        required=True, allow_none=True, metadata={"description": "null without ratings"}
    )


class DailyReportSchema(Schema):
    store = ma.fields.Nested(StoreRefSchema, required=True)
    date = ma.fields.Date(required=True)
    timezone = ma.fields.String(required=True)
    currency = ma.fields.String(required=True)
    start = ma.fields.AwareDateTime(required=True, metadata={"description": "local midnight"})
    end = ma.fields.AwareDateTime(required=True)
    charges = ma.fields.Nested(TotalSchema, required=True)
    refunds = ma.fields.Nested(TotalSchema, required=True)
    net = ma.fields.Integer(required=True, metadata={"description": "charges minus refunds"})
    by_kind = ma.fields.List(
        ma.fields.Nested(KindTotalSchema),
        required=True,
        metadata={"description": "Charges by kind of code: pay, and gift/reward redemptions"},
    )
    top_items = ma.fields.List(ma.fields.Nested(TopItemSchema), required=True)
    promotions = ma.fields.Nested(
        TotalSchema,
        required=True,
        metadata={
            "description": "Charges with offer discounts or rewards, and what those took off "
            "the menu price (paid to the store by the chain's promotions account)"
        },
    )
    feedback = ma.fields.Nested(
        FeedbackTotalSchema,
        required=True,
        metadata={"description": "Ratings given this day of the store's charges"},
    )
    apologies = ma.fields.Nested(
        TotalSchema,
        required=True,
        metadata={"description": "Apology credits for 1-2 star ratings this day"},
    )
