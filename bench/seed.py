"""Seed a benchmark database: stores with scanners, a menu, funded customers, friends, gifts.

Used by ``bench/http_bench.py``, ``bench/growth.py`` and ``bench/sqlite_writers.py``. The
admin work (stores, devices, device sign-in, the menu, friend requests, gifts) goes
through the real API with Flask's test client, in process; people are registered and
funded through the services (``register_user``, ``ledger.transfer`` from top-up clearing,
as a settled top-up would), because the API's sign-in limits are meant for people, not a
seeding script, and argon2 sign-ins would dominate the seeding time.

Pay codes for the charge-only scenario are minted ahead of the run (``mint_pay_codes``):
rows exactly as ``paycodes.service.create_pay_code`` writes them (its ``pay_code_text`` and
``code_hash``), many per customer and valid for an hour, so that a till can charge codes
back to back without each charge also paying for the phone's request.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

BENCH_SECRET = "bench-secret-key-that-is-long-enough-0123456789"  # noqa: S105  (bench-only)
PASSWORD = "bench-password-0"  # noqa: S105  (throwaway bench accounts)

# The environment every server of a benchmark runs with: the same for every figure.
# Balances and the daily transfer limit are raised because a closed loop moves far more
# money per customer than a person would; the checks still run on every request.
SERVER_ENV = {
    "WALLET_ENV": "production",
    "WALLET_SECRET_KEY": BENCH_SECRET,
    "WALLET_ACCESS_TOKEN_TTL": str(24 * 3600),
    "WALLET_DEVICE_TOKEN_TTL": str(24 * 3600),
    "WALLET_MAX_BALANCE": str(10**12),
    "WALLET_DAILY_TRANSFER_LIMIT": str(10**12),
    "WALLET_MAX_TOP_UP": "25000",
}
FUNDS = 10**10


def server_env(database_url: str, redis_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLET_")}
    env.update(SERVER_ENV, WALLET_DATABASE_URL=database_url)
    if redis_url:
        env["WALLET_REDIS_URL"] = redis_url
    return env


def apply_env(database_url: str, redis_url: str | None = None) -> None:
    for key in [k for k in os.environ if k.startswith("WALLET_")]:
        del os.environ[key]
    os.environ.update(server_env(database_url, redis_url))


@dataclass
class Customer:
    id: str
    handle: str
    token: str


@dataclass
class Till:
    store_id: str
    device_id: str
    token: str


@dataclass
class Plan:
    """What the load generator needs: ids and tokens, nothing else."""

    product_id: str
    stores: list[str]
    # tills[i] is a till of stores[i]; busy_tills are all tills of stores[0]
    tills: list[Till]
    busy_tills: list[Till]
    payers: list[Customer]  # charge-only scenario: pay codes minted ahead
    phones: list[Customer]  # scan -> charge flow: the customer asks for each code
    senders: list[Customer]  # transfers: senders[i] sends to receivers[i]
    receivers: list[Customer]
    toppers: list[Customer]  # top-ups
    givers: list[Customer]
    gift_codes: list[list[str]] = field(default_factory=list)  # per client: drink gift codes

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        def people(key: str) -> list[Customer]:
            return [Customer(**c) for c in data[key]]

        return cls(
            product_id=data["product_id"],
            stores=data["stores"],
            tills=[Till(**t) for t in data["tills"]],
            busy_tills=[Till(**t) for t in data["busy_tills"]],
            payers=people("payers"),
            phones=people("phones"),
            senders=people("senders"),
            receivers=people("receivers"),
            toppers=people("toppers"),
            givers=people("givers"),
            gift_codes=data["gift_codes"],
        )


def make_app(database_url: str, redis_url: str | None = None):  # type: ignore[no-untyped-def]
    """The app in this process: for seeding (no rate limits: it signs many devices in),
    or, with ``redis_url``, configured as the servers are, rate limits included."""
    apply_env(database_url, redis_url)
    from wallet_api import create_app

    return create_app(None if redis_url else {"RATELIMIT_ENABLED": False})


def _create_database_if_missing(url) -> None:  # type: ignore[no-untyped-def]
    """Each script runs alone too, so it makes its own database on first use."""
    import psycopg

    server = url.set(drivername="postgresql", database="postgres")
    conninfo = server.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        found = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (url.database,)
        ).fetchone()
        if found is None:
            connection.execute(f'CREATE DATABASE "{url.database}"')


def reset_database(app) -> None:  # type: ignore[no-untyped-def]
    """Drop the schema and migrate afresh (the database name must contain 'bench')."""
    from flask_migrate import upgrade

    from wallet_api.extensions import db

    with app.app_context():
        url = str(db.engine.url)
        if "bench" not in url:
            raise SystemExit(f"refusing to wipe a database whose name lacks 'bench': {url}")
        if db.engine.dialect.name == "postgresql":
            _create_database_if_missing(db.engine.url)
            with db.engine.begin() as connection:
                connection.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
                connection.exec_driver_sql("CREATE SCHEMA public")
        upgrade()


class _Api:
    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.client = app.test_client()

    def post(self, path: str, body: Any, token: str | None = None, idem: bool = False) -> Any:
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if idem:
            headers["Idempotency-Key"] = uuid.uuid4().hex
        response = self.client.post(path, json=body, headers=headers)
        if response.status_code not in (200, 201):
            raise RuntimeError(f"POST {path} -> {response.status_code}: {response.get_json()}")
        return response.get_json()


def _register(count: int, prefix: str, funds: int) -> list[Customer]:
    from wallet_api.auth.service import issue_tokens, register_user
    from wallet_api.extensions import db
    from wallet_api.ledger import service as ledger
    from wallet_api.ledger.models import AccountKind

    people = []
    clearing = ledger.system_account(AccountKind.TOPUP_CLEARING)
    for i in range(count):
        user = register_user(
            email=f"{prefix}{i}@bench.example.com",
            password=PASSWORD,
            first_name=f"{prefix.title()}{i}",
            handle=f"{prefix}{i}",
        )
        if funds:
            ledger.transfer("top_up", clearing, ledger.wallet_account(user.id), funds)
        people.append(Customer(str(user.id), user.handle, issue_tokens(user).access_token))
    db.session.commit()
    return people


def seed(
    app,  # type: ignore[no-untyped-def]
    *,
    clients: int,
    stores: int,
    gifts_per_client: int = 0,
) -> Plan:
    """Stores (at least ``clients`` of them), a till per store and ``clients`` tills at the
    busy store, and ``clients`` people for each scenario."""
    from sqlalchemy import text

    from wallet_api.auth.models import Role
    from wallet_api.auth.service import issue_tokens, register_user, set_role
    from wallet_api.extensions import db

    stores = max(stores, clients)
    api = _Api(app)
    with app.app_context():
        admin = register_user(
            email="admin@bench.example.com",
            password=PASSWORD,
            first_name="Admin",
            handle="benchadmin",
            role=Role.ADMIN,
        )
        set_role(admin, Role.ADMIN)
        admin_token = issue_tokens(admin).access_token
        db.session.commit()

    def add_till(store_id: str, name: str) -> Till:
        device = api.post(f"/v1/stores/{store_id}/devices", {"name": name}, admin_token)
        signed_in = api.post(
            "/v1/auth/device-token",
            {"device_id": device["device_id"], "device_secret": device["device_secret"]},
        )
        return Till(store_id, device["device_id"], signed_in["access_token"])

    product = api.post(
        "/v1/catalog/products",
        {
            "name": "Flat White",
            "prices": [
                {"size": "S", "price": 350},
                {"size": "M", "price": 390},
                {"size": "L", "price": 430},
            ],
        },
        admin_token,
    )
    store_ids, tills = [], []
    for i in range(stores):
        store = api.post(
            "/v1/stores",
            {"name": f"Store {i}", "address": f"Street {i}", "timezone": "Europe/Amsterdam"},
            admin_token,
        )
        store_ids.append(store["id"])
        tills.append(add_till(store["id"], "Till 1"))
    busy = [tills[0]] + [add_till(store_ids[0], f"Till {i + 2}") for i in range(clients - 1)]

    with app.app_context():
        payers = _register(clients, "payer", FUNDS)
        phones = _register(clients, "phone", FUNDS)
        senders = _register(clients, "sender", FUNDS)
        receivers = _register(clients, "receiver", 0)
        toppers = _register(clients, "topper", 0)
        givers = _register(clients, "giver", FUNDS) if gifts_per_client else []

    # Friends through the API: a transfer or a gift needs them.
    for a, b in [
        *zip(senders, receivers, strict=True),
        *zip(givers, receivers[: len(givers)], strict=True),
    ]:
        request = api.post("/v1/friend-requests", {"handle": b.handle}, a.token)
        api.post(f"/v1/friend-requests/{request['id']}/accept", None, b.token)

    gift_codes: list[list[str]] = []
    if gifts_per_client:
        from wallet_api.gifts import service as gifts
        from wallet_api.gifts.models import Gift

        for giver, receiver in zip(givers, receivers, strict=True):
            ids = [
                api.post(
                    "/v1/gifts",
                    {
                        "user_id": receiver.id,
                        "item": {"product_id": product["id"], "size": "M"},
                        "message": "Enjoy",
                    },
                    giver.token,
                    idem=True,
                )["id"]
                for _ in range(gifts_per_client)
            ]
            # The code the recipient's app shows (GET /v1/gifts/{id}/qr draws this text).
            with app.app_context():
                gift_codes.append(
                    [gifts.gift_code(db.session.get(Gift, uuid.UUID(g))) for g in ids]
                )
    with app.app_context():
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    return Plan(
        product_id=product["id"],
        stores=store_ids,
        tills=tills[:stores],
        busy_tills=busy,
        payers=payers,
        phones=phones,
        senders=senders,
        receivers=receivers,
        toppers=toppers,
        givers=givers,
        gift_codes=gift_codes,
    )


def mint_pay_codes(app, customers: list[Customer], per_customer: int) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """``per_customer`` live pay codes for each customer, valid for an hour; their texts."""
    from sqlalchemy import insert, text

    from wallet_api.clock import utcnow
    from wallet_api.extensions import db
    from wallet_api.paycodes.models import PayCode
    from wallet_api.paycodes.service import code_hash, pay_code_text

    texts: list[list[str]] = []
    with app.app_context():
        now = utcnow()
        rows = []
        for customer in customers:
            mine = []
            for _ in range(per_customer):
                code_id = uuid.uuid4()
                code_text = pay_code_text(code_id)
                mine.append(code_text)
                rows.append(
                    {
                        "id": code_id,
                        "user_id": uuid.UUID(customer.id),
                        "code_hash": code_hash(code_text),
                        "created_at": now,
                        "expires_at": now + timedelta(hours=1),
                        "allowance_id": None,
                    }
                )
            texts.append(mine)
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(PayCode), rows[start : start + 5000])
        db.session.commit()
        # Fresh statistics: a table grown tenfold since the last ANALYZE can get a bad plan
        # until autovacuum notices, which would land in the middle of a measurement.
        db.session.execute(text("ANALYZE pay_codes"))
        db.session.commit()
    return texts
