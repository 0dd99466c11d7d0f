"""Money stays exact while the service is being knocked over.

gunicorn serves the app with several workers against a private PostgreSQL cluster (never the
shared server). Client threads send charges and transfers, each with its own
Idempotency-Key, retrying the same request on a broken connection, a 5xx or a 503 until the
answer is definite. Meanwhile workers are killed with SIGKILL again and again (the master
starts new ones) and PostgreSQL is stopped in immediate mode (a crash: no checkpoint, every
backend gone) and started again once. Afterwards every answered charge and transfer is in
the ledger exactly once, nothing else is, balances are what the answers add up to,
``wallet-api ledger verify`` passes and /ready is back soon after the database.

The first test needs no PostgreSQL at all: a database that refuses connections answers 503
``database_unavailable`` with Retry-After, never a bare 500.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import TEST_SECRET
from tests.support.api import PASSWORD
from tests.support.reliability import (
    Answer,
    Attempts,
    free_port,
    gunicorn,
    postgres_binaries,
    private_postgres,
    until_definite,
    wait_for,
    wallet_cli,
)

CUSTOMERS = 6
OPERATIONS_PER_CLIENT = 30
TOP_UP = 20_000
WORKERS = 3
KILL_EVERY = 10  # operations answered between SIGKILLs
DATABASE_DOWN_FOR = 1.5  # seconds between the immediate stop and the start
RESTART_AT = 0.4  # share of the operations done when PostgreSQL is crashed


def _env(database_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "WALLET_ENV": "test",
        "WALLET_SECRET_KEY": TEST_SECRET,
        "WALLET_DATABASE_URL": database_url,
        "WALLET_ADMIN_PASSWORD": PASSWORD,
    }
    for name in ("WALLET_REDIS_URL", "WALLET_JWT_KEYS"):
        env.pop(name, None)  # in-memory rate limits; the secret above signs tokens
    return env


def _problem(answer: Answer, status: int, code: str) -> dict:
    assert answer.status == status, (answer.status, answer.body)
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.headers
    assert answer.body["code"] == code, answer.body
    return answer.body


def test_a_database_that_refuses_connections_answers_503_not_500(tmp_path: Path) -> None:
    from tests.support.reliability import call

    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"  # nobody listens
    with gunicorn(_env(nowhere), tmp_path / "gunicorn.log", workers=1) as server:
        login = {"email": "anna@example.com", "password": PASSWORD}
        refused = call(server.port, "POST", "/v1/auth/login", login)
        body = _problem(refused, 503, "database_unavailable")
        assert "Idempotency-Key" in body["detail"]
        assert int(refused.headers["retry-after"]) > 0
        assert refused.headers["cache-control"] == "no-store"
        register = {**login, "first_name": "Anna", "handle": "anna"}
        registered = call(server.port, "POST", "/v1/auth/register", register)
        _problem(registered, 503, "database_unavailable")
        _problem(call(server.port, "GET", "/ready"), 503, "not_ready")
        assert call(server.port, "GET", "/health").status == 200  # the process itself is fine
    assert "Traceback" not in (tmp_path / "gunicorn.log").read_text()


# --- the load --------------------------------------------------------------------------------


@dataclass
class Customer:
    id: str
    handle: str
    token: str


@dataclass
class Outcome:
    kind: str  # "charge" or "transfer"
    key: str
    payer: int
    amount: int
    attempts: Attempts
    recipient: int | None = None

    @property
    def answered(self) -> Answer:
        assert self.attempts.answer is not None, f"{self.kind} {self.key}: no definite answer"
        return self.attempts.answer

    @property
    def ok(self) -> bool:
        return 200 <= self.answered.status < 300


@dataclass
class Load:
    outcomes: list[Outcome] = field(default_factory=list)
    pay_codes: list[Attempts] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: int = 0

    def add(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)
            self.done += 1


def _definite(port: int, method: str, path: str, body: object, token: str) -> Answer:
    attempts = until_definite(port, method, path, body, token=token, key=uuid.uuid4().hex)
    assert attempts.answer is not None, (method, path)
    return attempts.answer


def _scene(port: int, env: dict[str, str]) -> tuple[str, list[Customer]]:
    """An admin, a store with a till, and customers in a ring of friends, each topped up."""
    made = wallet_cli(env, "create-admin", "--email", "admin@example.com")
    assert made.returncode == 0, made.stdout + made.stderr
    login = {"email": "admin@example.com", "password": PASSWORD}
    admin = _definite(port, "POST", "/v1/auth/login", login, "").body["access_token"]
    store = {"name": "Crash Café", "address": "Stationsplein 1", "timezone": "Europe/Amsterdam"}
    store_id = _definite(port, "POST", "/v1/stores", store, admin).body["id"]
    device = _definite(port, "POST", f"/v1/stores/{store_id}/devices", {"name": "Till"}, admin)
    credentials = {k: device.body[k] for k in ("device_id", "device_secret")}
    till = _definite(port, "POST", "/v1/auth/device-token", credentials, "").body["access_token"]

    customers = []
    for n in range(CUSTOMERS):
        handle = f"load{n}"
        person = {
            "email": f"{handle}@example.com",
            "password": PASSWORD,
            "first_name": f"Load{n}",
            "handle": handle,
        }
        registered = _definite(port, "POST", "/v1/auth/register", person, "").body
        customers.append(
            Customer(registered["user"]["id"], handle, registered["tokens"]["access_token"])
        )
    for n, asker in enumerate(customers):
        friend = customers[(n + 1) % CUSTOMERS]
        ask = {"handle": friend.handle}
        sent = _definite(port, "POST", "/v1/friend-requests", ask, asker.token)
        accepted = f"/v1/friend-requests/{sent.body['id']}/accept"
        assert _definite(port, "POST", accepted, None, friend.token).status == 200
    for customer in customers:
        top_up = _definite(port, "POST", "/v1/wallet/top-ups", {"amount": TOP_UP}, customer.token)
        assert top_up.body["status"] == "succeeded", top_up.body
    return till, customers


def _client(port: int, till: str, customers: list[Customer], n: int, load: Load) -> None:
    """Customer ``n`` pays at the till and sends credit to the next friend in the ring."""
    rng = random.Random(n)  # noqa: S311  (the same operations every run, not secrets)
    me = customers[n]
    for _ in range(OPERATIONS_PER_CLIENT):
        key = uuid.uuid4().hex
        if rng.random() < 0.5:
            code_request = until_definite(
                port, "POST", "/v1/wallet/pay-codes", None, token=me.token, key=uuid.uuid4().hex
            )
            load.pay_codes.append(code_request)
            assert code_request.answer is not None
            assert code_request.answer.status == 201
            amount = rng.randint(50, 400)
            body = {"code": code_request.answer.body["code"], "amount": amount}
            attempts = until_definite(port, "POST", "/v1/charges", body, token=till, key=key)
            load.add(Outcome("charge", key, n, amount, attempts))
        else:
            amount = rng.randint(50, 300)
            to = (n + 1) % CUSTOMERS
            body = {"to": customers[to].id, "amount": amount, "message": "load"}
            path = "/v1/wallet/transfers"
            attempts = until_definite(port, "POST", path, body, token=me.token, key=key)
            load.add(Outcome("transfer", key, n, amount, attempts, recipient=to))


def _keep_killing_workers(server, load: Load, stop: threading.Event, kills: list[int]) -> None:  # type: ignore[no-untyped-def]
    # Paced by the load's progress, not the clock, so a fast machine sees as many kills as a
    # slow one. The oldest worker dies each time: one that has been serving, never one still
    # booting (killing those would only starve the service, not test it).
    next_kill = KILL_EVERY
    while not stop.wait(0.02):
        if load.done < next_kill:
            continue
        workers = server.workers()
        if len(workers) < WORKERS:
            continue  # the master is still starting the last victim's successor
        victim = workers[0]
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            continue
        kills.append(victim)
        next_kill += KILL_EVERY


@pytest.mark.postgres_only
@pytest.mark.slow
def test_killed_workers_and_a_crashed_database_lose_and_double_nothing(tmp_path: Path) -> None:
    if postgres_binaries() is None:
        pytest.skip("needs the PostgreSQL server binaries (/usr/lib/postgresql/*/bin)")
    with private_postgres() as database:
        env = _env(database.url)
        migrated = wallet_cli(env, "db", "upgrade")
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        with gunicorn(env, tmp_path / "gunicorn.log", workers=WORKERS) as server:
            port = server.port
            till, customers = _scene(port, env)

            load, kills, figures = Load(), [], {}
            stop_killing = threading.Event()
            planned = CUSTOMERS * OPERATIONS_PER_CLIENT

            def crash_the_database_once() -> None:
                while load.done < planned * RESTART_AT:
                    time.sleep(0.05)
                crashed = time.monotonic()
                database.stop_immediately()
                time.sleep(DATABASE_DOWN_FOR)
                database.start()
                back = time.monotonic()
                figures["database down (s)"] = round(back - crashed, 2)
                ready_after, before = wait_for(port, "/ready", 200, timeout=30)
                figures["/ready 200 after the database was back (s)"] = round(ready_after, 2)
                figures["/ready answers before 200"] = dict(Counter(before))

            started = time.monotonic()
            # Daemon threads: if the test fails, they must not keep the run alive.
            clients = [
                threading.Thread(target=_client, args=(port, till, customers, n, load), daemon=True)
                for n in range(CUSTOMERS)
            ]
            killer = threading.Thread(
                target=_keep_killing_workers,
                args=(server, load, stop_killing, kills),
                daemon=True,
            )
            restarter = threading.Thread(target=crash_the_database_once, daemon=True)
            for thread in [*clients, killer, restarter]:
                thread.start()
            for thread in clients:
                thread.join(timeout=600)
            stop_killing.set()
            killer.join(timeout=30)
            restarter.join(timeout=60)
            assert not any(t.is_alive() for t in [*clients, killer, restarter])
            figures["load (s)"] = round(time.monotonic() - started, 1)
            assert "/ready 200 after the database was back (s)" in figures, "no restart happened"

            # Every request got a definite answer, and none was a bare 500.
            answers = Counter(o.answered.status for o in load.outcomes)
            seen = Counter(s for o in load.outcomes for s in o.attempts.statuses)
            seen.update(s for a in load.pay_codes for s in a.statuses)
            broken = sum(o.attempts.connection_errors for o in load.outcomes) + sum(
                a.connection_errors for a in load.pay_codes
            )
            figures.update(
                {
                    "operations": len(load.outcomes),
                    "requests sent (with retries and pay codes)": sum(seen.values()) + broken,
                    "workers killed": len(kills),
                    "broken connections": broken,
                    "statuses seen": dict(sorted(seen.items())),
                    "final answers": dict(sorted(answers.items())),
                }
            )
            print("\nfault injection:", figures)
            assert len(load.outcomes) == planned
            assert 500 not in seen, "a bare 500 was answered: " + _log_tail(server.log)
            assert len(kills) >= planned // KILL_EVERY // 2
            refused = [o for o in load.outcomes if not o.ok]
            # Amounts stay well inside balances and limits; only a pay code that expired while
            # its charge was being retried may be refused, and that changes nothing.
            assert all(o.answered.body["code"] == "code_expired" for o in refused), [
                o.answered.body for o in refused
            ]

            expected = {c.id: TOP_UP for c in customers}
            for o in load.outcomes:
                if not o.ok:
                    continue
                expected[customers[o.payer].id] -= o.amount
                if o.recipient is not None:
                    expected[customers[o.recipient].id] += o.amount
            for customer in customers:
                wallet = _definite(port, "GET", "/v1/wallet", None, customer.token).body
                assert wallet["balance"] == expected[customer.id], customer.handle

        _assert_in_the_ledger_exactly_once(database.url, load)
        verified = wallet_cli(env, "ledger", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "ledger verify: all invariants hold" in verified.stdout


def _assert_in_the_ledger_exactly_once(url: str, load: Load) -> None:
    charged = {
        o.answered.body["charge"]["id"]: o.amount
        for o in load.outcomes
        if o.kind == "charge" and o.ok
    }
    sent = {o.answered.body["id"]: o.amount for o in load.outcomes if o.kind == "transfer" and o.ok}
    keys = {o.key for o in load.outcomes if o.ok}
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as connection:

            def rows(sql: str) -> list[tuple]:
                return [tuple(r) for r in connection.execute(sa.text(sql))]

            # The business rows: exactly the answered ones, nothing the clients never saw.
            assert dict(rows("SELECT id::text, amount FROM charges")) == charged
            assert dict(rows("SELECT id::text, amount FROM transfers")) == sent
            # Their postings: one each.
            postings = rows(
                "SELECT meta->>'charge_id', count(*) FROM ledger_transactions "
                "WHERE kind = 'charge' GROUP BY 1"
            )
            assert dict(postings) == dict.fromkeys(charged, 1)
            postings = rows(
                "SELECT meta->>'transfer_id', count(*) FROM ledger_transactions "
                "WHERE kind = 'transfer' GROUP BY 1"
            )
            assert dict(postings) == dict.fromkeys(sent, 1)
            # The keys of the answered requests, each stored once with its answer.
            stored = rows(
                "SELECT key, count(*), min(response_status) FROM idempotency_keys "
                "WHERE response_status BETWEEN 200 AND 299 GROUP BY key"
            )
            answered = {k: (n, status) for k, n, status in stored}
            for key in keys:
                assert answered.get(key, (0, None))[0] == 1, key
    finally:
        engine.dispose()


def _log_tail(log: Path) -> str:
    """The first unhandled error's traceback if the server logged one, else the log's end."""
    text = log.read_text(errors="replace")
    first = text.find("unhandled error")
    return text[first : first + 20000] if first >= 0 else text[-4000:]
