import marshmallow as ma

from wallet_api.extensions import Schema
from wallet_api.extensions.pagination import CursorArgs


class AuditEventSchema(Schema):
    id = ma.fields.Integer(dump_only=True)
    tag = ma.fields.String(required=True)
    actor_kind = ma.fields.String(required=True)
    actor_id = ma.fields.UUID(allow_none=True)
    subject = ma.fields.String(required=True)
    data = ma.fields.Dict(required=True)
    created_at = ma.fields.AwareDateTime(required=True)


class AuditQuerySchema(CursorArgs):
    tag = ma.fields.String(load_default=None, validate=ma.validate.Length(max=80))
    subject = ma.fields.String(load_default=None, validate=ma.validate.Length(max=120))
