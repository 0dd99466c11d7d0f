"""The SQL of one charge, captured from a real request and replayed with raw psycopg.

Capture: a real ``POST /v1/charges`` goes through the app (Flask's test client, the same
code a gunicorn worker runs) while every psycopg ``execute``/``executemany`` and every
``commit``/``rollback`` is recorded at the driver, below SQLAlchemy, so the ledger's raw
statements (``wallet_api/extensions/fixed.py``) are seen too. Result rows are recorded
as well (client-side cursors are rewound after reading them, so the app sees them
unchanged).

Two charges of the same customer at the same till are captured; a parameter that is the
same in both is a constant of that customer/till, one that differs is per charge:

* a value that an earlier statement of the charge returned (the pay code's id, a ledger
  transaction's serial id) takes what that statement returns in the replay;
* the code's hash and the ``Idempotency-Key`` take the replayed charge's own;
* any other UUID (new charge, lines, transaction public id) becomes a fresh uuid4, the same
  one wherever the original appeared, also inside JSON text;
* timestamps become the replay's ``now``.

The replay then sends the same statements, in the same order, in the same transactions,
on one psycopg connection per client: what a charge costs the database and the network,
without Flask, SQLAlchemy or the app's Python.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg


@dataclass
class Call:
    kind: str  # "execute", "executemany", "commit", "rollback"
    query: Any = None
    params: Any = None
    rows: list[tuple[Any, ...]] | None = None


@dataclass
class Capture:
    calls: list[Call] = field(default_factory=list)
    active: bool = False
    started: datetime = field(default_factory=lambda: datetime.now(UTC))


_capture = Capture()


def _install() -> None:
    """Wrap psycopg's cursor and connection methods once, in this process."""
    if getattr(psycopg.Cursor, "_bench_wrapped", False):
        return
    original_execute = psycopg.Cursor.execute
    original_executemany = psycopg.Cursor.executemany
    original_commit = psycopg.Connection.commit
    original_rollback = psycopg.Connection.rollback

    def execute(self, query, params=None, **kwargs):  # type: ignore[no-untyped-def]
        result = original_execute(self, query, params, **kwargs)
        if _capture.active:
            rows = None
            if self.description is not None:
                rows = self.fetchall()
                if rows:
                    self.scroll(0, mode="absolute")
            text = query if isinstance(query, str) else query.as_string(self)
            _capture.calls.append(Call("execute", text, params, rows))
        return result

    def executemany(self, query, params_seq, **kwargs):  # type: ignore[no-untyped-def]
        params_seq = list(params_seq)
        result = original_executemany(self, query, params_seq, **kwargs)
        if _capture.active:
            text = query if isinstance(query, str) else query.as_string(self)
            _capture.calls.append(Call("executemany", text, params_seq, None))
        return result

    def commit(self):  # type: ignore[no-untyped-def]
        if _capture.active:
            _capture.calls.append(Call("commit"))
        return original_commit(self)

    def rollback(self):  # type: ignore[no-untyped-def]
        if _capture.active:
            _capture.calls.append(Call("rollback"))
        return original_rollback(self)

    psycopg.Cursor.execute = execute  # type: ignore[method-assign]
    psycopg.Cursor.executemany = executemany  # type: ignore[method-assign]
    psycopg.Connection.commit = commit  # type: ignore[method-assign]
    psycopg.Connection.rollback = rollback  # type: ignore[method-assign]
    psycopg.Cursor._bench_wrapped = True  # type: ignore[attr-defined]


def capture(work: Any) -> tuple[list[Call], datetime]:
    """The driver calls ``work()`` makes, and when it started."""
    _install()
    _capture.calls = []
    _capture.started = datetime.now(UTC)
    _capture.active = True
    try:
        work()
    finally:
        _capture.active = False
    calls, _capture.calls = _capture.calls, []
    return calls, _capture.started


def capture_charge(
    client, token: str, body: dict[str, Any], key: str
) -> tuple[list[Call], datetime]:  # type: ignore[no-untyped-def]
    """The driver calls of one charge request through ``client`` (a Flask test client)."""
    _install()
    _capture.calls = []
    _capture.started = datetime.now(UTC)
    _capture.active = True
    try:
        response = client.post(
            "/v1/charges",
            json=body,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
        )
    finally:
        _capture.active = False
    if response.status_code != 201:
        raise RuntimeError(f"capture charge -> {response.status_code}: {response.get_json()}")
    calls = _capture.calls
    _capture.calls = []
    return calls, _capture.started


