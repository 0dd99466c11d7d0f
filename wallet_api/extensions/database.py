"""The SQLAlchemy base, shared column types and engine behaviour per database."""

from __future__ import annotations

import contextvars
import enum
import sqlite3
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Protocol, TypeVar

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    BigInteger,
    DateTime,
    Enum,
    Integer,
    MetaData,
    String,
    Table,
    TypeDecorator,
    event,
    select,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.interfaces import DBAPIConnection, Dialect
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransaction, mapped_column
from sqlalchemy.pool import ConnectionPoolEntry

from wallet_api.clock import utcnow

# Stable constraint names from the first migration on, so later migrations can name them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database.

    PostgreSQL keeps the zone; SQLite drops it, so values are normalised to UTC on the way
    in and marked UTC on the way out. Naive datetimes are refused: they are always a bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# BIGINT keys on PostgreSQL; SQLite only autoincrements a column typed exactly INTEGER.
BigIntKey = BigInteger().with_variant(Integer, "sqlite")

uuid_pk = Annotated[uuid.UUID, mapped_column(primary_key=True, default=uuid.uuid4)]
bigint_pk = Annotated[int, mapped_column(BigIntKey, primary_key=True, autoincrement=True)]
created_at = Annotated[datetime, mapped_column(UTCDateTime(), default=utcnow, nullable=False)]
timestamp = Annotated[datetime, mapped_column(UTCDateTime())]
money = Annotated[int, mapped_column(BigInteger, nullable=False)]
short_text = Annotated[str, mapped_column(String(120))]


def str_enum(cls: type[enum.Enum], length: int = 24) -> Enum:
    """An enum stored by its value as a plain string (no native type to migrate)."""
    return Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

# The models' base class. flask-sqlalchemy makes ``db.Model`` at run time, from Base's body
# and its own mixins, which a type checker cannot follow: to one, the models derive from
# Base, whose declarative mapping is what they use of it.
if TYPE_CHECKING:

    class Model(Base):
        __abstract__ = True
        # Each model maps one table (DeclarativeBase allows any FROM clause: a join, a select).
        __table__: ClassVar[Table]

else:
    Model = db.Model


class _Keyed(Protocol):
    # A mapped model's ``id``: its value on a row, its column on the class (``Model.id``).
    id: Any


M = TypeVar("M", bound=_Keyed)


def locked(model: type[M], ident: object) -> M | None:
    """The row by primary key, read afresh under ``FOR UPDATE`` until the request ends.

    On PostgreSQL a second request for the same row waits here and then sees the first
    one's committed changes; on SQLite the request already holds the write lock.
    """
    return db.session.scalars(
        select(model)
        .where(model.id == ident)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


def end_read_transaction() -> None:
    """End the request's transaction before a call to another service that may be slow.

    Held across such a call (seconds, when that service is slow or unreachable), the
    transaction would keep its pooled connection and its locks: on SQLite the single
    writer slot that every POST takes at BEGIN, so every other writer waits; on PostgreSQL
    a connection ``idle in transaction`` with whatever it locked. Only a transaction that
    has written nothing may end here (what it read is read again when needed); the next
    statement begins a new one, which the request commits at its end as usual.
    """
    session = db.session
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("end_read_transaction() with unsaved changes: they would be lost")
    session.rollback()


# --- what a transaction already knows -----------------------------------------------
# Rows a transaction holds locked cannot change under it but for its own writes, so what it
# read of them stays true until it ends: a charge uses that not to read the wallet and the
# loyalty member twice. Each such memo is a dict under a name in the session's ``info``;
# all of them go when the transaction or a savepoint ends (a savepoint's rollback gives its
# locks back and undoes its writes).
_TRANSACTION_MEMOS = "transaction_memos"


def transaction_memo(name: str, session: Session | None = None) -> dict[Any, Any]:
    """The memo ``name`` of ``session``'s (by default the request's) current transaction."""
    info = (session or db.session).info
    memos: dict[str, dict[Any, Any]] = info.setdefault(_TRANSACTION_MEMOS, {})
    return memos.setdefault(name, {})


@event.listens_for(Session, "after_transaction_end")
def _forget_transaction_memos(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None or transaction.nested:
        session.info.pop(_TRANSACTION_MEMOS, None)


# --- SQLite: real transactions -------------------------------------------------------
# pysqlite opens transactions lazily and never with BEGIN IMMEDIATE, so two requests can
# both read a balance and then fail to upgrade to a write lock ("database is locked").
# We take over: every transaction that may write starts with BEGIN IMMEDIATE and waits
# (busy timeout) for the single writer slot; requests known to be read-only use a plain
# BEGIN and, under WAL, never wait for writers.
_read_only: contextvars.ContextVar[bool] = contextvars.ContextVar("read_only", default=False)


def mark_read_only(value: bool) -> contextvars.Token[bool]:
    return _read_only.set(value)


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(
    dbapi_connection: DBAPIConnection, connection_record: ConnectionPoolEntry
) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, see _sqlite_begin
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn: Connection) -> None:
    if conn.dialect.name != "sqlite":
        return
    conn.exec_driver_sql("BEGIN" if _read_only.get() else "BEGIN IMMEDIATE")


# --- GET requests that write -----------------------------------------------------------
# A few reads do a little writing on the way: GET /v1/loyalty evaluates the tier lazily
# (and may move it, tell the person, open their points account). On SQLite such a request
# must not start with the plain BEGIN of a read: a read transaction that later writes
# cannot wait for a concurrent writer (its snapshot is stale once that writer commits,
# SQLITE_BUSY_SNAPSHOT) and fails at once. Views marked with ``@writes_on_read`` start
# with BEGIN IMMEDIATE like any POST and wait (busy timeout) for the writer slot instead.
# PostgreSQL is unaffected: it never takes a lock at BEGIN.
_WRITES_ON_READ = "_writes_on_read"
V = TypeVar("V", bound=Callable[..., Any])


def writes_on_read(view: V) -> V:
    """Mark a GET view (a function, or a MethodView's ``get``) that may write.

    Put it outermost, above the flask-smorest decorators, so the mark sits on the function
    Flask calls. The request hook reads it with :func:`view_may_write`.
    """
    setattr(view, _WRITES_ON_READ, True)
    return view


def view_may_write(view_func: Callable[..., Any] | None, method: str) -> bool:
    """Whether the view Flask dispatches ``method`` to carries ``@writes_on_read``."""
    if view_func is None:
        return False
    view_class = getattr(view_func, "view_class", None)
    if view_class is not None:
        name = method.lower()
        handler = getattr(view_class, name, None)
        if handler is None and name == "head":  # MethodView answers HEAD with get
            handler = getattr(view_class, "get", None)
        return bool(getattr(handler, _WRITES_ON_READ, False))
    return bool(getattr(view_func, _WRITES_ON_READ, False))
