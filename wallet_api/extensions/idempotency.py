"""``Idempotency-Key`` for every request that moves money.

The key row is inserted in the same database transaction as the money movement and holds
the response, so it is either committed with its effects or not at all:

* the same key and body again -> the stored response, nothing moves again;
* the same key with another body (or on another endpoint) -> 422 ``idempotency_key_reused``;
* two requests racing with one key -> the second waits on the unique index (PostgreSQL) or
  the write lock (SQLite) and then replays the first one's response.

The key is claimed with one ``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` (Core, not the
ORM: this runs before every charge): a new key costs that statement and the final UPDATE with
the response; only a key that exists already is read back. On PostgreSQL the insert waits for
a racing transaction holding the same key: if it commits, nothing is inserted and its answer
is replayed; if it rolls back, this request claims the key and runs.

A request that fails (4xx) rolls back with its key, so a corrected retry may use it again.
Keys are scoped per principal and kept at least 24 hours (``wallet-api idempotency purge``).

A view that calls another service first (``idempotent(calls_out=True)``: a Stripe top-up)
must not hold the claimed key, an uncommitted row that a racing request waits on, while
that service answers. There the key is looked up first (an answer that exists is replayed
without calling out) and the view claims it itself with :func:`claim_key`, after the call
and before it writes; if a racing request with the same key claimed it meanwhile, that
request's answer is replayed instead. Both may have called out, so the call itself must be
idempotent: it is keyed by :func:`request_reference`, the same for the same key and body.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial, wraps
from typing import Any, ParamSpec, cast

from flask import Response, g, make_response, request
from sqlalchemy import (
    Integer,
    Row,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    delete,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Mapped, mapped_column

from wallet_api.clock import utcnow
from wallet_api.extensions.auth import current_principal
from wallet_api.extensions.database import Model, UTCDateTime, bigint_pk, created_at, db
from wallet_api.extensions.fixed import FixedStatement
from wallet_api.extensions.problems import BadRequest, Unprocessable

P = ParamSpec("P")

KEEP_FOR = timedelta(hours=48)
REPLAYED_HEADER = "Idempotent-Replayed"


class IdempotencyKeyMissing(BadRequest):
    code, title = "idempotency_key_missing", "An Idempotency-Key header is required"


class IdempotencyKeyReused(Unprocessable):
    code = "idempotency_key_reused"
    title = "This Idempotency-Key was used for a different request"


class IdempotencyKey(Model):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_keys_scope_key"),)

    id: Mapped[bigint_pk]
    scope: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    response_location: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[created_at] = mapped_column(index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def _fingerprint() -> str:
    body = request.get_json(silent=True)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    raw = f"{request.method} {request.path}?{request.query_string.decode()}\n{canonical}"
    return hashlib.sha256(raw.encode()).hexdigest()


def _read_key() -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        raise IdempotencyKeyMissing("Send a unique Idempotency-Key header with this request.")
    if len(key) > 255 or not key.isprintable():
        raise IdempotencyKeyMissing("The Idempotency-Key must be 1-255 printable characters.")
    return key


# What a key row keeps of the first answer: fingerprint, status, body, Location.
KeptAnswer = Row[str, int | None, str | None, str | None]


def _replay(record: KeptAnswer, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different request body or endpoint."
        )
    response = Response(
        record.response_body or "", status=record.response_status, mimetype="application/json"
    )
    if record.response_location:
        response.headers["Location"] = record.response_location
    response.headers[REPLAYED_HEADER] = "true"
    return response


_keys = IdempotencyKey.__table__
# Built once per dialect: the statement runs before every money-moving request.
_CLAIMS = {
    name: insert(_keys)
    .on_conflict_do_nothing(index_elements=[_keys.c.scope, _keys.c.key])
    .returning(_keys.c.id)
    for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}
# PostgreSQL's sends on the driver's connection (extensions/fixed.py): every money request.
_PG_CLAIM = FixedStatement(_CLAIMS["postgresql"])


# The answer is kept with its key: built once as well.
_COMPLETE = FixedStatement(
    update(_keys)
    .where(_keys.c.id == bindparam("record_id"))
    .values(
        {
            name: bindparam(name)
            for name in ("response_status", "response_body", "response_location", "completed_at")
        }
    )
)


def _claim(scope: str, key: str, fingerprint: str) -> int | None:
    """The new key row's id, or None when the key exists (committed by another request)."""
    dialect = db.session.get_bind().dialect.name
    values = {"scope": scope, "key": key, "fingerprint": fingerprint, "created_at": utcnow()}
    if dialect == "postgresql":
        return _PG_CLAIM.execute(values).scalar_one_or_none()
    return db.session.execute(_CLAIMS[dialect], values).scalar_one_or_none()


