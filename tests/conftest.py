"""Test harness: the real migrations, on SQLite by default or on PostgreSQL.

Set ``WALLET_TEST_DATABASE_URL`` (e.g. ``postgresql://postgres@127.0.0.1:5432/test``) to
run the whole suite on PostgreSQL; the database's ``public`` schema is recreated.

Tests commit for real (concurrency tests need that), so isolation is by reset: after each
test the ledger invariants are verified, then every table is emptied (PostgreSQL
``TRUNCATE``) or the SQLite file is replaced by a freshly migrated template.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
PG_URL = os.environ.get("WALLET_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("WALLET_TEST_REDIS_URL")
# pytest-xdist names its workers gw0, gw1, ...; each gets a database and a Redis database of
# its own, since every test empties the tables and resets the rate-limit counters it uses.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {'PostgreSQL ' + PG_URL if PG_URL else 'SQLite (embedded default)'}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if PG_URL:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set WALLET_TEST_DATABASE_URL")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


def _database_url(tmp: Path) -> str:
    if PG_URL:
        from wallet_api.config import normalise_database_url

        return _worker_database(normalise_database_url(PG_URL))
    return f"sqlite:///{tmp / 'wallet.sqlite3'}"


def _worker_database(url: str) -> str:
    """The configured PostgreSQL database, or under xdist one per worker beside it
    (``test_gw0``, ...), created on first use."""
    if not XDIST_WORKER:
        return url
    base = sa.engine.make_url(url)
    name = f"{base.database}_{XDIST_WORKER}"
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        exists = connection.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        )
        if not exists:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _worker_redis(url: str) -> str:
    """Under xdist, Redis database 8 + the worker's number (Redis has 16 by default)."""
    if not XDIST_WORKER:
        return url
    from urllib.parse import urlsplit, urlunsplit

    number = int(XDIST_WORKER.removeprefix("gw"))
    assert number < 8, "at most eight xdist workers share one Redis"
    return urlunsplit(urlsplit(url)._replace(path=f"/{8 + number}"))


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    tmp = tmp_path_factory.mktemp("db")
    url = _database_url(tmp)
    os.environ.update(WALLET_ENV="test", WALLET_SECRET_KEY=TEST_SECRET, WALLET_DATABASE_URL=url)
    if REDIS_URL:
        os.environ["WALLET_REDIS_URL"] = _worker_redis(REDIS_URL)
    else:
        os.environ.pop("WALLET_REDIS_URL", None)
    os.environ.pop("WALLET_JWT_KEYS", None)

    from flask_migrate import upgrade

    from wallet_api import create_app
    from wallet_api.extensions import db, limiter

    if PG_URL:
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
        engine.dispose()

    app = create_app({"TESTING": True, "WALLET_INSTANCE_TMP": str(tmp)})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    if not PG_URL:
        shutil.copyfile(tmp / "wallet.sqlite3", tmp / "template.sqlite3")
    limiter.enabled = False
    return app


def _reset_database(app: Flask) -> None:
    from wallet_api.extensions import db
    from wallet_api.ledger.service import clear_account_cache

    clear_account_cache()
    with app.app_context():
        if PG_URL:
            tables = [t.name for t in reversed(db.metadata.sorted_tables)]
            with db.engine.begin() as connection:
                connection.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        else:
            db.engine.dispose()
            tmp = Path(app.config["WALLET_INSTANCE_TMP"])
            for suffix in ("-wal", "-shm"):
                (tmp / f"wallet.sqlite3{suffix}").unlink(missing_ok=True)
            shutil.copyfile(tmp / "template.sqlite3", tmp / "wallet.sqlite3")


@pytest.fixture(autouse=True)
def _isolated(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts empty and ends with the ledger invariants holding."""
    if "app" not in request.fixturenames:
        yield
        return
    app: Flask = request.getfixturevalue("app")
    from wallet_api.clock import clock
    from wallet_api.extensions import limiter

    yield
    clock.unfreeze()
    limiter.enabled = False
    limiter.reset()
    with app.app_context():
        from wallet_api.ledger.service import verify_ledger

        broken = [c for c in verify_ledger() if not c.ok]
    _reset_database(app)
    assert not broken, "ledger invariants violated: " + "; ".join(
        f"{c.name}: {c.violations}" for c in broken
    )


@pytest.fixture
def reset_database(app: Flask):  # type: ignore[no-untyped-def]
    """The per-test reset, for tests that run many independent examples (state machines):
    each example calls it to start from empty tables."""
    from wallet_api.clock import clock

    def reset() -> None:
        clock.unfreeze()
        _reset_database(app)

    return reset


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def api(client: FlaskClient):  # type: ignore[no-untyped-def]
    from tests.support.api import ApiClient

    return ApiClient(client)
