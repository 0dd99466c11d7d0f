from collections.abc import Mapping
from typing import Any

import marshmallow as ma

from wallet_api.auth.schemas import PHONE_PATTERN, Email, Handle
from wallet_api.catalog.schemas import OrderLineSchema
from wallet_api.extensions import Schema
from wallet_api.extensions.fields import Cents
from wallet_api.extensions.pagination import CursorArgs, page_of
from wallet_api.gifts.models import GiftKind, GiftStatus
from wallet_api.social.schemas import PersonSchema

_ADDRESSES = ("user_id", "handle", "email", "phone")


class GiftItemSchema(OrderLineSchema):
    """A standard drink (``product_id`` and ``size``) or one of my blends (``blend_id``)."""

    class Meta(OrderLineSchema.Meta):
        exclude = ("quantity",)


class GiftCreateSchema(Schema):
    user_id = ma.fields.UUID(metadata={"description": "a friend"})
    handle = Handle(metadata={"description": "a friend, with or without '@'"})
    email = Email(metadata={"description": "anyone: a claim link is made"})
    phone = ma.fields.String(
        validate=ma.validate.Regexp(PHONE_PATTERN, error="E.164, e.g. +31612345678."),
        metadata={"description": "anyone (E.164): a claim link is made"},
    )
    item = ma.fields.Nested(GiftItemSchema, metadata={"description": "a drink"})
    amount = Cents(maximum=100_000, metadata={"description": "or credit, in cents"})
    message = ma.fields.String(load_default="", validate=ma.validate.Length(max=280))

    @ma.validates_schema
    def _one_address_one_gift(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if sum(1 for name in _ADDRESSES if name in data) != 1:
            raise ma.ValidationError(
                "Give exactly one of user_id, handle, email or phone.", "_schema"
            )
        if ("item" in data) == ("amount" in data):
            raise ma.ValidationError("Give either an item or an amount.", "item")


class GiftToSchema(Schema):
    """Whom it was given to: a friend, or the email or phone as the giver typed it."""

    user = ma.fields.Nested(PersonSchema)
    email = ma.fields.String()
    phone = ma.fields.String()


class GiverSchema(PersonSchema):
    first_name = ma.fields.String(required=True)


class GiftItemViewSchema(Schema):
    kind = ma.fields.String(required=True, metadata={"description": "product or blend"})
    item_id = ma.fields.UUID(required=True)
    name = ma.fields.String(required=True)
    size = ma.fields.String(required=True)
    snapshot = ma.fields.Dict(
        required=True,
        metadata={"description": "What the barista makes, as it was when given"},
    )


class GiftSchema(Schema):
    id = ma.fields.UUID(required=True)
    from_ = ma.fields.Nested(GiverSchema, required=True, data_key="from", attribute="from")
    to = ma.fields.Nested(GiftToSchema, required=True)
    kind = ma.fields.Enum(GiftKind, by_value=True, required=True)
    item = ma.fields.Nested(GiftItemViewSchema, required=True, allow_none=True)
    amount = ma.fields.Integer(
        required=True,
        allow_none=True,
        metadata={
            "description": "cents in escrow; null for the recipient of a drink (the price "
            "of a present is not shown)"
        },
    )
    currency = ma.fields.String(required=True)
    message = ma.fields.String(required=True)
    status = ma.fields.Enum(
        GiftStatus,
        by_value=True,
        required=True,
        metadata={"description": "expired as soon as expires_at has passed"},
    )
    created_at = ma.fields.AwareDateTime(required=True)
    expires_at = ma.fields.AwareDateTime(required=True)
    settled_at = ma.fields.AwareDateTime(required=True, allow_none=True)
    thanked = ma.fields.Boolean(required=True)
    claim_url = ma.fields.String(
        metadata={
            "description": "Only in the giver's 201 to a gift by email or phone: the link "
            "to share, shown this once"
        }
    )


class GiftListArgs(CursorArgs):
    box = ma.fields.String(
        load_default="received", validate=ma.validate.OneOf(["received", "sent"])
    )


class ThanksSchema(Schema):
    message = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=280))


GiftPageSchema = page_of(GiftSchema)