def _find(scope: str, key: str) -> KeptAnswer | None:
    return db.session.execute(
        select(
            _keys.c.fingerprint,
            _keys.c.response_status,
            _keys.c.response_body,
            _keys.c.response_location,
        ).where(_keys.c.scope == scope, _keys.c.key == key)
    ).one_or_none()


def _replay_claimed(scope: str, key: str, fingerprint: str) -> Response:
    existing = _find(scope, key)
    if existing is None:  # pragma: no cover - deleted (purged) in between
        raise RuntimeError("An Idempotency-Key vanished while it was being claimed.")
    return _replay(existing, fingerprint)


@dataclass
class _Unclaimed:
    """This request's key, for a ``calls_out`` view to claim (``g.idempotency``)."""

    scope: str
    key: str
    fingerprint: str
    record_id: int | None = None


class _ClaimedMeanwhile(Exception):
    """A racing request with the same key claimed it first; its answer is replayed."""


def request_reference() -> str:
    """A name for this request's operation in a ``calls_out`` view: the same for the same
    principal, key and body, so that the service called out to does the work once."""
    pending: _Unclaimed = _pending()
    raw = f"{pending.scope}\n{pending.key}\n{pending.fingerprint}"
    return hashlib.sha256(raw.encode()).hexdigest()


def claim_key() -> None:
    """Claim this request's key, in a ``calls_out`` view after its call out and before it
    writes anything. A racing request that claimed the key first has its answer replayed."""
    pending = _pending()
    pending.record_id = _claim(pending.scope, pending.key, pending.fingerprint)
    if pending.record_id is None:
        raise _ClaimedMeanwhile


def _pending() -> _Unclaimed:
    pending: _Unclaimed | None = g.get("idempotency")
    if pending is None:  # a programming error: the view is not idempotent(calls_out=True)
        raise RuntimeError("claim_key() and request_reference() need idempotent(calls_out=True)")
    return pending


def _complete(record_id: int, response: Response) -> None:
    _COMPLETE.execute(
        {
            "record_id": record_id,
            "response_status": response.status_code,
            "response_body": response.get_data(as_text=True),
            "response_location": response.headers.get("Location"),
            "completed_at": utcnow(),
        },
    )


def _calling_out(view: Callable[[], Any], pending: _Unclaimed) -> Response:
    existing = _find(pending.scope, pending.key)
    if existing is not None:
        return _replay(existing, pending.fingerprint)
    g.idempotency = pending
    try:
        response = make_response(view())
    except _ClaimedMeanwhile:
        return _replay_claimed(pending.scope, pending.key, pending.fingerprint)
    if pending.record_id is None:
        if response.status_code >= 400:  # nothing is kept: no key to record it with
            return response
        raise RuntimeError("An idempotent(calls_out=True) view answered without claim_key().")
    _complete(pending.record_id, response)
    return response


def idempotent(view: Callable[P, Any], *, calls_out: bool = False) -> Callable[P, Response]:
    """Require an ``Idempotency-Key`` and replay the first answer to a retry; with
    ``calls_out`` the view claims the key itself (see the module's docstring)."""

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
        key = _read_key()
        scope = current_principal().scope
        fingerprint = _fingerprint()
        if calls_out:
            return _calling_out(partial(view, *args, **kwargs), _Unclaimed(scope, key, fingerprint))
        record_id = _claim(scope, key, fingerprint)
        if record_id is None:
            return _replay_claimed(scope, key, fingerprint)
        response = make_response(view(*args, **kwargs))
        _complete(record_id, response)
        return response

    return wrapper


def purge_expired_keys(now: datetime | None = None) -> int:
    cutoff = (now or utcnow()) - KEEP_FOR
    # A DELETE's result is a CursorResult; Session.execute is typed for any statement's.
    result = cast(
        CursorResult[Any],
        db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff)),
    )
    return result.rowcount or 0


def new_key() -> str:
    """A fresh key, for server-side callers and tests."""
    return uuid.uuid4().hex
