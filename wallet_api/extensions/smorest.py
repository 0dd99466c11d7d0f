"""flask-smorest, subclassed once: problem+json errors, security docs, idempotency docs,
operation names and the problem codes each operation can answer.

Routes import ``Api``/``Blueprint``/``Schema`` from ``wallet_api.extensions``, never from
flask_smorest directly, so the rules below hold for every endpoint.
"""

from __future__ import annotations

import http
import json
import time
from collections.abc import Callable, Iterable, Mapping
from copy import deepcopy
from functools import wraps
from typing import Any, NoReturn, ParamSpec, TypeVar, overload

import flask_smorest
import marshmallow as ma
from apispec import APISpec
from flask import Request, Response, current_app, request
from flask_smorest.utils import prepare_response
from marshmallow.error_store import merge_errors
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import HTTPException

from wallet_api.extensions.problems import (
    HTTP_STATUS_CODES,
    PROBLEM_MIMETYPE,
    TITLES,
    AccessTokenRevoked,
    ApiError,
    DatabaseUnavailable,
    DeviceRevoked,
    Forbidden,
    JsonTooDeep,
    MalformedJson,
    PayloadTooLarge,
    ProblemSchema,
    TokenExpired,
    TokenInvalid,
    TokenMissing,
    UnsupportedMediaType,
    ValidationFailed,
    problem_response,
)

F = TypeVar("F", bound=Callable[..., Any])
# A view: a function, or a MethodView class.
V = TypeVar("V", bound=Callable[..., Any])
P = ParamSpec("P")
R = TypeVar("R")


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
        # flask-smorest registers a component per HTTP status; our operations document
        # each error status inline with its problem codes (``problems``), so only the
        # catch-all ``default`` answer remains, documented as the problem+json we send.
        response = {"description": "Error", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_MIMETYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def handle_http_exception(self, error: HTTPException) -> Response:
        status = error.code or 500
        code = HTTP_STATUS_CODES.get(status, "http_error")
        try:
            title = TITLES.get(code) or http.HTTPStatus(status).phrase
        except ValueError:
            title = "Error"
        detail = error.description if status < 500 else "An unexpected error occurred."
        headers: dict[str, str] = {}
        data = getattr(error, "data", None) or {}
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
        return problem_response(status, code, title, detail, headers=headers)


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


JSON_MIMETYPE = "application/json"
FIELDS_INVALID = "Some fields are not valid; see errors."


class ArgumentsInvalid(ValidationFailed):
    """webargs' refusal of a request's arguments, by field, keeping what did load."""

    def __init__(self, error: ma.ValidationError) -> None:
        messages: Any = error.messages
        # webargs nests messages by location ({"json": {...}}); clients want fields.
        if isinstance(messages, dict) and len(messages) == 1:
            ((location, by_field),) = messages.items()
            if location in ("json", "query", "headers", "path", "view_args", "files"):
                messages = by_field
        errors = messages if isinstance(messages, dict) else {"_schema": messages}
        super().__init__(FIELDS_INVALID, errors=errors)
        self.loaded = _in_body_positions(error.valid_data, error.data, errors)


def _in_body_positions(loaded: Any, body: Any, errors: Mapping[str, Any]) -> dict[str, Any]:
    """What loaded of a refused body, each list with ``None`` where the body's item was refused.

    marshmallow leaves a refused item out of the list it loads (an object item stays, as what
    of it loaded), so the items after it would sit one place early, and whatever a route says
    about ``toppings[2]`` would land on the wrong one.
    """
    positions: dict[str, Any] = dict(loaded) if isinstance(loaded, Mapping) else {}
    if not isinstance(body, Mapping):
        return positions
    for name, items in positions.items():
        sent, refused = body.get(name), errors.get(name)
        if not (isinstance(items, list) and isinstance(sent, list) and isinstance(refused, dict)):
            continue
        gaps = {index for index in refused if isinstance(index, int)}
        if len(items) + len(gaps) == len(sent):
            kept = iter(items)
            positions[name] = [None if index in gaps else next(kept) for index in range(len(sent))]
    return positions


class Parser(FlaskParser):
    """webargs' Flask parser: JSON read by the app's provider (its depth limit), and its
    refusals raised as our problems, with one title per code."""

    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req):
            return webargs_core.missing
        # Strictly UTF-8 (RFC 8259), as webargs reads it; a bad byte is its malformed JSON.
        return current_app.json.loads(req.get_data(cache=True).decode())

    def _handle_invalid_json_error(
        self,
        error: json.JSONDecodeError | UnicodeDecodeError,
        req: Request,
        *args: Any,
        **kwargs: Any,
    ) -> NoReturn:
        raise MalformedJson("The request body is not valid JSON.") from error

    def handle_error(
        self,
        error: ma.ValidationError,
        req: Request,
        schema: ma.Schema,
        *,
        error_status_code: int | None,
        error_headers: Mapping[str, str] | None,
    ) -> NoReturn:
        raise ArgumentsInvalid(error)


