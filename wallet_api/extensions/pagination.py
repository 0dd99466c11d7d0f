"""Cursor pagination: ``?limit=&cursor=`` in, ``{"items": [...], "next_cursor": ...}`` out.

Keyset pagination on (sort key, id) so a page costs the same on the first page and the
thousandth, and rows added meanwhile never shift a page.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import marshmallow as ma
from sqlalchemy import Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from wallet_api.extensions.database import db
from wallet_api.extensions.problems import ValidationFailed
from wallet_api.extensions.smorest import Schema


class CursorArgs(Schema):
    limit = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=100))
    cursor = ma.fields.String(load_default=None, validate=ma.validate.Length(max=400))


_page_schemas: dict[type, type[Schema]] = {}


def page_of(item_schema: type[ma.Schema]) -> type[Schema]:
    """The page schema for a list of ``item_schema`` (one class per item schema)."""
    if item_schema not in _page_schemas:
        name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
        _page_schemas[item_schema] = type(
            name,
            (Schema,),
            {
                "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
                "next_cursor": ma.fields.String(allow_none=True, required=True),
            },
        )
    return _page_schemas[item_schema]


def _encode(values: Sequence[Any]) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return {"t": value.isoformat()}
        if isinstance(value, uuid.UUID):
            return {"u": str(value)}
        return value

    raw = json.dumps([plain(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, arity: int) -> list[Any]:
    def typed(value: Any) -> Any:
        if isinstance(value, dict) and "t" in value:
            return datetime.fromisoformat(value["t"])
        if isinstance(value, dict) and "u" in value:
            return uuid.UUID(value["u"])
        return value

    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != arity:
            raise ValueError("wrong arity")
        return [typed(v) for v in values]
    except (ValueError, TypeError) as exc:
        raise ValidationFailed(errors={"cursor": ["Not a valid cursor."]}) from exc


def keyset_page(
    stmt: Select[Any],
    keys: Sequence[InstrumentedAttribute[Any]],
    *,
    limit: int,
    cursor: str | None,
    scalars: bool = True,
) -> dict[str, Any]:
    """Newest first by ``keys`` (all descending). Returns ``{"items", "next_cursor"}``."""
    if cursor:
        stmt = stmt.where(tuple_(*keys) < tuple_(*_decode(cursor, len(keys))))
    stmt = stmt.order_by(*(k.desc() for k in keys)).limit(limit + 1)
    result = db.session.execute(stmt)
    rows = list(result.scalars() if scalars else result)
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if has_more:
        last = rows[-1]
        next_cursor = _encode([getattr(last, k.key) for k in keys])
    return {"items": rows, "next_cursor": next_cursor}
