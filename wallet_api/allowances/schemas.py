from datetime import datetime
from typing import Any

import marshmallow as ma

from wallet_api.allowances.models import Period
from wallet_api.clock import utcnow
from wallet_api.extensions import Schema
from wallet_api.extensions.fields import Cents
from wallet_api.social.schemas import PersonSchema
from wallet_api.stores.schemas import StoreRefSchema

PERIODS = "UTC calendar periods: a day from 00:00 UTC, a week from Monday 00:00 UTC, a month "
PERIODS += "from the 1st 00:00 UTC"


class AllowanceCreateSchema(Schema):
    grantee = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=64),
        metadata={"description": "a friend's user id or handle (with or without '@')"},
    )
    amount = Cents(required=True, maximum=100_000, metadata={"description": "cents per period"})
    period = ma.fields.Enum(Period, by_value=True, required=True, metadata={"description": PERIODS})
    expires_at = ma.fields.AwareDateTime(
        load_default=None, allow_none=True, metadata={"description": "optional end"}
    )

    @ma.validates("expires_at")
    def _in_the_future(self, value: datetime | None, **kwargs: Any) -> None:
        if value is not None and value <= utcnow():
            raise ma.ValidationError("An allowance ends in the future.")


class AllowanceUseSchema(Schema):
    charge_id = ma.fields.UUID(required=True)
    store = ma.fields.Nested(StoreRefSchema, required=True)
    amount = ma.fields.Integer(required=True)
    refunded = ma.fields.Integer(
        required=True,
        metadata={"description": "cents refunded of this charge; they count as unused"},
    )
    created_at = ma.fields.AwareDateTime(required=True)


class AllowanceSchema(Schema):
    id = ma.fields.UUID(required=True)
    owner = ma.fields.Nested(PersonSchema, required=True, metadata={"description": "who pays"})
    grantee = ma.fields.Nested(PersonSchema, required=True, metadata={"description": "who may"})
    amount = ma.fields.Integer(required=True, metadata={"description": "cents per period"})
    currency = ma.fields.String(required=True)
    period = ma.fields.Enum(Period, by_value=True, required=True)
    expires_at = ma.fields.AwareDateTime(required=True, allow_none=True)
    created_at = ma.fields.AwareDateTime(required=True)
    period_start = ma.fields.AwareDateTime(required=True, metadata={"description": PERIODS})
    period_end = ma.fields.AwareDateTime(required=True)
    used = ma.fields.Integer(required=True, metadata={"description": "used this period"})
    left = ma.fields.Integer(required=True, metadata={"description": "left this period"})
    uses = ma.fields.List(
        ma.fields.Nested(AllowanceUseSchema),
        required=True,
        metadata={"description": "this period's uses, newest first"},
    )


class AllowanceListSchema(Schema):
    given = ma.fields.List(ma.fields.Nested(AllowanceSchema), required=True)
    received = ma.fields.List(ma.fields.Nested(AllowanceSchema), required=True)
