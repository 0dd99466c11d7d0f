import marshmallow as ma

from wallet_api.extensions import Schema


class CheckSchema(Schema):
    name = ma.fields.String(required=True)
    ok = ma.fields.Boolean(required=True)
    violations = ma.fields.List(ma.fields.String(), required=True)


class VerifyReportSchema(Schema):
    ok = ma.fields.Boolean(required=True)
    checks = ma.fields.List(ma.fields.Nested(CheckSchema), required=True)
