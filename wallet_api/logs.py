"""Logs: one line per record, JSON in production, each tagged with its request's id.

Every record made while a request is handled carries ``request_id`` (added by the record
factory, so pytest's caplog and any other handler see it too), and each request ends with
one access line: method, route, status, duration and principal. A line never carries a
token, password, pay code, claim token or full email address: routes are logged as their
URL rule (``/g/<token>``), never as the path or query string, and bodies are never logged.

python-json-logger rather than structlog: it is a formatter for the standard library's
logging, which our code, Flask, SQLAlchemy and Flask-Limiter already log through, so one
handler serves them all and nothing needs wrapping.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from typing import Any

from flask import Flask, Response, current_app, g, has_request_context, request, signals
from flask.logging import default_handler
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
# What we accept from a proxy: short, printable and safe to put in a header and a log line.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"

access_log = logging.getLogger("wallet_api.access")


def request_id() -> str:
    """This request's id: a trusted proxy's ``X-Request-ID`` if it is sane, else a new one.

    Chosen on first use and kept in ``g``, so the rate limiter's 429, raised before any
    hook of ours runs, carries the same id as the access line."""
    chosen: str | None = g.get("request_id")
    if chosen is None:
        offered = request.headers.get(REQUEST_ID_HEADER, "")
        # Without a trusted proxy in front the header is the client's own word: ids would
        # collide on purpose, and a forged one could point support at someone else's request.
        trusted = current_app.config["WALLET_TRUSTED_PROXIES"] > 0
        chosen = offered if trusted and SANE_REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex
        g.request_id = chosen
    return chosen


def current_request_id() -> str | None:
    return request_id() if has_request_context() else None


def principal_label() -> str:
    """``user:<id>``, ``device:<id>`` or ``anonymous``: who the view authenticated, if it did.

    Read from ``g`` only: logging must not authenticate (a bad token would fail twice)."""
    principal = g.get("principal")
    return principal.scope if principal is not None else "anonymous"


def configure_logging(app: Flask) -> None:
    """One handler on the root logger, in ``WALLET_LOG_FORMAT``, at ``WALLET_LOG_LEVEL``.

    Called by create_app, never at import. Calling it again (another app in the same
    process, as tests do) replaces the handler rather than adding a second one."""
    _tag_records_with_request_id()
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name("wallet_api")
    handler.setFormatter(formatter(app.config["WALLET_LOG_FORMAT"]))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "wallet_api"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(app.config["WALLET_LOG_LEVEL"])
    # The development server's request lines hold the raw path, a gift link's claim token
    # among them; the access line replaces them. Its warnings and errors still show.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # Flask gives its logger a handler of its own when it sees none: lines would repeat.
    app.logger.removeHandler(default_handler)
    signals.request_started.connect(_start_clock, app)
    signals.request_finished.connect(_log_access, app)


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
        )
    return logging.Formatter(TEXT_FORMAT, defaults={"request_id": "-"})


# Marks our record factory, so that a second app in the process does not wrap it again.
_ADDS_REQUEST_ID = "adds_request_id"


def _tag_records_with_request_id() -> None:
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, _ADDS_REQUEST_ID, False):
        return

    def make_tagged_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        if has_request_context():
            record.request_id = request_id()
        return record

    setattr(make_tagged_record, _ADDS_REQUEST_ID, True)
    logging.setLogRecordFactory(make_tagged_record)


def _start_clock(sender: Flask, **extra: Any) -> None:
    g.request_started = time.perf_counter()


def _log_access(sender: Flask, response: Response, **extra: Any) -> None:
    # request_finished comes after every after_request hook, for a 500 too (unless
    # PROPAGATE_EXCEPTIONS hands the exception to the server), so the status is final.
    response.headers[REQUEST_ID_HEADER] = request_id()
    started = g.get("request_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
    # The URL rule, not the path: a path holds ids and, for gift links, the claim token.
    route = request.url_rule.rule if request.url_rule is not None else None
    principal = principal_label()
    access_log.info(
        "%s %s %s %sms %s",
        request.method,
        route or "-",
        response.status_code,
        duration_ms,
        principal,
        extra={
            "method": request.method,
            "route": route,
            "status": response.status_code,
            "duration_ms": duration_ms,
            "principal": principal,
            "remote_addr": request.remote_addr,
        },
    )