# --- the template ---------------------------------------------------------------------


@dataclass(frozen=True)
class Returned:
    """A parameter taken from what statement ``call``'s row ``row``, column ``col`` gave."""

    call: int
    row: int
    col: int


@dataclass(frozen=True)
class Fresh:
    original: uuid.UUID


@dataclass(frozen=True)
class Now:
    """The replay's time, shifted as the original was from its request's start."""

    offset: timedelta


@dataclass(frozen=True)
class Offset:
    """A returned number plus what the charge added (a balance after, a version)."""

    returned: Returned
    delta: int


class CodeHash:
    pass


class Key:
    pass


@dataclass(frozen=True)
class Text:
    """A string with per-charge parts inside (JSON meta, a stored response)."""

    original: str


@dataclass
class Template:
    calls: list[tuple[str, str, Any]]  # (kind, query, params plan)
    fresh: list[uuid.UUID]  # the per-charge UUIDs of capture A, to replace in Text

    def describe(self) -> str:
        lines = []
        for kind, query, _ in self.calls:
            if kind in ("commit", "rollback"):
                lines.append(kind.upper())
            else:
                lines.append(" ".join(str(query).split())[:160])
        return "\n".join(lines)


def _cells(rows_a: list[Any], rows_b: list[Any], before: int):
    for index in reversed(range(before)):  # the latest read first
        for r, (row_a, row_b) in enumerate(
            zip(rows_a[index] or [], rows_b[index] or [], strict=False)
        ):
            for c, (cell_a, cell_b) in enumerate(zip(row_a, row_b, strict=True)):
                yield Returned(index, r, c), cell_a, cell_b


def _returned(rows_a: list[Any], rows_b: list[Any], va: Any, vb: Any, before: int):
    """Where both captures got this per-charge value from an earlier statement's rows."""
    for where, cell_a, cell_b in _cells(rows_a, rows_b, before):
        if cell_a == va and cell_b == vb and type(cell_a) is type(va):
            return where
    for where, cell_a, cell_b in _cells(rows_a, rows_b, before):
        if (
            type(va) is int
            and type(cell_a) is int
            and type(cell_b) is int
            and va - cell_a == vb - cell_b
            and abs(va - cell_a) < 10**6
        ):
            return Offset(where, va - cell_a)
    return None


def build_template(
    a: list[Call],
    b: list[Call],
    *,
    hash_a: str,
    key_a: str,
    started_a: datetime,
    hash_b: str,
    key_b: str,
) -> Template:
    if [(c.kind, c.query) for c in a] != [(c.kind, c.query) for c in b]:
        raise RuntimeError("two charges sent different statements: cannot build a template")
    rows_a = [c.rows for c in a]
    rows_b = [c.rows for c in b]
    fresh: dict[uuid.UUID, None] = {}

    def plan_value(va: Any, vb: Any, index: int) -> Any:
        if va == vb:
            return ("const", va)
        if isinstance(va, str) and va == hash_a and vb == hash_b:
            return CodeHash()
        if isinstance(va, str) and va == key_a and vb == key_b:
            return Key()
        returned = _returned(rows_a, rows_b, va, vb, index)
        if returned is not None:
            return returned
        if isinstance(va, uuid.UUID):
            fresh[va] = None
            return Fresh(va)
        if isinstance(va, datetime):
            # Whole seconds: "now" for a timestamp written, "now - 30 days" for a window.
            offset = va - started_a
            return Now(timedelta(seconds=round(offset.total_seconds())))
        if isinstance(va, str):
            return Text(va)
        if isinstance(va, psycopg.types.json.Jsonb | psycopg.types.json.Json):
            return ("json", type(va), Text(json.dumps(va.obj)))
        return ("const", va)  # e.g. a balance after: kept, the database does not check it

    def plan_params(pa: Any, pb: Any, index: int) -> Any:
        if pa is None:
            return None
        if isinstance(pa, dict):
            return {k: plan_value(pa[k], pb[k], index) for k in pa}
        return [plan_value(x, y, index) for x, y in zip(pa, pb, strict=True)]

    calls = []
    for index, (ca, cb) in enumerate(zip(a, b, strict=True)):
        if ca.kind == "executemany":
            params = [plan_params(x, y, index) for x, y in zip(ca.params, cb.params, strict=True)]
        else:
            params = plan_params(ca.params, cb.params, index)
        calls.append((ca.kind, ca.query, params))
    return Template(calls, list(fresh))