# A route's own checks of the part of a refused body that did load, with the view's URL
# arguments; what they find joins the schema's errors in one 422.
MoreErrors = Callable[..., Mapping[str, Any]]


Problems = Iterable[type[ApiError]]

# What every JSON body can be refused for, before the route's own rules.
BODY_PROBLEMS: tuple[type[ApiError], ...] = (
    MalformedJson,
    JsonTooDeep,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)


# Where flask-smorest keeps what its decorators learn of a view, for the spec.
_APIDOC = "_apidoc"


def _add_problems(doc_info: dict[str, Any], problems: Problems) -> None:
    by_status: dict[int, dict[str, str]] = doc_info.setdefault("problems", {})
    for problem in problems:
        by_status.setdefault(problem.status, {}).setdefault(problem.code, problem.title)


def with_problems(func: F, problems: Problems) -> F:
    """Record on ``func`` the problems it can answer, by status, for the spec."""
    apidoc: dict[str, Any] = deepcopy(getattr(func, _APIDOC, {}))
    setattr(func, _APIDOC, apidoc)
    _add_problems(apidoc, problems)
    return func


def _problems_doc(
    doc: dict[str, Any], doc_info: Mapping[str, Any], *, spec: APISpec, **kwargs: Any
) -> dict[str, Any]:
    """Each error status as a problem+json response listing its ``code``s.

    ``x-problem-codes`` is the list for machines; the description says the same for people.
    """
    responses = doc.setdefault("responses", {})
    for status, codes in sorted(doc_info.get("problems", {}).items()):
        listed = "\n".join(f"- `{code}`: {title}" for code, title in sorted(codes.items()))
        phrase = http.HTTPStatus(status).phrase
        response: dict[str, Any] = {
            "description": f"{phrase}, with one of these codes:\n\n{listed}",
            "schema": ProblemSchema,
        }
        prepare_response(response, spec, PROBLEM_MIMETYPE)
        response["x-problem-codes"] = sorted(codes)
        responses[status] = response
    # By status, "default" last: flask-smorest's ``arguments`` put its 422 first.
    doc["responses"] = dict(sorted(responses.items(), key=lambda item: str(item[0])))
    return doc


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._problems_when_registered: dict[str, Callable[[], Problems]] = {}
        self._prepare_doc_cbks.append(self._registered_problems_doc)
        self._prepare_doc_cbks.append(_problems_doc)

    def problems_when_registered(self, operation_id: str, problems: Callable[[], Problems]) -> None:
        """Problems of an operation that are known only once the app is put together (those
        of the kinds of code plugged into the counter): asked for when the blueprint is
        registered, so it registers after whatever adds to them."""
        self._problems_when_registered[operation_id] = problems

    def _registered_problems_doc(
        self, doc: dict[str, Any], doc_info: dict[str, Any], **kwargs: Any
    ) -> dict[str, Any]:
        operation_id = doc_info.get("manual_doc", {}).get("operationId")
        problems = self._problems_when_registered.get(operation_id)
        if problems is not None:
            _add_problems(doc_info, problems())
        return doc

    def route(  # type: ignore[override]  # operations is required: every operation is named
        self,
        rule: str,
        *,
        operations: Mapping[str, str],
        parameters: list[Any] | None = None,
        tags: list[str] | None = None,
        **options: Any,
    ) -> Callable[[V], V]:
        """As flask-smorest's, with each method's ``operationId``, which generated clients
        name their functions after: ``operations={"get": "list_blends", "post": "create_blend"}``.

        Every method of the view must be named (a view registered without names fails at
        import): names say what an operation does, which ``post_v1_blends`` does not.
        """

        def decorator(view: V) -> V:
            declared = getattr(view, "methods", None) or options.get("methods", ("GET",))
            methods = {method.lower() for method in declared} - {"head", "options"}
            if methods != set(operations):
                raise TypeError(f"{rule}: name each method of {view.__name__} in operations")
            endpoint = options.pop("endpoint", None)
            self.add_url_rule(rule, endpoint, view, parameters=parameters, tags=tags, **options)
            docs = self._docs[self._endpoints[-1]]
            for method, name in operations.items():
                docs[method].setdefault("manual_doc", {})["operationId"] = name
            return view

        return decorator

    def arguments(
        self,
        schema: type[ma.Schema] | ma.Schema,
        *,
        location: str = "json",
        required: bool = True,
        more_errors: MoreErrors | None = None,
        **kwargs: Any,
    ) -> Callable[[Callable[..., R]], Callable[..., R]]:
        """As flask-smorest's, but a JSON body must come as ``application/json`` (else a
        415), and a required one that is absent is a 400.

        webargs would load an absent body, or one of another type, as ``{}``, which for a
        schema without required fields silently means "change nothing".

        ``more_errors(loaded, **view_args)``: when the schema refuses a body, the route's
        own checks (the service's) of what did load, so that the client hears of every
        broken rule in one 422 rather than one after another.

        A schema given as a class is made once here: webargs would make one per request,
        and marshmallow copies every declared field (and every nested schema) for each.
        Our schemas keep no state between loads, so one instance serves every request.
        """
        if isinstance(schema, type):
            schema = schema()
        decorator = super().arguments(schema, location=location, required=required, **kwargs)
        if location != "json":
            return lambda func: with_problems(decorator(func), [ValidationFailed])

        def wrap(func: Callable[..., R]) -> Callable[..., R]:
            inner = decorator(func)

            @wraps(inner)
            def wrapper(*args: Any, **kw: Any) -> R:
                body = request.get_data(cache=True)
                if body and request.mimetype != JSON_MIMETYPE:
                    raise UnsupportedMediaType(f"Send the request body as {JSON_MIMETYPE}.")
                if required and not body:
                    raise BodyRequired("Send a JSON object as the request body.")
                try:
                    return inner(*args, **kw)
                except ArgumentsInvalid as refused:
                    more = more_errors(refused.loaded, **kw) if more_errors else None
                    if not more:
                        raise
                    errors = merge_errors(refused.errors, dict(more))
                    raise ValidationFailed(FIELDS_INVALID, errors=errors) from None

            refusals: Problems = (BodyRequired, *BODY_PROBLEMS) if required else BODY_PROBLEMS
            return with_problems(wrapper, refusals)

        return wrap

    def auth(self, *roles: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """Require a bearer token whose principal has one of ``roles``.

        Roles: ``customer`` (any signed-in person), ``staff``, ``admin``, ``device`` (a
        store scanner). Documents the security scheme and the 401/403 answers.
        """
        from wallet_api.extensions.auth import authenticate

        revoked: list[type[ApiError]] = [DeviceRevoked] if "device" in roles else []
        if set(roles) - {"device"}:
            revoked.append(AccessTokenRevoked)
        problems: list[type[ApiError]] = [
            TokenMissing,
            TokenInvalid,
            TokenExpired,
            *revoked,
            Forbidden,
        ]

        def decorator(func: Callable[P, R]) -> Callable[P, R]:
            @wraps(func)
            def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
                authenticate(roles)
                return func(*args, **kwargs)

            wrapper = self.doc(security=[{"bearerAuth": []}])(wrapper)
            # The principal is read from the database on every request.
            return with_problems(wrapper, [*problems, DatabaseUnavailable])

        return decorator

    @overload
    def idempotent(
        self, func: Callable[P, Any], *, calls_out: bool = False
    ) -> Callable[P, Response]: ...

    @overload
    def idempotent(
        self, func: None = None, *, calls_out: bool = False
    ) -> Callable[[Callable[P, Any]], Callable[P, Response]]: ...

    def idempotent(
        self, func: Callable[P, Any] | None = None, *, calls_out: bool = False
    ) -> Callable[P, Response] | Callable[[Callable[P, Any]], Callable[P, Response]]:
        """Require an ``Idempotency-Key`` and replay the first answer to a retry.

        ``@blp.idempotent(calls_out=True)``: the view calls another service before it
        writes and claims the key itself (``extensions/idempotency.py``).
        """
        from wallet_api.extensions.idempotency import (
            IdempotencyKeyMissing,
            IdempotencyKeyReused,
            idempotent,
        )

        if func is None:

            def decorator(view: Callable[P, Any]) -> Callable[P, Response]:
                return self.idempotent(view, calls_out=calls_out)

            return decorator
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
        return with_problems(wrapper, [IdempotencyKeyMissing, IdempotencyKeyReused])

    @staticmethod
    def problems(*problems: type[ApiError]) -> Callable[[F], F]:
        """Document the problems an operation answers besides those of ``auth``,
        ``idempotent`` and ``arguments``: the errors its services raise."""

        def decorator(func: F) -> F:
            return with_problems(func, problems)

        return decorator
