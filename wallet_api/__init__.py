"""Bean Wallet: a loyalty wallet and gifting backend for a coffee chain."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import psycopg
from flask import Flask, Response, current_app, request
from sqlalchemy import exc as sa_exc
from werkzeug.middleware.proxy_fix import ProxyFix

from wallet_api.config import Settings
from wallet_api.extensions import (
    api,
    db,
    idempotency,  # noqa: F401  (its model is part of the schema)
    limiter,
    migrate,
)
from wallet_api.extensions.database import mark_read_only, view_may_write
from wallet_api.extensions.docs import docs
from wallet_api.extensions.jsonbody import JSONProvider
from wallet_api.extensions.problems import ApiError, DatabaseUnavailable, render_api_error
from wallet_api.logs import configure_logging

# Each domain package registers its blueprint(s) in ``register(api)``.
DOMAINS = (
    "wallet_api.ops",
    "wallet_api.auth",
    "wallet_api.ledger",
    "wallet_api.catalog",
    "wallet_api.social",
    "wallet_api.transfers",
    "wallet_api.audit",
    "wallet_api.stores",
    "wallet_api.paycodes",
    "wallet_api.loyalty",
    "wallet_api.wallet",
    "wallet_api.blends",
    "wallet_api.allowances",
    "wallet_api.gifts",
    # The till, after the kinds of code that plug into it (counter/__init__.py).
    "wallet_api.counter",
)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.json = JSONProvider(app)
    settings = Settings.from_env(Path(app.instance_path))
    app.config.update(settings.to_flask())
    app.config.update(
        API_TITLE="Bean Wallet API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",  # /docs is ours: extensions/docs.py
        API_SPEC_OPTIONS={
            "info": {
                "description": "Prepaid credit, custom blends, gifts and loyalty for a "
                "coffee chain. Errors are application/problem+json with a stable `code`."
            },
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
                }
            },
        },
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    if overrides:
        app.config.update(overrides)
    configure_logging(app)
    proxies = app.config["WALLET_TRUSTED_PROXIES"]
    if proxies:
        # Rate limits and audit records key on the client's address, which only the
        # trusted proxies in front of us know; they pass it in X-Forwarded-For.
        # Flask's documented way to wrap its WSGI app.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # Flask types it as a method
            app.wsgi_app, x_for=proxies, x_proto=proxies
        )

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    limiter.init_app(app)
    api.init_app(app)
    app.register_blueprint(docs)
    for name in DOMAINS:
        importlib.import_module(name).register(api)

    app.register_error_handler(ApiError, render_api_error)
    for error in DATABASE_UNAVAILABLE:
        app.register_error_handler(error, database_unavailable)
    _register_request_hooks(app)

    from wallet_api.cli import register_commands

    register_commands(app)
    return app


# What a lost or restarting database looks like from here: the driver's operational and
# interface errors (connection refused or dropped, server shutting down, a deadlock or
# serialization failure) and no pooled connection in time. All are worth a retry.
# The money path's raw-cursor statements (extensions/fixed.py, the ledger's among them) raise
# SQLAlchemy's classes too; the driver's own stay listed for any raw use that does not.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


def _forget_failed_transaction() -> None:
    # Roll back now, so this request can write nothing more; a connection that died is
    # invalidated by SQLAlchemy, with every idle one in the pool (optimistic disconnect
    # handling, see config._engine_options): the requests after it get new connections.
    try:
        db.session.rollback()
    except (sa_exc.SQLAlchemyError, psycopg.Error) as exc:
        # The rollback cannot reach the server either (an error raised by the raw cursor
        # left SQLAlchemy unaware the connection died): drop the session's connections
        # instead of returning them to the pool.
        current_app.logger.info("rollback after a database error failed: %s", _first_line(exc))
        try:
            db.session().invalidate()  # the Session: scoped_session does not proxy it
        except (sa_exc.SQLAlchemyError, psycopg.Error):
            current_app.logger.info("invalidating the session's connections failed")


def _first_line(error: Exception) -> str:
    # The driver's own message (connection refused, server closed the connection, ...),
    # without SQLAlchemy's SQL and parameters, which may carry customers' data.
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0] if lines else ''}"


def database_unavailable(error: Exception) -> Response:
    current_app.logger.warning("database unavailable: %s", _first_line(error))
    _forget_failed_transaction()
    return render_api_error(DatabaseUnavailable())


def _register_request_hooks(app: Flask) -> None:
    @app.before_request
    def _declare_read_only() -> None:
        # Read-only requests take no write lock on SQLite, except views marked
        # @writes_on_read (a GET that may write); see extensions/database.py.
        view = app.view_functions.get(request.endpoint) if request.endpoint else None
        mark_read_only(
            request.method in ("GET", "HEAD", "OPTIONS")
            and not view_may_write(view, request.method)
        )

    @app.after_request
    def _commit(response: Response) -> Response:
        # One commit per request, here; services only flush. A failed request commits
        # nothing: the session is rolled back when it is removed at teardown.
        if response.status_code < 400:
            try:
                db.session.commit()
            except DATABASE_UNAVAILABLE as exc:
                # Raised here it would bypass the error handlers and answer a bare 500.
                # Whether the commit reached the server is unknown; a retry with the same
                # Idempotency-Key replays the answer if it did and redoes the work if not.
                return _security_headers(database_unavailable(exc))
        return response

    @app.after_request
    def _no_content(response: Response) -> Response:
        # A 204 has no body, so nothing to describe: Flask would still label it JSON.
        if response.status_code == 204:
            response.headers.pop("Content-Type", None)
            response.set_data(b"")
        return response

    @app.after_request
    def _security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if response.mimetype in ("application/json", "application/problem+json"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