# --- the replay ---------------------------------------------------------------------------


class Replayer:
    """Runs one charge's statements per ``charge(code_text)`` on its own connection."""

    def __init__(self, dsn: str, template: Template) -> None:
        self.conn = psycopg.connect(dsn)
        self.template = template

    def charge(self, code_text: str) -> None:
        now = datetime.now(UTC)
        code = hashlib.sha256(code_text.encode()).hexdigest()
        key = uuid.uuid4().hex
        fresh = {old: uuid.uuid4() for old in self.template.fresh}
        fresh_text = [(str(old), str(new)) for old, new in fresh.items()]
        results: list[list[tuple[Any, ...]] | None] = []

        def text(original: str) -> str:
            for old, new in fresh_text:
                if old in original:
                    original = original.replace(old, new)
            return original

        def value(plan: Any) -> Any:
            if isinstance(plan, tuple):
                if plan[0] == "const":
                    return plan[1]
                return plan[1](json.loads(text(plan[2].original)))
            if isinstance(plan, Returned):
                return results[plan.call][plan.row][plan.col]  # type: ignore[index]
            if isinstance(plan, Fresh):
                return fresh[plan.original]
            if isinstance(plan, Offset):
                return (
                    results[plan.returned.call][plan.returned.row][plan.returned.col] + plan.delta
                )  # type: ignore[index]
            if isinstance(plan, Now):
                return now + plan.offset
            if isinstance(plan, CodeHash):
                return code
            if isinstance(plan, Key):
                return key
            if isinstance(plan, Text):
                return text(plan.original)
            return plan

        def params(plan: Any) -> Any:
            if plan is None:
                return None
            if isinstance(plan, dict):
                return {k: value(v) for k, v in plan.items()}
            return [value(v) for v in plan]

        self.begin()
        for kind, query, plan in self.template.calls:
            if kind == "commit":
                self.commit()
                results.append(None)
            elif kind == "rollback":
                self.rollback()
                results.append(None)
            elif kind == "executemany":
                self.executemany(query, [params(p) for p in plan])
                results.append(None)
            else:
                results.append(self.execute(query, params(plan)))
        self.end()

    # The driver calls; CoreReplayer sends the same through SQLAlchemy Core.
    def begin(self) -> None:
        self.cursor = self.conn.cursor()

    def execute(self, query: str, params: Any) -> list[tuple[Any, ...]] | None:
        self.cursor.execute(query, params)
        return self.cursor.fetchall() if self.cursor.description is not None else None

    def executemany(self, query: str, params: list[Any]) -> None:
        self.cursor.executemany(query, params)

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def end(self) -> None:
        # The request's session ends with the transaction closed; so does the replay.
        if self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self.conn.rollback()


class CoreReplayer(Replayer):
    """The same statements through SQLAlchemy Core: a pooled ``Connection`` per charge
    (checked out and returned, as a request's session does), ``exec_driver_sql``, no ORM."""

    def __init__(self, engine: Any, template: Template) -> None:
        self.engine = engine
        self.template = template

    def begin(self) -> None:
        self.connection = self.engine.connect()

    def execute(self, query: str, params: Any) -> list[tuple[Any, ...]] | None:
        if isinstance(params, list):
            params = tuple(params)
        result = (
            self.connection.exec_driver_sql(query, params)
            if params is not None
            else (self.connection.exec_driver_sql(query))
        )
        return [tuple(row) for row in result.fetchall()] if result.returns_rows else None

    def executemany(self, query: str, params: list[Any]) -> None:
        self.connection.exec_driver_sql(
            query, [tuple(p) if isinstance(p, list) else p for p in params]
        )

    def commit(self) -> None:
        self.connection.commit()

    def rollback(self) -> None:
        self.connection.rollback()

    def end(self) -> None:
        self.connection.close()
