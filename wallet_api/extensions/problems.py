"""Errors as ``application/problem+json`` (RFC 9457) with a stable machine ``code``.

Domains raise subclasses of :class:`ApiError`; one handler renders them. Each domain keeps
its own errors in ``errors.py``; the generic ones live here.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import marshmallow as ma
from flask import Response

from wallet_api.logs import current_request_id

PROBLEM_MIMETYPE = "application/problem+json"


class ApiError(Exception):
    """An error the client can act on. Subclasses set ``status``, ``code`` and ``title``."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra


class BadRequest(ApiError):
    status, code, title = 400, "bad_request", "Bad request"


class MalformedJson(BadRequest):
    code, title = "malformed_json", "The request body is not valid JSON"


class JsonTooDeep(BadRequest):
    code, title = "json_too_deep", "The JSON body is nested too deeply"


class Unauthorized(ApiError):
    status, code, title = 401, "unauthorized", "Authentication required"


class TokenMissing(Unauthorized):
    code, title = "token_missing", "A bearer token is required"


class TokenInvalid(Unauthorized):
    code, title = "token_invalid", "The token is not valid"


class TokenExpired(Unauthorized):
    code, title = "token_expired", "The token has expired"


# Revocations are raised by the domains that load principals (auth for people, stores for
# scanner devices) but are defined here, with the other token problems, because every
# authenticated operation documents them (``Blueprint.auth``) and extensions import no
# domain.
class AccessTokenRevoked(Unauthorized):
    """The access token's login was signed out (logout, or a reused refresh token)."""

    code, title = "token_revoked", "This login was signed out"


class DeviceRevoked(Unauthorized):
    code, title = "device_revoked", "This device was revoked"


class Forbidden(ApiError):
    status, code, title = 403, "forbidden", "Not allowed"


class NotFound(ApiError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(ApiError):
    status, code, title = 409, "conflict", "Conflict"


class Gone(ApiError):
    status, code, title = 410, "gone", "Gone"


class UnsupportedMediaType(ApiError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


class Unprocessable(ApiError):
    status, code, title = 422, "unprocessable", "The request cannot be processed"


class ValidationFailed(Unprocessable):
    code, title = "validation_error", "The request is not valid"


class GrantToSelf(Unprocessable):
    """Staff and admins give value (points, credit, rewards, refunds) to others only."""

    code, title = "grant_to_self", "Staff cannot give this to themselves"


class PayloadTooLarge(ApiError):
    """Raised by Werkzeug as a 413 for a body over ``MAX_CONTENT_LENGTH``; the class names
    the code for the spec and its title."""

    status, code, title = 413, "payload_too_large", "The request body is too large"


class RateLimited(ApiError):
    """Raised by Flask-Limiter as a 429 (``Retry-After`` says when to come back); the class
    names the code for the spec and its title."""

    status, code, title = 429, "rate_limited", "Too many requests"


class DatabaseUnavailable(ApiError):
    """The database cannot be reached or answered a transient error (a restart, a lost
    connection, a deadlock broken by the server, no pooled connection free in time).

    Nothing of the request was kept, so the client retries it as it was, with the same
    ``Idempotency-Key``; ``Retry-After`` says when."""

    status, code, title = 503, "database_unavailable", "The database is unavailable"
    RETRY_AFTER_SECONDS = 2

    def __init__(self) -> None:
        super().__init__(
            "The service cannot reach its database just now; nothing was changed. "
            "Retry the request as it was (with the same Idempotency-Key).",
            headers={"Retry-After": str(self.RETRY_AFTER_SECONDS)},
        )


# Codes for errors raised by Flask, Werkzeug and webargs rather than by our own code.
HTTP_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


# One title per code: an error Flask, Werkzeug or webargs raises carries the title of our
# class with the same code, so a client never sees two titles for one code.
TITLES = {
    error.code: error.title
    for error in (
        BadRequest,
        MalformedJson,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        Gone,
        UnsupportedMediaType,
        ValidationFailed,
        PayloadTooLarge,
        RateLimited,
    )
}


def problem_type(code: str) -> str:
    return f"urn:bean-wallet:problem:{code}"


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    *,
    errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": title,
        "status": status,
        "detail": detail or title,
        "code": code,
    }
    if (request_id := current_request_id()) is not None:
        # The id of the request's log lines: a client quotes it, support finds them.
        body["request_id"] = request_id
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_MIMETYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def render_api_error(error: ApiError) -> Response:
    return problem_response(
        error.status,
        error.code,
        error.title,
        error.detail,
        errors=error.errors,
        headers=error.headers,
        extra=error.extra,
    )


class ProblemSchema(ma.Schema):
    """The problem+json payload (documentation only; responses are built above)."""

    class Meta:
        # RFC 9457 extension members: a problem may say more (``min_top_up``, ``balance``).
        unknown = ma.INCLUDE

    type = ma.fields.String(required=True, metadata={"description": "URN of the problem type"})
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String(required=True)
    code = ma.fields.String(required=True, metadata={"description": "Stable machine code"})
    errors = ma.fields.Dict(metadata={"description": "Validation errors by field"})
    request_id = ma.fields.String(
        metadata={
            "description": "The request's id, as in the X-Request-ID response header and "
            "in the service's log lines: quote it when reporting a problem"
        }
    )
