from collections.abc import Mapping
from typing import Any

import marshmallow as ma

from wallet_api.catalog.models import Size
from wallet_api.extensions import Schema
from wallet_api.extensions.fields import Cents, StrictInteger
from wallet_api.extensions.pagination import CursorArgs
from wallet_api.loyalty.models import OfferKind, Tier


class NextTierSchema(Schema):
    tier = ma.fields.Enum(Tier, by_value=True, required=True)
    spend_needed_cents = ma.fields.Integer(required=True)


class LoyaltyStatusSchema(Schema):
    first_name = ma.fields.String(required=True)
    points = ma.fields.Integer(required=True)
    tier = ma.fields.Enum(Tier, by_value=True, required=True)
    tier_since = ma.fields.AwareDateTime(required=True)
    multiplier_pct = ma.fields.Integer(
        required=True, metadata={"description": "Points multiplier of the tier, in percent"}
    )
    qualifying_spend_cents = ma.fields.Integer(
        required=True, metadata={"description": "Paid spend less refunds, last 12 months"}
    )
    currency = ma.fields.String(required=True)
    next_tier = ma.fields.Nested(NextTierSchema, allow_none=True, required=True)
    spend_to_keep_tier_cents = ma.fields.Integer(required=True)
    protected_until = ma.fields.AwareDateTime(
        allow_none=True,
        required=True,
        metadata={
            "description": "Set while the spend no longer qualifies: the tier holds "
            "at least until then"
        },
    )
    member_since = ma.fields.AwareDateTime(required=True)
    tenure_years = ma.fields.Integer(required=True)
    tenure_bonus_pct = ma.fields.Integer(
        required=True, metadata={"description": "Extra points for tenure, in percent"}
    )


class RewardSchema(Schema):
    id = ma.fields.UUID(dump_only=True)
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=80))
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))
    points_cost = StrictInteger(required=True, validate=ma.validate.Range(min=1, max=1_000_000))
    product_id = ma.fields.UUID(
        load_default=None, allow_none=True, metadata={"description": "None: any drink"}
    )
    size = ma.fields.Enum(
        Size,
        by_value=True,
        load_default=None,
        allow_none=True,
        metadata={"description": "None: any size"},
    )
    is_active = ma.fields.Boolean(load_default=True)


class RewardPatchSchema(Schema):
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=80))
    description = ma.fields.String(validate=ma.validate.Length(max=500))
    points_cost = StrictInteger(validate=ma.validate.Range(min=1, max=1_000_000))
    product_id = ma.fields.UUID(allow_none=True)
    size = ma.fields.Enum(Size, by_value=True, allow_none=True)
    is_active = ma.fields.Boolean(metadata={"description": "false retires the reward"})


class RewardCodeSchema(Schema):
    id = ma.fields.UUID(required=True)
    reward = ma.fields.Nested(RewardSchema, required=True)
    source = ma.fields.String(
        required=True, metadata={"description": "points, goodwill or birthday"}
    )
    points_spent = ma.fields.Integer(required=True)
    code_hint = ma.fields.String(
        required=True, metadata={"description": "The last characters of the code"}
    )
    status = ma.fields.String(required=True, metadata={"enum": ["valid", "redeemed", "expired"]})
    created_at = ma.fields.AwareDateTime(required=True)
    expires_at = ma.fields.AwareDateTime(required=True)
    redeemed_at = ma.fields.AwareDateTime(allow_none=True, required=True)


class IssuedRewardCodeSchema(RewardCodeSchema):
    code = ma.fields.String(
        required=True,
        metadata={
            "description": "Show this at the till (as text or QR). It is shown once; "
            "it is stored only as a hash."
        },
    )


class SwitcherBonusRequestSchema(Schema):
    user_id = ma.fields.UUID(required=True)
    chain_name = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=80),
        metadata={"description": "The other chain whose loyalty card the customer showed"},
    )


class SwitcherBonusSchema(Schema):
    id = ma.fields.UUID(required=True)
    user_id = ma.fields.UUID(required=True)
    chain_name = ma.fields.String(required=True)
    points = ma.fields.Integer(required=True)
    granted_by = ma.fields.UUID(required=True)
    created_at = ma.fields.AwareDateTime(required=True)


