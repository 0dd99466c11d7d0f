"""QR image endpoints, shared by every code a customer shows at the till (pay, gift)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response

from wallet_api.extensions import Blueprint
from wallet_api.extensions.problems import ApiError
from wallet_api.paycodes.schemas import QrArgsSchema
from wallet_api.paycodes.service import render_qr

F = TypeVar("F", bound=Callable[..., Any])
_BINARY = {"type": "string", "format": "binary"}


def qr_endpoint(blp: Blueprint, what: str, *problems: type[ApiError]) -> Callable[[F], F]:
    """``?format=png|svg`` in, the image out (documented as both), ``problems`` otherwise."""
    description = f"{what}: PNG by default, SVG with ?format=svg"

    def decorator(func: F) -> F:
        func = blp.problems(*problems)(func)
        func = blp.alt_response(
            200, schema=_BINARY, content_type="image/svg+xml", description=description
        )(func)
        func = blp.response(200, _BINARY, content_type="image/png", description=description)(func)
        return blp.arguments(QrArgsSchema, location="query")(func)

    return decorator


def qr_response(text: str, image_format: str) -> Response:
    body, mimetype = render_qr(text, image_format)
    # The image is a credential (it pays or redeems): never cached anywhere.
    return Response(body, mimetype=mimetype, headers={"Cache-Control": "no-store"})
