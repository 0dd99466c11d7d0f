"""Shared marshmallow fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import marshmallow as ma


class Cents(ma.fields.Integer):
    """An amount of money in minor units: a JSON integer, never 2.5 and never "250"."""

    def __init__(self, *, minimum: int = 1, maximum: int | None = None, **kwargs: Any) -> None:
        validate = kwargs.pop("validate", [])
        validators = validate if isinstance(validate, list) else [validate]
        validators.append(ma.validate.Range(min=minimum, max=maximum))
        metadata = {"description": "Amount in cents (minor units)", **kwargs.pop("metadata", {})}
        super().__init__(strict=True, validate=validators, metadata=metadata, **kwargs)


class StrictInteger(ma.fields.Integer):
    """A JSON integer; floats and numeric strings are refused rather than truncated."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)


class StrictBoolean(ma.fields.Boolean):
    """JSON true/false only: 0, 1, "yes" and "true" are refused, as the spec says."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> bool:
        # 1 == True in Python, so a truthy set cannot tell them apart; check the type.
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value
