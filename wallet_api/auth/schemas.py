from collections.abc import Mapping
from typing import Any

import marshmallow as ma

from wallet_api.auth.models import Role
from wallet_api.extensions import Schema

HANDLE_PATTERN = r"^[A-Za-z0-9_.]{3,30}$"
PHONE_PATTERN = r"^\+[1-9][0-9]{6,14}$"  # E.164
LOCALES = ("en", "nl")


class Lowercase(ma.fields.String):
    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        return super()._deserialize(value, attr, data, **kwargs).strip().lower()


class Email(Lowercase):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=[ma.validate.Email(), ma.validate.Length(max=254)], **kwargs)


class Handle(Lowercase):
    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        return super()._deserialize(value, attr, data, **kwargs).removeprefix("@")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            validate=ma.validate.Regexp(HANDLE_PATTERN, error="3-30 letters, digits, '_' or '.'."),
            **kwargs,
        )


def _name(**kwargs: Any) -> ma.fields.String:
    return ma.fields.String(validate=ma.validate.Length(min=1, max=80), **kwargs)


class RegisterSchema(Schema):
    email = Email(required=True)
    password = ma.fields.String(
        required=True, load_only=True, validate=ma.validate.Length(min=10, max=200)
    )
    first_name = _name(required=True)
    display_name = _name(load_default=None)
    handle = Handle(required=True)
    phone = ma.fields.String(load_default=None, validate=ma.validate.Regexp(PHONE_PATTERN))
    locale = ma.fields.String(load_default="en", validate=ma.validate.OneOf(LOCALES))


class LoginSchema(Schema):
    email = Email(required=True)
    password = ma.fields.String(required=True, load_only=True)


class RefreshSchema(Schema):
    refresh_token = ma.fields.String(required=True, validate=ma.validate.Length(max=200))


class LogoutSchema(Schema):
    refresh_token = ma.fields.String(load_default=None, validate=ma.validate.Length(max=200))


class TokensSchema(Schema):
    access_token = ma.fields.String(required=True)
    refresh_token = ma.fields.String(required=True)
    token_type = ma.fields.String(required=True, dump_default="Bearer")
    expires_in = ma.fields.Integer(required=True, metadata={"description": "seconds"})


class UserSchema(Schema):
    id = ma.fields.UUID(dump_only=True)
    email = ma.fields.String(dump_only=True)
    first_name = ma.fields.String()
    display_name = ma.fields.String()
    handle = ma.fields.String()
    phone = ma.fields.String(allow_none=True)
    locale = ma.fields.String()
    birthday = ma.fields.Date(allow_none=True)
    role = ma.fields.Enum(Role, by_value=True, dump_only=True)
    created_at = ma.fields.AwareDateTime(dump_only=True, data_key="member_since")


class RegisteredSchema(Schema):
    user = ma.fields.Nested(UserSchema, required=True)
    tokens = ma.fields.Nested(TokensSchema, required=True)


class ProfilePatchSchema(Schema):
    first_name = _name()
    display_name = _name()
    handle = Handle()
    phone = ma.fields.String(allow_none=True, validate=ma.validate.Regexp(PHONE_PATTERN))
    locale = ma.fields.String(validate=ma.validate.OneOf(LOCALES))
    birthday = ma.fields.Date(allow_none=True)
