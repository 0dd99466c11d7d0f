"""QR image endpoints, shared by every code a customer shows at the till (pay, gift)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response
from werkzeug.wrappers import Response as AnyResponse

from wallet_api.extensions import Blueprint
from wallet_api.extensions.problems import ApiError
from wallet_api.paycodes.schemas import QrArgsSchema
from wallet_api.paycodes.service import render_qr

_BINARY = {"type": "string", "format": "binary"}


def qr_endpoint(
    blp: Blueprint, what: str, *problems: type[ApiError]
) -> Callable[[Callable[..., Response]], Callable[..., AnyResponse]]:
    """``?format=png|svg`` in, the image out (documented as both), ``problems`` otherwise."""
    description = f"{what}: PNG by default, SVG with ?format=svg"

    def decorator(view: Callable[..., Response]) -> Callable[..., AnyResponse]:
        documented = blp.alt_response(
            200, schema=_BINARY, content_type="image/svg+xml", description=description
        )(blp.problems(*problems)(view))
        answered = blp.response(200, _BINARY, content_type="image/png", description=description)(
            documented
        )
        return blp.arguments(QrArgsSchema, location="query")(answered)

    return decorator


def qr_response(text: str, image_format: str) -> Response:
    body, mimetype = render_qr(text, image_format)
    # The image is a credential (it pays or redeems): never cached anywhere.
    return Response(body, mimetype=mimetype, headers={"Cache-Control": "no-store"})
