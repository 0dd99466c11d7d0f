# Types for the part of flask-smorest (0.47) that Bean Wallet uses: the library ships none
# (no py.typed, no stub package). Signatures follow flask_smorest's own code; what is not
# declared here is Any (the module __getattr__), so a new use shows up as untyped, not wrong.
# The decorators are typed by what their wrappers do: ``response`` turns the view's return
# value into a Response; ``arguments`` passes the loaded arguments to the view, so the
# wrapper takes fewer than the view; ``doc`` and ``alt_response`` wrap with the same
# signature; ``route`` returns the view itself.

from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any, ParamSpec, TypeVar

import flask
import marshmallow as ma
from apispec import APISpec
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

_P = ParamSpec("_P")
_R = TypeVar("_R")
_F = TypeVar("_F", bound=Callable[..., Any])
_SchemaArg = type[ma.Schema] | ma.Schema
_Status = int | str | HTTPStatus

# A ``_prepare_doc_cbks`` entry: (doc, doc_info, *, api, app, spec, method_name, ...) -> doc
_DocCallback = Callable[..., dict[str, Any]]

def __getattr__(name: str) -> Any: ...

class Api:
    ERROR_SCHEMA: type[ma.Schema]
    DEFAULT_ERROR_RESPONSE_NAME: str | None
    config_prefix: str
    # None until ``init_app``, which every use here comes after.
    spec: APISpec
    def __init__(
        self,
        app: flask.Flask | None = None,
        *,
        spec_kwargs: Mapping[str, Any] | None = None,
        config_prefix: str = "",
    ) -> None: ...
    def init_app(
        self, app: flask.Flask, *, spec_kwargs: Mapping[str, Any] | None = None
    ) -> None: ...
    def register_blueprint(
        self, blp: Blueprint, *, parameters: list[Any] | None = None, **options: Any
    ) -> None: ...
    def handle_http_exception(self, error: HTTPException) -> flask.typing.ResponseReturnValue: ...
    def _register_responses(self) -> None: ...

class Blueprint(flask.Blueprint):
    ARGUMENTS_PARSER: FlaskParser
    description: str
    _docs: dict[str, dict[str, Any]]
    _endpoints: list[str]
    _prepare_doc_cbks: list[_DocCallback]
    def __init__(self, *args: Any, **kwargs: Any) -> None: ...
    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: Callable[..., Any] | None = None,
        provide_automatic_options: bool | None = None,
        *,
        parameters: list[Any] | None = None,
        tags: list[str] | None = None,
        **options: Any,
    ) -> None: ...
    def route(
        self,
        rule: str,
        *,
        parameters: list[Any] | None = None,
        tags: list[str] | None = None,
        **options: Any,
    ) -> Callable[[_F], _F]: ...
    def arguments(
        self,
        schema: _SchemaArg,
        *,
        location: str = "json",
        content_type: str | None = None,
        required: bool = True,
        description: str | None = None,
        example: Any = None,
        examples: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Callable[[Callable[..., _R]], Callable[..., _R]]: ...
    def response(
        self,
        status_code: _Status,
        schema: _SchemaArg | str | dict[str, Any] | None = None,
        *,
        content_type: str | None = None,
        description: str | None = None,
        example: Any = None,
        examples: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
    ) -> Callable[[Callable[_P, Any]], Callable[_P, Response]]: ...
    def alt_response(
        self,
        status_code: _Status,
        response: str | None = None,
        *,
        schema: _SchemaArg | str | dict[str, Any] | None = None,
        content_type: str | None = None,
        description: str | None = None,
        example: Any = None,
        examples: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
        success: bool = False,
    ) -> Callable[[_F], _F]: ...
    @staticmethod
    def doc(**kwargs: Any) -> Callable[[_F], _F]: ...
