"""Core statements built once and sent on the driver's own connection: the money path's lane.

A charge sends about twenty statements. Through ``Session.execute`` each costs ~110 µs of
client CPU on PostgreSQL; the same SQL on the psycopg cursor costs ~40 µs (measured in
``bench/README.md``, fifth pass). :class:`FixedStatement` keeps a statement written once, as
a SQLAlchemy Core construct, and on PostgreSQL with psycopg compiles it once per set of
parameter names, then sends the SQL on the connection that the session's transaction
already holds: same transaction, same locks, commit and rollback stay with the session.
Values go through the column types' own bind and result processors (``UTCDateTime``, enums,
JSON), so what is written and read is what ``Session.execute`` writes and reads. On every
other database (SQLite, the embedded default) the session's connection runs it as Core.

Deliberate differences from ``Session.execute``:

* SQLAlchemy's ``before_cursor_execute`` events do not fire, so SQL echo does not show
  these statements (as for the ledger's ``statements.py``);
* only statements that need nothing from SQLAlchemy at execution time are accepted:
  no Python-side column defaults (give every value), no expanding ``IN`` lists (keep those
  on ``Session.execute``), no ORM entities. The check runs when a statement is first used
  with a set of parameter names, against the PostgreSQL dialect, on every database, so the
  SQLite test run refuses a statement that PostgreSQL could not send this way;
* like ``Session.execute`` of any Core statement, it does not autoflush: the caller flushes
  pending ORM changes the statement must see.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Connection, Select, inspect
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.interfaces import DBAPIModule
from sqlalchemy.exc import DBAPIError, MultipleResultsFound, NoResultFound, StatementError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Delete, Insert, Update, UpdateBase

from wallet_api.extensions.database import db, transaction_memo

M = TypeVar("M")

Processor = Callable[[Any], Any]
Params = Mapping[str, Any]
# What a fixed statement may be (others fail to compile as one: see _compile).
Statement = Select[Any] | Insert | Update | Delete


class FixedResult:
    """What a :class:`FixedStatement` returned: its rows (read at once) and its row count."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def all(self) -> list[Any]:
        return list(self._rows)

    def first(self) -> Any | None:
        return self._rows[0] if self._rows else None

    def one_or_none(self) -> Any | None:
        if len(self._rows) > 1:
            raise MultipleResultsFound("Multiple rows were found when one or none was required")
        return self.first()

    def one(self) -> Any:
        if not self._rows:
            raise NoResultFound("No row was found when one was required")
        if len(self._rows) > 1:
            raise MultipleResultsFound("Multiple rows were found when exactly one was required")
        return self._rows[0]

    def scalar(self) -> Any | None:
        row = self.first()
        return None if row is None else row[0]

    def scalar_one_or_none(self) -> Any | None:
        row = self.one_or_none()
        return None if row is None else row[0]


@dataclass
class _Plan:
    """A statement compiled for PostgreSQL for one set of parameter names."""

    sql: str
    # (name, processor or None, fixed value or _REQUIRED) per bound parameter.
    binds: tuple[tuple[str, Processor | None, Any], ...]
    columns: tuple[Any, ...]  # the result columns' types, in the order of the SQL
    row_type: Any  # a namedtuple of the result columns, or None without a result
    # Result processors per column, from the first result's type codes (as SQLAlchemy does).
    result_processors: list[Processor | None] | None = field(default=None)


_REQUIRED = object()
_PG_DIALECT = PGDialect_psycopg()  # type: ignore[no-untyped-call]  # SQLAlchemy's own, unannotated


def _result_columns(statement: Statement) -> list[Any]:
    if isinstance(statement, UpdateBase):
        return list(statement.exported_columns)  # RETURNING's, if any
    return list(statement.selected_columns)


def _compile(statement: Statement, names: tuple[str, ...], dialect: Dialect) -> _Plan:
    if statement._propagate_attrs:  # set on ORM-enabled statements only
        raise TypeError("FixedStatement takes Core statements on tables, not ORM entities")
    keys = list(names) if isinstance(statement, Insert | Update) else None
    compiled = statement.compile(dialect=dialect, column_keys=keys)
    if not isinstance(compiled, SQLCompiler):  # pragma: no cover - DDL and the like
        raise TypeError("FixedStatement takes SELECT, INSERT, UPDATE and DELETE")
    prefetched = [*compiled.insert_prefetch, *compiled.update_prefetch]
    if prefetched:
        raise TypeError(
            "FixedStatement sends no Python-side column defaults: give every value "
            f"({', '.join(c.name for c in prefetched)})"
        )
    if compiled.post_compile_params or compiled.escaped_bind_names:
        raise TypeError("FixedStatement takes no expanding IN lists or escaped names")
    binds = []
    for name, bind in compiled.binds.items():
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        binds.append((name, processor, _REQUIRED if bind.required else bind.effective_value))
    columns = _result_columns(statement)
    row_type = namedtuple("Row", [c.key for c in columns], rename=True) if columns else None
    return _Plan(compiled.string, tuple(binds), tuple(c.type for c in columns), row_type)


