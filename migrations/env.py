"""Alembic environment: the app's engine and metadata, run through Flask-Migrate."""

from __future__ import annotations

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
if config.config_file_name is not None and not logging.getLogger().handlers:
    fileConfig(config.config_file_name)

db = current_app.extensions["migrate"].db
target_metadata = db.metadata


def render_item(type_, obj, autogen_context):  # type: ignore[no-untyped-def]
    """Render our column types as the plain SQLAlchemy types they store as."""
    from wallet_api.extensions.database import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    context.configure(
        url=str(db.engine.url),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def _check_sqlite_foreign_keys(ctx, step, heads, run_args):  # type: ignore[no-untyped-def]
    """After each migration, inside its transaction: no row may point at nothing."""
    broken = ctx.connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"migration {step.up_revision_id} broke foreign keys: {broken[:5]}")


def run_migrations_online() -> None:
    with db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite alters a table by copying it (batch mode): create, copy, drop, rename.
            # Dropping a table other tables reference fails while foreign keys are
            # enforced, and the pragma is ignored inside a transaction, so it is switched
            # off here, before the first BEGIN, and every migration is checked instead.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            compare_type=True,
            render_item=render_item,
            transaction_per_migration=True,
            on_version_apply=[_check_sqlite_foreign_keys] if sqlite else [],
        )
        try:
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if sqlite:
                # The connection goes back to the pool: enforce foreign keys again.
                connection.rollback()
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
