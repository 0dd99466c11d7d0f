"""Is the service ready: database reachable and schema at the newest migration.

Redis is reported but never makes the service unready: while it cannot be reached the rate
limits are counted in each process's memory (``degraded``: each worker grants the whole
budget), and the tills keep working.
"""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from wallet_api.extensions import db, limiter


def expected_heads() -> set[str]:
    migrate = current_app.extensions["migrate"]
    config = migrate.migrate.get_config(migrate.directory)
    return set(ScriptDirectory.from_config(config).get_heads())


def redis_state() -> str:
    if not current_app.config["WALLET_REDIS_URL"]:
        return "not configured"
    return "ok" if limiter.storage.check() else "degraded"


def readiness() -> dict[str, object]:
    redis = redis_state()
    try:
        with db.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError:
        return {"ready": False, "database": "unreachable", "migrations": "unknown", "redis": redis}
    heads = expected_heads()
    return {
        "ready": current == heads,
        "database": "ok",
        "migrations": "at head" if current == heads else "pending",
        "redis": redis,
    }
