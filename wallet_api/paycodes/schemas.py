import marshmallow as ma

from wallet_api.extensions import Schema


class PayCodeSchema(Schema):
    id = ma.fields.UUID(required=True)
    code = ma.fields.String(
        required=True, metadata={"description": "The text in the QR code, single use"}
    )
    status = ma.fields.String(
        required=True,
        metadata={"description": "live, used or expired", "enum": ["live", "used", "expired"]},
    )
    created_at = ma.fields.AwareDateTime(required=True)
    expires_at = ma.fields.AwareDateTime(required=True)
    allowance_id = ma.fields.UUID(
        required=True,
        allow_none=True,
        metadata={"description": "The friend's allowance this code pays from, if any"},
    )


class PayCodeCreateSchema(Schema):
    allowance_id = ma.fields.UUID(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "Pay from an allowance a friend gives me (GET /v1/allowances, "
            "received) instead of my own wallet"
        },
    )


class QrArgsSchema(Schema):
    format = ma.fields.String(load_default="png", validate=ma.validate.OneOf(["png", "svg"]))


class OfflineKeyCreateSchema(Schema):
    name = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=80),
        metadata={"description": "The phone's name, to recognise it in the list"},
    )


class OfflineKeySchema(Schema):
    id = ma.fields.UUID(required=True)
    key_id = ma.fields.String(
        required=True, metadata={"description": "8 characters; every offline code carries it"}
    )
    name = ma.fields.String(required=True)
    created_at = ma.fields.AwareDateTime(required=True)


class OfflineKeyCreatedSchema(OfflineKeySchema):
    secret = ma.fields.String(
        required=True,
        metadata={"description": "Base32 TOTP secret (RFC 4648, no padding); shown once"},
    )
    algorithm = ma.fields.String(required=True, metadata={"description": "HMAC hash: SHA256"})
    digits = ma.fields.Integer(required=True)
    period = ma.fields.Integer(required=True, metadata={"description": "seconds per step"})
    code_prefix = ma.fields.String(
        required=True, metadata={"description": "An offline code is code_prefix + the digits"}
    )
