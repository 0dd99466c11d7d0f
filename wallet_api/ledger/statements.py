"""The statements of a posting, for ``wallet_api.ledger.service`` only.

A posting is: lock the customer accounts (by id, or a wallet by its key), insert the
transactions, insert their entries, update the cached balances. The rules between them
live in the service; this module only talks to the database.

Each statement is written once, as SQLAlchemy Core, and sent as a
:class:`~wallet_api.extensions.fixed.FixedStatement`: on PostgreSQL compiled once and sent
on the psycopg connection that the session's transaction already holds (profiling showed
SQLAlchemy's per-statement machinery costing about three times the client CPU of the
statements themselves, bench/README.md), on SQLite run as Core. Same SQL, same rows, the
same SQLAlchemy exception classes on both; SQL echo does not show them.

A fixed statement cannot expand an ``IN`` list at execution time, and ``= ANY(:ids)`` needs
an array type that SQLite does not have. So a statement over several rows is built for its
number of rows (``id IN (:id_0, :id_1)``, ``VALUES (...), (...)``) and kept per number: a
posting touches one to three customer accounts and writes two to four entries, so a few
statements cover every posting and each is compiled once per process.

All run in the caller's database transaction and never commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, bindparam, case, insert, select, update

from wallet_api.extensions.fixed import FixedStatement
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


_accounts = Account.__table__
_transactions = LedgerTransaction.__table__
_entries = LedgerEntry.__table__

_LOCKED_COLUMNS = (
    _accounts.c.id,
    _accounts.c.kind,
    _accounts.c.unit,
    _accounts.c.balance,
    _accounts.c.version,
    _accounts.c.is_closed,
)
TRANSACTION_COLUMNS = ("public_id", "kind", "memo", "meta", "event_at", "created_at")
ENTRY_COLUMNS = ("transaction_id", "account_id", "amount", "balance_after", "created_at")

# Statements per number of rows: more than this many distinct sizes in one process are
# compiled again when used again, which costs CPU, not correctness.
_SIZES = 32


def _ids(count: int) -> list[Any]:
    return [bindparam(f"id_{n}", type_=BigInteger) for n in range(count)]


@lru_cache(maxsize=_SIZES)
def _lock(count: int) -> FixedStatement:
    # System accounts (no cached balance) are left out, so their hot rows are never locked;
    # ``FOR NO KEY UPDATE`` in id order, so that two postings never wait in a cycle, and
    # without blocking the inserts of entries that reference the accounts (key share).
    return FixedStatement(
        select(*_LOCKED_COLUMNS)
        .where(_accounts.c.id.in_(_ids(count)), _accounts.c.balance.is_not(None))
        .order_by(_accounts.c.id)
        .with_for_update(key_share=True)
    )


@lru_cache(maxsize=_SIZES)
def _lock_by_key(count: int) -> FixedStatement:
    keys = [bindparam(f"key_{n}", type_=_accounts.c.key.type) for n in range(count)]
    return FixedStatement(
        select(_accounts.c.key, *_LOCKED_COLUMNS)
        .where(_accounts.c.key.in_(keys), _accounts.c.balance.is_not(None))
        .order_by(_accounts.c.id)
        .with_for_update(key_share=True)
    )


@lru_cache(maxsize=_SIZES)
def _insert_transactions(count: int) -> FixedStatement:
    # The rows come back matched by ``public_id`` (ours, from Python), not by position: the
    # order of RETURNING rows of a multi-row INSERT is not promised by either database.
    rows = [
        {c: bindparam(f"{c}_{n}", type_=_transactions.c[c].type) for c in TRANSACTION_COLUMNS}
        for n in range(count)
    ]
    return FixedStatement(
        insert(_transactions).values(rows).returning(_transactions.c.public_id, _transactions.c.id)
    )


@lru_cache(maxsize=_SIZES)
def _insert_entries(count: int) -> FixedStatement:
    rows = [
        {c: bindparam(f"{c}_{n}", type_=_entries.c[c].type) for c in ENTRY_COLUMNS}
        for n in range(count)
    ]
    return FixedStatement(insert(_entries).values(rows))


@lru_cache(maxsize=_SIZES)
def _update_balances(count: int) -> FixedStatement:
    # One UPDATE for every customer account of the postings: CASE picks each row's values
    # (plain SQL on both databases, where ``UPDATE ... FROM (VALUES ...)`` would need
    # SQLite 3.33 and casts on PostgreSQL). The rows are locked already, in id order.
    ids = _ids(count)

    def per_row(name: str) -> Any:
        values = [bindparam(f"{name}_{n}", type_=BigInteger) for n in range(count)]
        return case(*((_accounts.c.id == i, value) for i, value in zip(ids, values, strict=True)))

    return FixedStatement(
        update(_accounts)
        .where(_accounts.c.id.in_(ids))
        .values(balance=per_row("balance"), version=per_row("version"))
    )


def lock_customers(ids: Sequence[int]) -> dict[int, Locked]:
    """The customer accounts among ``ids``, locked in ascending id order."""
    wanted = sorted(set(ids))
    rows = _lock(len(wanted)).execute({f"id_{n}": i for n, i in enumerate(wanted)})
    return {row.id: Locked(*row) for row in rows}


def lock_customers_by_key(keys: Sequence[str]) -> dict[str, Locked]:
    """The customer accounts of these keys that exist, locked in ascending id order."""
    wanted = list(dict.fromkeys(keys))
    rows = _lock_by_key(len(wanted)).execute({f"key_{n}": k for n, k in enumerate(wanted)})
    return {key: Locked(*values) for key, *values in rows}


def insert_transactions(rows: Sequence[Mapping[str, Any]]) -> dict[uuid.UUID, int]:
    """Insert the transactions in one statement; their ids by ``public_id``."""
    params = {f"{c}_{n}": row[c] for n, row in enumerate(rows) for c in TRANSACTION_COLUMNS}
    return {public_id: id_ for public_id, id_ in _insert_transactions(len(rows)).execute(params)}


def insert_entries(rows: Sequence[Mapping[str, Any]]) -> None:
    params = {f"{c}_{n}": row[c] for n, row in enumerate(rows) for c in ENTRY_COLUMNS}
    _insert_entries(len(rows)).execute(params)


def update_balances(balances: Mapping[int, tuple[int, int]]) -> None:
    """Set each account's ``(balance, version)``, by account id, in one statement."""
    if not balances:  # system accounts only (a gift from escrow to a store)
        return
    params: dict[str, int] = {}
    for n, (account_id, (balance, version)) in enumerate(balances.items()):
        params[f"id_{n}"] = account_id
        params[f"balance_{n}"] = balance
        params[f"version_{n}"] = version
    _update_balances(len(balances)).execute(params)
