"""Where the domains meet: GETs that write, one class per error code, and migration 0007
on a database that already holds charges."""

from __future__ import annotations

import inspect
import os
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET
from tests.support.api import ApiClient
from tests.support.loyalty import uid

on_sqlite_only = pytest.mark.skipif(
    bool(os.environ.get("WALLET_TEST_DATABASE_URL")),
    reason="SQLite's write lock; PostgreSQL takes no lock at BEGIN",
)


# --- GET requests that write -------------------------------------------------------------


def test_the_gets_that_may_write_are_marked(app):
    from wallet_api.extensions.database import view_may_write

    marked = {
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and view_may_write(app.view_functions[rule.endpoint], "GET")
    }
    assert marked == {"/v1/loyalty", "/v1/offers"}
    loyalty = app.view_functions[next(app.url_map.iter_rules("loyalty.Loyalty")).endpoint]
    assert view_may_write(loyalty, "HEAD")
    assert not view_may_write(loyalty, "POST")
    assert not view_may_write(None, "GET")


@on_sqlite_only
def test_a_get_that_writes_waits_for_a_writer_instead_of_failing(api, app):
    """GET /v1/loyalty opens Anna's points account on the way. While another request holds
    SQLite's write lock (here: crediting her first points), a read transaction could not
    write after it; the marked GET waits for the writer and then sees its points."""
    from wallet_api.extensions import db
    from wallet_api.ledger import service as ledger
    from wallet_api.ledger.models import AccountKind

    anna = api.register("Anna")
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with app.app_context():
            ledger.transfer(
                "loyalty_points",
                ledger.system_account(AccountKind.POINTS_ISSUED),
                ledger.points_account(uid(anna)),
                100,
            )
            holding.set()
            release.wait(timeout=30)
            db.session.commit()

    answers = []

    def reader() -> None:
        answers.append(ApiClient(app.test_client()).get("/v1/loyalty", as_=anna))

    writing = threading.Thread(target=writer)
    writing.start()
    assert holding.wait(timeout=30)
    reading = threading.Thread(target=reader)
    reading.start()
    time.sleep(0.3)  # the GET reaches the database while the writer holds it
    release.set()
    writing.join()
    reading.join()
    (response,) = answers
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["points"] == 100


# --- errors ----------------------------------------------------------------------------------


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_error_code_has_one_class(app):
    """A client matches on ``code``: the same code must mean the same thing everywhere,
    so domains reuse one class (user_not_found, code_unknown, ...) instead of copying it."""
    from wallet_api.extensions.problems import ApiError

    owners = defaultdict(set)
    for cls in _subclasses(ApiError):
        if "code" in vars(cls):
            owners[cls.code].add(f"{cls.__module__}.{cls.__qualname__}")
    assert {code: names for code, names in owners.items() if len(names) > 1} == {}
    from wallet_api.loyalty import errors as loyalty_errors

    defined = {name for name, value in vars(loyalty_errors).items() if inspect.isclass(value)}
    assert not defined & {"CodeUnknown", "CodeExpired", "CodeAlreadyUsed", "CustomerNotFound"}


# --- migration 0007 with data -----------------------------------------------------------------


def _wallet_api(url: str, *args: str) -> None:
    env = {
        **os.environ,
        "WALLET_ENV": "test",
        "WALLET_SECRET_KEY": TEST_SECRET,
        "WALLET_DATABASE_URL": url,
    }
    command = [str(Path(sys.executable).parent / "wallet-api"), "db", *args]
    # S603: our own console script with fixed arguments.
    done = subprocess.run(  # noqa: S603
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


@on_sqlite_only
def test_migration_0007_keeps_charges_their_lines_and_refunds(tmp_path):
    """SQLite rebuilds ``charges`` to change its CHECK; rows that point at it survive."""
    path = tmp_path / "old.sqlite3"
    url = f"sqlite:///{path}"
    _wallet_api(url, "upgrade", "0006_wallet")
    user, store, charge = (uuid.uuid4().hex for _ in range(3))
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO users (id, email, password_hash, first_name, display_name, handle, "
            "locale, role, is_active, created_at) VALUES (?, 'a@example.com', 'x', 'Anna', "
            "'Anna', 'anna', 'en', 'customer', 1, '2026-01-01 00:00:00')",
            (user,),
        )
        connection.execute(
            "INSERT INTO stores (id, name, address, timezone, is_open, created_at) "
            "VALUES (?, 'Bean Central', '', 'Europe/Amsterdam', 1, '2026-01-01 00:00:00')",
            (store,),
        )
        connection.execute(
            "INSERT INTO charges (id, store_id, customer_id, kind, code_source, code_source_id, "
            "amount, currency, refunded_amount, ledger_transaction_id, created_at) VALUES "
            "(?, ?, ?, 'pay', 'pay_code', ?, 780, 'EUR', 100, ?, '2026-01-01 00:00:00')",
            (charge, store, user, uuid.uuid4().hex, uuid.uuid4().hex),
        )
        connection.execute(
            "INSERT INTO charge_lines (charge_id, position, kind, item_id, name, size, quantity, "
            "unit_price) VALUES (?, 0, 'product', ?, 'Flat White', 'M', 2, 390)",
            (charge, uuid.uuid4().hex),
        )
        connection.execute(
            "INSERT INTO refunds (id, charge_id, store_id, amount, reason, actor_kind, actor_id, "
            "ledger_transaction_id, created_at) VALUES (?, ?, ?, 100, 'Cold', 'user', ?, ?, "
            "'2026-01-01 00:00:00')",
            (uuid.uuid4().hex, charge, store, user, uuid.uuid4().hex),
        )
    connection.close()

    _wallet_api(url, "upgrade")
    with sqlite3.connect(path) as connection:
        assert connection.execute(
            "SELECT amount, discount, offers, points_earned FROM charges"
        ).fetchall() == [(780, 0, "[]", 0)]
        assert connection.execute("SELECT points_reversed FROM refunds").fetchall() == [(0,)]
        assert connection.execute("SELECT count(*) FROM charge_lines").fetchone() == (1,)
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        # The rebuilt table takes a charge of amount 0 (a reward) but no negative one.
        connection.execute("UPDATE charges SET amount = 0, discount = 780, refunded_amount = 0")
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            connection.execute("UPDATE charges SET discount = -1")
        connection.execute("UPDATE charges SET amount = 780, discount = 0")
    connection.close()

    _wallet_api(url, "downgrade", "0006_wallet")
    _wallet_api(url, "upgrade")
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT amount FROM charges").fetchall() == [(780,)]
    connection.close()
