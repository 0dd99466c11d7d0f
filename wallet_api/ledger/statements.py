"""The statements of a posting, for ``wallet_api.ledger.service`` only.

A posting is: lock the customer accounts (by id, or a wallet by its key), insert the
transaction, insert its entries, update the cached balances. The rules between them live
in the service; this module only talks to the database, in two interchangeable ways:

* :class:`PsycopgStatements` on PostgreSQL: fixed SQL on the psycopg connection that the
  session's transaction already holds (same transaction, same locks). Profiling showed
  SQLAlchemy's per-statement execution machinery costing about three times the client CPU
  of the statements themselves, which made the ledger reach only a third of the raw SQL
  throughput (bench/README.md). Statements issued here bypass SQLAlchemy's
  ``before_cursor_execute`` events, so SQL echo does not show them; the driver's errors
  are raised as SQLAlchemy's own, as ``extensions/fixed.py`` does.
* :class:`CoreStatements` everywhere else (SQLite, the embedded default): the same
  statements as SQLAlchemy Core constructs, built once.

Both run in the caller's database transaction and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

import psycopg
from psycopg.types.json import Json
from sqlalchemy import Connection, bindparam, insert, select, update

from wallet_api.extensions.fixed import as_sqlalchemy_error
from wallet_api.ledger.models import Account, AccountKind, LedgerEntry, LedgerTransaction


@dataclass(frozen=True)
class Locked:
    """A customer account row as read under its lock."""

    id: int
    kind: AccountKind
    unit: str
    balance: int
    version: int
    is_closed: bool


class PostingStatements(Protocol):
    def lock_customers(self, ids: Sequence[int]) -> dict[int, Locked]: ...

    def lock_customer_by_key(self, key: str) -> Locked | None: ...

    def insert_transaction(self, values: dict[str, Any]) -> int: ...

    def insert_entries(self, rows: list[dict[str, Any]]) -> None: ...

    def update_balance(self, account_id: int, balance: int, version: int) -> None: ...


def statements_for(connection: Connection) -> PostingStatements:
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        return PsycopgStatements(connection)
    return CoreStatements(connection)


# --- SQLAlchemy Core -------------------------------------------------------------------

_accounts = Account.__table__
_LOCK = (
    select(
        _accounts.c.id,
        _accounts.c.kind,
        _accounts.c.unit,
        _accounts.c.balance,
        _accounts.c.version,
        _accounts.c.is_closed,
    )
    .where(_accounts.c.id.in_(bindparam("ids", expanding=True)), _accounts.c.balance.is_not(None))
    .order_by(_accounts.c.id)
    .with_for_update(key_share=True)
)
_LOCK_BY_KEY = (
    select(*_LOCK.selected_columns)
    .where(_accounts.c.key == bindparam("key"), _accounts.c.balance.is_not(None))
    .with_for_update(key_share=True)
)
_INSERT_TRANSACTION = insert(LedgerTransaction.__table__)
_INSERT_ENTRIES = insert(LedgerEntry.__table__)
_UPDATE_BALANCE = (
    update(_accounts)
    .where(_accounts.c.id == bindparam("account_id"))
    .values(balance=bindparam("new_balance"), version=bindparam("new_version"))
)


class CoreStatements:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def lock_customers(self, ids: Sequence[int]) -> dict[int, Locked]:
        rows = self.connection.execute(_LOCK, {"ids": list(ids)})
        return {row.id: Locked(*row) for row in rows}

    def lock_customer_by_key(self, key: str) -> Locked | None:
        row = self.connection.execute(_LOCK_BY_KEY, {"key": key}).one_or_none()
        return None if row is None else Locked(*row)

    def insert_transaction(self, values: dict[str, Any]) -> int:
        return self.connection.execute(_INSERT_TRANSACTION, values).inserted_primary_key[0]

    def insert_entries(self, rows: list[dict[str, Any]]) -> None:
        self.connection.execute(_INSERT_ENTRIES, rows)

    def update_balance(self, account_id: int, balance: int, version: int) -> None:
        self.connection.execute(
            _UPDATE_BALANCE,
            {"account_id": account_id, "new_balance": balance, "new_version": version},
        )


# --- psycopg on PostgreSQL -------------------------------------------------------------

_PG_LOCK = (
    "SELECT id, kind, unit, balance, version, is_closed FROM ledger_accounts "
    "WHERE id = ANY(%s) AND balance IS NOT NULL ORDER BY id FOR NO KEY UPDATE"
)
_PG_LOCK_BY_KEY = (
    "SELECT id, kind, unit, balance, version, is_closed FROM ledger_accounts "
    "WHERE key = %s AND balance IS NOT NULL FOR NO KEY UPDATE"
)
_PG_INSERT_TRANSACTION = (
    "INSERT INTO ledger_transactions (public_id, kind, memo, meta, event_at, created_at) "
    "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id"
)
_PG_UPDATE_BALANCE = "UPDATE ledger_accounts SET balance = %s, version = %s WHERE id = %s"
_ENTRY_COLUMNS = ("transaction_id", "account_id", "amount", "balance_after", "created_at")


@lru_cache(maxsize=16)
def _pg_insert_entries(count: int) -> str:
    row = "(" + ", ".join(["%s"] * len(_ENTRY_COLUMNS)) + ")"
    return (
        f"INSERT INTO ledger_entries ({', '.join(_ENTRY_COLUMNS)}) "  # noqa: S608  (constants only)
        f"VALUES {', '.join([row] * count)}"
    )


def _aware(value: datetime) -> datetime:
    # The UTCDateTime column type refuses naive datetimes; so does this path.
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the ledger")
    return value


def _locked(row: Sequence[Any]) -> Locked:
    return Locked(row[0], AccountKind(row[1]), row[2], row[3], row[4], row[5])


class PsycopgStatements:
    def __init__(self, connection: Connection) -> None:
        # One client-side cursor (it holds nothing on the server) for all four statements;
        # commit and rollback stay with the session that owns the connection.
        self.connection = connection
        self.cursor = connection.connection.driver_connection.cursor()

    def _execute(self, sql: str, params: Sequence[Any]) -> Any:
        try:
            return self.cursor.execute(sql, params)
        except psycopg.Error as error:
            # As Session.execute raises it: SQLAlchemy's class, a dropped connection
            # invalidated first (extensions/fixed.py).
            raise as_sqlalchemy_error(self.connection, error, sql, params) from error

    def lock_customers(self, ids: Sequence[int]) -> dict[int, Locked]:
        rows = self._execute(_PG_LOCK, (list(ids),)).fetchall()
        return {row[0]: _locked(row) for row in rows}

    def lock_customer_by_key(self, key: str) -> Locked | None:
        row = self._execute(_PG_LOCK_BY_KEY, (key,)).fetchone()
        return None if row is None else _locked(row)

    def insert_transaction(self, values: dict[str, Any]) -> int:
        params = (
            values["public_id"],
            values["kind"],
            values["memo"],
            Json(values["meta"]),
            _aware(values["event_at"]),
            _aware(values["created_at"]),
        )
        return self._execute(_PG_INSERT_TRANSACTION, params).fetchone()[0]  # type: ignore[no-any-return]

    def insert_entries(self, rows: list[dict[str, Any]]) -> None:
        params = [row[column] for row in rows for column in _ENTRY_COLUMNS]
        self._execute(_pg_insert_entries(len(rows)), params)

    def update_balance(self, account_id: int, balance: int, version: int) -> None:
        self._execute(_PG_UPDATE_BALANCE, (balance, version, account_id))
