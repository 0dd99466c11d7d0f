import marshmallow as ma

from wallet_api.extensions import Schema


class HealthSchema(Schema):
    status = ma.fields.String(required=True)


class ReadySchema(Schema):
    ready = ma.fields.Boolean(required=True)
    database = ma.fields.String(required=True)
    migrations = ma.fields.String(required=True)
    # "ok", "degraded" (unreachable: limits counted per process) or "not configured".
    redis = ma.fields.String(required=True)
