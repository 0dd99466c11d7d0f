"""What the sign-out check costs a request: statements counted, and the loader timed.

    .venv/bin/python bench/access_check.py [--pg-url ...] [--loads 3000] [--rounds 5]

Seeds the ``bench_access`` database afresh (one store and its till, one customer), counts
the statements (at the driver) of a customer's ``GET /v1/wallet`` and of a till's charge,
then times, in rounds of alternating order, two ways of reading the person behind an
access token in a fresh session (a request's): the person's row alone
(``session.get(User, id)``), and ``load_user_principal`` (since access tokens name their
login, the same row with the login's liveness in the same statement).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import charge_sql, seed  # noqa: E402
from bench.http_bench import Charge  # noqa: E402

PG_URL = "postgresql://postgres@127.0.0.1:5432/bench_access"


def _statements(calls: list[charge_sql.Call]) -> int:
    return sum(1 for call in calls if call.kind.startswith("execute"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--loads", type=int, default=3000, help="loads per round and way")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    app = seed.make_app(args.pg_url)
    seed.reset_database(app)
    plan = seed.seed(app, clients=1, stores=1)
    customer, till = plan.phones[0], plan.tills[0]
    code = seed.mint_pay_codes(app, plan.payers, 2)[0]
    client = app.test_client()
    body = Charge(plan, [], False).body

    charge_sql.capture_charge(client, till.token, body(code[0]), uuid.uuid4().hex)  # warm
    charge, _ = charge_sql.capture_charge(client, till.token, body(code[1]), uuid.uuid4().hex)
    headers = {"Authorization": f"Bearer {customer.token}"}
    assert client.get("/v1/wallet", headers=headers).status_code == 200  # warm
    wallet, _ = charge_sql.capture(lambda: client.get("/v1/wallet", headers=headers))
    print(
        f"statements: customer GET /v1/wallet {_statements(wallet)}, "
        f"till charge {_statements(charge)}"
    )

    import jwt

    from wallet_api.auth.models import User
    from wallet_api.auth.service import load_user_principal
    from wallet_api.extensions import db

    claims = jwt.decode(customer.token, options={"verify_signature": False})
    user_id = uuid.UUID(claims["sub"])

    def row_alone() -> None:
        assert db.session.get(User, user_id) is not None

    def with_login() -> None:
        assert load_user_principal(claims) is not None

    ways = {"person's row alone": row_alone, "row and login (loader)": with_login}
    wall: dict[str, list[float]] = {name: [] for name in ways}
    cpu: dict[str, list[float]] = {name: [] for name in ways}
    with app.app_context():
        for way in ways.values():
            for _ in range(100):
                way()
                db.session.remove()
        # Paired: the two ways take turns load by load (first one, then the other), so the
        # load of this shared machine weighs on both alike; medians of each round's mean.
        for _round in range(args.rounds):
            spent = {name: [0.0, 0.0] for name in ways}
            for n in range(args.loads):
                order = list(ways.items())
                if n % 2:
                    order.reverse()
                for name, way in order:
                    started, started_cpu = time.perf_counter(), time.process_time()
                    way()
                    db.session.remove()  # each request has its own session
                    spent[name][0] += time.perf_counter() - started
                    spent[name][1] += time.process_time() - started_cpu
            for name, (w, c) in spent.items():
                wall[name].append(w / args.loads * 1e6)
                cpu[name].append(c / args.loads * 1e6)
    # A load here includes the session's connection check-out, BEGIN and ROLLBACK.
    for name in ways:
        print(
            f"{name}: median {statistics.median(wall[name]):.0f} µs wall, "
            f"{statistics.median(cpu[name]):.0f} µs CPU a load"
        )
    for label, figures in (("wall", wall), ("CPU", cpu)):
        added = [b - a for a, b in zip(*figures.values(), strict=True)]
        rounds = " ".join(f"{a:+.0f}" for a in added)
        print(f"added per request ({label}): median {statistics.median(added):+.0f} µs ({rounds})")


if __name__ == "__main__":
    main()
