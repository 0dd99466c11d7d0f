"""Counting what a request sends to the database, at the driver (below SQLAlchemy).

The money path sends part of its SQL on the psycopg connection directly
(``extensions/fixed.py``), where SQLAlchemy's events never see it, so the count is taken
where every statement must pass: psycopg's ``Cursor.execute`` and ``executemany`` and
``Connection.commit``. PostgreSQL only: SQLite's driver is a C type with no such seam.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg
import pytest


@dataclass
class Sent:
    statements: list[str] = field(default_factory=list)
    commits: int = 0

    @property
    def total(self) -> int:
        return len(self.statements) + self.commits

    def describe(self) -> str:
        lines = [f"{len(self.statements)} statements and {self.commits} commit(s):"]
        lines += [
            f"  {i + 1:2}. {' '.join(sql.split())[:160]}" for i, sql in enumerate(self.statements)
        ]
        return "\n".join(lines)


@contextmanager
def counting_statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sent]:
    sent = Sent()
    execute, executemany, commit = (
        psycopg.Cursor.execute,
        psycopg.Cursor.executemany,
        psycopg.Connection.commit,
    )

    def _sql(query: object) -> str:
        return query.decode() if isinstance(query, bytes) else str(query)

    def counted_execute(self, query, *args, **kwargs):  # type: ignore[no-untyped-def]
        sent.statements.append(_sql(query))
        return execute(self, query, *args, **kwargs)

    def counted_executemany(self, query, *args, **kwargs):  # type: ignore[no-untyped-def]
        sent.statements.append(_sql(query))
        return executemany(self, query, *args, **kwargs)

    def counted_commit(self):  # type: ignore[no-untyped-def]
        sent.commits += 1
        return commit(self)

    with monkeypatch.context() as patch:
        patch.setattr(psycopg.Cursor, "execute", counted_execute)
        patch.setattr(psycopg.Cursor, "executemany", counted_executemany)
        patch.setattr(psycopg.Connection, "commit", counted_commit)
        yield sent
