"""flask-smorest, subclassed once: problem+json errors, security docs, idempotency docs.

Routes import ``Api``/``Blueprint``/``Schema`` from ``wallet_api.extensions``, never from
flask_smorest directly, so the rules below hold for every endpoint.
"""

from __future__ import annotations

import http
import time
from collections.abc import Callable, Mapping
from functools import partial, wraps
from typing import Any, TypeVar

import flask_smorest
import marshmallow as ma
from flask import current_app, request
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException

from wallet_api.extensions.problems import (
    HTTP_STATUS_CODES,
    PROBLEM_MIMETYPE,
    ApiError,
    ProblemSchema,
    problem_response,
)

F = TypeVar("F", bound=Callable[..., Any])


NUL_REFUSED = "Text may not contain the NUL character."


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    if isinstance(value, Mapping):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    return False


class Schema(ma.Schema):
    """Base schema: unknown fields are an error, so typos never pass silently."""

    class Meta:
        unknown = ma.RAISE
        ordered = True

    @ma.pre_load
    def _refuse_nul(self, data: Any, **kwargs: Any) -> Any:
        # PostgreSQL's text cannot hold a NUL (the driver fails at the flush, a 500); SQLite
        # would store it. Refused here, it is the client's 422 on either database.
        if isinstance(data, Mapping):  # a JSON object, or webargs' view of the query string
            refused = {name: [NUL_REFUSED] for name, value in data.items() if _holds_nul(value)}
            if refused:
                raise ma.ValidationError(refused)
        return data


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        # Same components as flask-smorest registers, documented as problem+json, which is
        # what handle_http_exception and the ApiError handler actually send.
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_MIMETYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_MIMETYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def handle_http_exception(self, error: HTTPException):  # type: ignore[override]
        status = error.code or 500
        code = HTTP_STATUS_CODES.get(status, "http_error")
        try:
            title = http.HTTPStatus(status).phrase
        except ValueError:
            title = "Error"
        detail = error.description if status < 500 else "An unexpected error occurred."
        errors = None
        headers: dict[str, str] = {}
        data = getattr(error, "data", None) or {}
        messages = data.get("errors") or data.get("messages")
        if messages:
            # webargs nests messages by location ({"json": {...}}); clients want fields.
            if isinstance(messages, dict) and len(messages) == 1:
                ((location, by_field),) = messages.items()
                if location in ("json", "query", "headers", "path", "view_args", "files"):
                    messages = by_field
            errors = messages if isinstance(messages, dict) else {"_schema": messages}
            if status == 400:
                code, detail = "malformed_json", "The request body is not valid JSON."
                errors = None
            elif status == 422:
                detail = "Some fields are not valid; see errors."
        headers.update(data.get("headers") or {})
        if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        if status == 429 and (retry_after := _retry_after()) is not None:
            headers["Retry-After"] = retry_after
        if status >= 500:
            # Flask hands an unhandled exception over as InternalServerError with the
            # exception itself in ``original_exception``: log that one's traceback.
            cause = getattr(error, "original_exception", None) or error.__cause__ or error
            current_app.logger.error("unhandled error", exc_info=cause)
        return problem_response(status, code, title, detail, errors=errors, headers=headers)


def _retry_after() -> str | None:
    """Seconds until the limit that refused this request lets it through again.

    Flask-Limiter's X-RateLimit headers are off: they read the limit's window from the
    store again on every limited request (a Redis command and a tenth of a millisecond on
    each charge); only a refused request needs to know when to come back.
    """
    from wallet_api.extensions import limiter  # built in extensions/__init__, after this module

    breached = limiter.current_limit
    if breached is None:  # a 429 that no limit of ours raised: no time to promise
        return None
    return str(max(1, int(breached.reset_at - time.time())))


class BodyRequired(ApiError):
    status, code, title = 400, "body_required", "A JSON request body is required"


class Blueprint(flask_smorest.Blueprint):
    def arguments(self, schema, *, location="json", required=True, **kwargs):  # type: ignore[no-untyped-def,override]
        """As flask-smorest's, but a required JSON body that is absent is a 400.

        webargs would load an absent body as ``{}``, which for a schema without required
        fields silently means "change nothing" while the spec says the body is required.

        A schema given as a class is made once here: webargs would make one per request,
        and marshmallow copies every declared field (and every nested schema) for each.
        Our schemas keep no state between loads, so one instance serves every request.
        """
        if isinstance(schema, type):
            schema = schema()
        decorator = super().arguments(schema, location=location, required=required, **kwargs)
        if location != "json" or not required:
            return decorator

        def wrap(func: F) -> F:
            inner = decorator(func)

            @wraps(inner)
            def wrapper(*args: Any, **kw: Any) -> Any:
                if not request.get_data(cache=True):
                    raise BodyRequired("Send a JSON object as the request body.")
                return inner(*args, **kw)

            return wrapper  # type: ignore[return-value]

        return wrap

    def auth(self, *roles: str) -> Callable[[F], F]:
        """Require a bearer token whose principal has one of ``roles``.

        Roles: ``customer`` (any signed-in person), ``staff``, ``admin``, ``device`` (a
        store scanner). Documents the security scheme and the 401/403 answers.
        """
        from wallet_api.extensions.auth import authenticate

        def decorator(func: F) -> F:
            @wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                authenticate(roles)
                return func(*args, **kwargs)

            wrapper = self.doc(security=[{"bearerAuth": []}])(wrapper)
            wrapper = self.alt_response(401, response="UNAUTHORIZED")(wrapper)
            wrapper = self.alt_response(403, response="FORBIDDEN")(wrapper)
            return wrapper  # type: ignore[return-value]

        return decorator

    def idempotent(self, func: F | None = None, *, calls_out: bool = False) -> Any:
        """Require an ``Idempotency-Key`` and replay the first answer to a retry.

        ``@blp.idempotent(calls_out=True)``: the view calls another service before it
        writes and claims the key itself (``extensions/idempotency.py``).
        """
        from wallet_api.extensions.idempotency import idempotent

        if func is None:
            return partial(self.idempotent, calls_out=calls_out)
        wrapper = idempotent(func, calls_out=calls_out)
        wrapper = self.doc(
            parameters=[
                {
                    "in": "header",
                    "name": "Idempotency-Key",
                    "required": True,
                    "description": "A unique key per operation (1-255 printable characters); "
                    "a retry with the same key and body returns the first response.",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                }
            ]
        )(wrapper)
        wrapper = self.alt_response(400, response="BAD_REQUEST")(wrapper)
        wrapper = self.alt_response(422, response="UNPROCESSABLE_ENTITY")(wrapper)
        return wrapper  # type: ignore[return-value]

    def problems(self, *statuses: int) -> Callable[[F], F]:
        """Document the error statuses an operation can answer besides success."""

        def decorator(func: F) -> F:
            for status in statuses:
                func = self.alt_response(status, response=http.HTTPStatus(status).name)(func)
            return func

        return decorator
