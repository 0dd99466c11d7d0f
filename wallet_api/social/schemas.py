from collections.abc import Mapping
from typing import Any

import marshmallow as ma

from wallet_api.auth.schemas import PHONE_PATTERN, Email, Handle
from wallet_api.extensions import Schema
from wallet_api.extensions.pagination import CursorArgs, page_of
from wallet_api.social.models import NotificationKind


class PersonSchema(Schema):
    """Another person as anyone who knows their handle may see them."""

    id = ma.fields.UUID(required=True)
    handle = ma.fields.String(required=True)
    display_name = ma.fields.String(required=True)


class FriendSchema(PersonSchema):
    first_name = ma.fields.String(required=True)
    since = ma.fields.AwareDateTime(required=True, metadata={"description": "friends since"})


class FriendRequestCreateSchema(Schema):
    handle = Handle(metadata={"description": "with or without '@'"})
    email = Email()
    phone = ma.fields.String(
        validate=ma.validate.Regexp(PHONE_PATTERN, error="E.164, e.g. +31612345678.")
    )

    @ma.validates_schema
    def _exactly_one(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if len(data) != 1:
            raise ma.ValidationError("Give exactly one of handle, email or phone.", "_schema")


class TargetSchema(Schema):
    """Whom a request was sent to, exactly as the requester named them."""

    handle = ma.fields.String()
    email = ma.fields.String()
    phone = ma.fields.String()


class FriendRequestSchema(Schema):
    id = ma.fields.UUID(required=True)
    from_ = ma.fields.Nested(PersonSchema, required=True, data_key="from", attribute="requester")
    to = ma.fields.Nested(TargetSchema, required=True, attribute="target")
    created_at = ma.fields.AwareDateTime(required=True)


class FriendRequestListArgs(CursorArgs):
    box = ma.fields.String(
        load_default="incoming", validate=ma.validate.OneOf(["incoming", "outgoing"])
    )


class NotificationSchema(Schema):
    id = ma.fields.UUID(required=True)
    kind = ma.fields.Enum(NotificationKind, by_value=True, required=True)
    title = ma.fields.String(required=True)
    body = ma.fields.String(required=True)
    data = ma.fields.Dict(required=True)
    created_at = ma.fields.AwareDateTime(required=True)
    read_at = ma.fields.AwareDateTime(required=True, allow_none=True)


class NotificationListArgs(CursorArgs):
    unread = ma.fields.Boolean(load_default=False, metadata={"description": "only unread ones"})


class NotificationPageSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(NotificationSchema), required=True)
    next_cursor = ma.fields.String(allow_none=True, required=True)
    unread_count = ma.fields.Integer(required=True, metadata={"description": "in the whole inbox"})


FriendPageSchema = page_of(FriendSchema)
FriendRequestPageSchema = page_of(FriendRequestSchema)