class OfferSchema(Schema):
    id = ma.fields.UUID(dump_only=True)
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=80))
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))
    kind = ma.fields.Enum(OfferKind, by_value=True, required=True)
    value = StrictInteger(
        required=True,
        validate=ma.validate.Range(min=1, max=1_000_000),
        metadata={"description": "Percent (1-100), cents, or points, by kind"},
    )
    starts_at = ma.fields.AwareDateTime(required=True)
    ends_at = ma.fields.AwareDateTime(required=True)
    min_tier = ma.fields.Enum(
        Tier,
        by_value=True,
        load_default=None,
        allow_none=True,
        metadata={"description": "This tier and every tier above it; none is everyone"},
    )
    store_ids = ma.fields.List(
        ma.fields.UUID(),
        load_default=list,
        validate=ma.validate.Length(max=200),
        metadata={"description": "Empty: every store"},
    )
    product_id = ma.fields.UUID(
        load_default=None,
        allow_none=True,
        metadata={"description": "Only lines of this product count"},
    )
    min_subtotal_cents = Cents(minimum=0, load_default=0)
    once_per_customer = ma.fields.Boolean(load_default=False)
    is_welcome = ma.fields.Boolean(
        load_default=False,
        metadata={
            "description": "A welcome offer: once per customer, for every customer "
            "who never had it, however long they have been coming"
        },
    )
    is_active = ma.fields.Boolean(dump_only=True)
    created_at = ma.fields.AwareDateTime(dump_only=True)

    @ma.validates_schema
    def _consistent(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            raise ma.ValidationError("An offer ends after it starts.", "ends_at")
        if data.get("kind") is OfferKind.PERCENTAGE and data.get("value", 0) > 100:
            raise ma.ValidationError("A percentage is at most 100.", "value")


_REFUSED = "Accepted only to be refused (422 offer_parity_violation) unless "


class OfferCreateSchema(OfferSchema):
    """An offer as an admin sends it. The audience fields below exist to be refused:
    an offer cannot be narrowed to new customers (offer parity)."""

    audience = ma.fields.String(load_only=True, metadata={"description": _REFUSED + "'everyone'"})
    new_customers_only = ma.fields.Boolean(
        load_only=True, metadata={"description": _REFUSED + "false"}
    )
    first_purchase_only = ma.fields.Boolean(
        load_only=True, metadata={"description": _REFUSED + "false"}
    )
    max_tenure_days = StrictInteger(
        load_only=True, allow_none=True, metadata={"description": _REFUSED + "null"}
    )
    member_since_after = ma.fields.AwareDateTime(
        load_only=True, allow_none=True, metadata={"description": _REFUSED + "null"}
    )
    max_tier = ma.fields.Enum(
        Tier,
        by_value=True,
        load_only=True,
        allow_none=True,
        metadata={"description": _REFUSED + "null or platinum"},
    )


class OfferListArgsSchema(CursorArgs):
    store_id = ma.fields.UUID(
        load_default=None, metadata={"description": "Only offers valid at this store"}
    )


class GoodwillRequestSchema(Schema):
    user_id = ma.fields.UUID(load_default=None, metadata={"description": "The customer"})
    charge_id = ma.fields.UUID(
        load_default=None,
        metadata={
            "description": "Or the charge that went wrong: its payer gets the goodwill. "
            "Staff of that charge's store only (admins: any store)"
        },
    )
    amount = Cents(load_default=None, maximum=100_00, metadata={"description": "Money, in cents"})
    reward_id = ma.fields.UUID(load_default=None)
    reason = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=3, max=500),
        metadata={"description": "Why (kept in the audit log)"},
    )
    message = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(min=1, max=500),
        metadata={
            "description": "A personal note to the customer, who is greeted by first "
            "name; a friendly default is used without it"
        },
    )

    @ma.validates_schema
    def _money_or_reward(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if (data.get("amount") is None) == (data.get("reward_id") is None):
            raise ma.ValidationError("Give exactly one of amount or reward_id.", "amount")

    @ma.validates_schema
    def _user_or_charge(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if (data.get("user_id") is None) == (data.get("charge_id") is None):
            raise ma.ValidationError("Give exactly one of user_id or charge_id.", "user_id")


class GoodwillSchema(Schema):
    id = ma.fields.UUID(required=True)
    user_id = ma.fields.UUID(required=True)
    staff_id = ma.fields.UUID(required=True)
    amount = ma.fields.Integer(attribute="amount_cents", allow_none=True, required=True)
    currency = ma.fields.Method("_currency", metadata={"type": "string"})
    reward_code_id = ma.fields.UUID(allow_none=True, required=True)
    charge_id = ma.fields.UUID(allow_none=True, required=True)
    reason = ma.fields.String(required=True)
    message = ma.fields.String(required=True)
    created_at = ma.fields.AwareDateTime(required=True)

    def _currency(self, obj: object) -> str:
        from wallet_api.ledger.service import currency

        return currency()
