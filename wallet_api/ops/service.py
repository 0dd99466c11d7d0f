"""Is the service ready: database reachable and schema at the newest migration."""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from wallet_api.extensions import db


def expected_heads() -> set[str]:
    migrate = current_app.extensions["migrate"]
    config = migrate.migrate.get_config(migrate.directory)
    return set(ScriptDirectory.from_config(config).get_heads())


def readiness() -> dict[str, object]:
    try:
        with db.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError:
        return {"ready": False, "database": "unreachable", "migrations": "unknown"}
    heads = expected_heads()
    return {
        "ready": current == heads,
        "database": "ok",
        "migrations": "at head" if current == heads else "pending",
    }