class FixedStatement:
    """A Core statement to run many times, the fast way on PostgreSQL (see the module)."""

    def __init__(self, statement: Statement) -> None:
        self.statement = statement
        self._plans: dict[tuple[str, tuple[str, ...]], _Plan] = {}

    def plan(self, names: tuple[str, ...], dialect: Dialect = _PG_DIALECT) -> _Plan:
        """The compiled form for these parameter names, checked on first use."""
        key = (dialect.name, names)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _compile(self.statement, names, dialect)
        return plan

    def execute(self, params: Params | Sequence[Params] | None = None) -> FixedResult:
        """Run in the session's transaction; a list of parameter sets runs as executemany."""
        many: Sequence[Params] | None = None
        if params is None or isinstance(params, Mapping):
            first = params or {}
        else:
            many, first = params, (params[0] if params else {})
        names = tuple(sorted(first))
        connection = _connection()
        dialect = connection.dialect
        if dialect.name != "postgresql" or dialect.driver != "psycopg":
            self.plan(names)  # what PostgreSQL could not send this way fails here too
            result = connection.execute(self.statement, params)
            rows = list(result) if result.returns_rows else []
            return FixedResult(rows, result.rowcount)
        plan = self.plan(names, dialect)
        # psycopg's connection; typed Optional, it is there while the transaction holds it.
        driver: Any = connection.connection.driver_connection
        try:
            with driver.cursor() as cursor:
                if many is not None:
                    values = [_bound(plan, p) for p in many]
                    cursor.executemany(plan.sql, values)
                    return FixedResult([], cursor.rowcount)
                cursor.execute(plan.sql, _bound(plan, first))
                if cursor.description is None or plan.row_type is None:
                    return FixedResult([], cursor.rowcount)
                return FixedResult(_rows(plan, dialect, cursor), cursor.rowcount)
        except dialect.loaded_dbapi.Error as error:
            raise as_sqlalchemy_error(connection, error, plan.sql, params) from error


def as_sqlalchemy_error(
    connection: Connection, error: DBAPIModule.Error, sql: str, params: Any
) -> StatementError:
    """The driver's error as ``Session.execute`` would have raised it.

    A dropped connection is invalidated, so that the session's rollback does not try the
    dead socket and the pool never hands it out again (nor any connection as old); the
    error is SQLAlchemy's own class (``IntegrityError``, ``OperationalError``, ...), so
    callers and the app's error handlers treat both lanes alike.
    """
    dialect = connection.dialect
    disconnected = connection.invalidated or dialect.is_disconnect(
        error, connection.connection.dbapi_connection, None
    )
    if disconnected and not connection.invalidated:
        # As SQLAlchemy's own execution does on a disconnect: every connection the pool
        # made before now is replaced at its next checkout (a restarted server killed them
        # all), so the requests after this one do not each meet a dead connection in turn.
        connection.engine.pool._invalidate(connection.connection, error, _checkin=False)
        connection.invalidate(error)
    return DBAPIError.instance(
        sql,
        params,
        error,
        dialect.loaded_dbapi.Error,
        hide_parameters=connection.engine.hide_parameters,
        connection_invalidated=disconnected,
        dialect=dialect,
    )


_CONNECTION = "fixed_statement_connection"


def _connection() -> Connection:
    """The session's connection, remembered for its transaction (and savepoint).

    ``Session.connection()`` costs ~20 µs of CPU a call through its state machinery, and a
    charge sends ~15 fixed statements; the transaction keeps one connection until it ends.
    It is asked again in each savepoint: the session emits ``SAVEPOINT`` lazily, when its
    connection is next asked for, so a statement sent on the remembered connection would
    run outside a savepoint just begun and survive its rollback.
    """
    session = db.session()
    savepoint = session.get_nested_transaction()
    memo: dict[Any, Connection] = transaction_memo(_CONNECTION, session)
    connection = memo.get(savepoint)
    if connection is None:
        connection = memo[savepoint] = session.connection()
    return connection


def _bound(plan: _Plan, params: Params) -> dict[str, Any]:
    values = {}
    for name, processor, fixed in plan.binds:
        value = params[name] if fixed is _REQUIRED else params.get(name, fixed)
        values[name] = value if processor is None else processor(value)
    return values


def _rows(plan: _Plan, dialect: Dialect, cursor: Any) -> list[Any]:
    processors = plan.result_processors
    if processors is None:
        processors = plan.result_processors = [
            type_.dialect_impl(dialect).result_processor(dialect, column.type_code)
            for type_, column in zip(plan.columns, cursor.description, strict=True)
        ]
    make = plan.row_type._make
    if not any(processors):
        return [make(row) for row in cursor.fetchall()]
    return [
        make(value if fn is None else fn(value) for fn, value in zip(processors, row, strict=True))
        for row in cursor.fetchall()
    ]


def as_persistent(model: type[M], row: Any) -> M:
    """The session's object for a whole row a fixed statement has just read (and locked).

    What an ORM ``SELECT`` with ``populate_existing`` gives, without SQLAlchemy's loading:
    the object already in the session now holds the row's values as loaded (not as
    changes), or a new object is attached as persistent without another ``SELECT``. The
    caller flushes first, as that ``SELECT`` would have autoflushed. ``row`` has every
    mapped column of ``model``, by attribute name.
    """
    values = row._asdict()
    mapper = inspect(model)
    key = mapper.identity_key_from_primary_key([values[c.key] for c in mapper.primary_key])
    session = db.session()
    loaded: M | None = session.identity_map.get(key)
    if loaded is not None:
        for name, value in values.items():
            set_committed_value(loaded, name, value)
        return loaded
    instance = model(**values)
    make_transient_to_detached(instance)  # its history reset, as if loaded
    session.add(instance)
    return instance
