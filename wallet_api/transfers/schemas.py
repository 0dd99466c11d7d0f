import marshmallow as ma

from wallet_api.extensions import Schema
from wallet_api.social.schemas import PersonSchema


class TransferCreateSchema(Schema):
    to = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=64),
        metadata={"description": "a friend's user id or handle (with or without '@')"},
    )
    amount = ma.fields.Integer(
        required=True,
        strict=True,
        validate=ma.validate.Range(min=1),
        metadata={"description": "cents"},
    )
    message = ma.fields.String(load_default="", validate=ma.validate.Length(max=140))


class TransferSchema(Schema):
    id = ma.fields.UUID(required=True)
    from_ = ma.fields.Nested(PersonSchema, required=True, data_key="from", attribute="from")
    to = ma.fields.Nested(PersonSchema, required=True)
    amount = ma.fields.Integer(required=True, metadata={"description": "cents"})
    currency = ma.fields.String(required=True)
    message = ma.fields.String(required=True)
    created_at = ma.fields.AwareDateTime(required=True)
    balance = ma.fields.Integer(
        metadata={
            "description": "the sender's balance after it (only in the answer to the sender's POST)"
        }
    )
