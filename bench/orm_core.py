"""The charge's service path through the ORM against the same SQL through SQLAlchemy Core.

One client, in process, on PostgreSQL (``bench_profile`` by default; wiped). Three ways to
make the same charge of one Flat White from a minted pay code, each committing:

* **ORM**: ``wallet_api.counter.service.create_charge`` and ``db.session.commit()`` in a
  request context, as the ``POST /v1/charges`` view runs it (without HTTP, auth,
  idempotency and the response, which are not the money path);
* **Core**: the statements that path sent, captured at the driver
  (``bench/charge_sql.py``), through a pooled SQLAlchemy ``Connection`` and
  ``exec_driver_sql``, same transaction;
* **raw**: the same statements on a bare psycopg connection.

The gap is ORM time / Core time - 1 (target: under 10%), for wall time and for this
process's CPU time; rounds alternate the three and the median of the rounds is printed.

    .venv/bin/python bench/orm_core.py [--charges 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import charge_sql, seed  # noqa: E402

PG_URL = "postgresql://postgres@127.0.0.1:5432/bench_profile"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--charges", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from flask import g

    from wallet_api.counter import service as charges
    from wallet_api.counter.schemas import ChargeCreateSchema
    from wallet_api.extensions import db
    from wallet_api.extensions.auth import DEVICE, Principal

    app = seed.make_app(args.pg_url)
    seed.reset_database(app)
    plan = seed.seed(app, clients=1, stores=1)
    till = plan.tills[0]
    principal = Principal(
        kind=DEVICE, id=uuid.UUID(till.device_id), store_id=uuid.UUID(till.store_id)
    )
    schema = ChargeCreateSchema()

    def orm_charge(code: str) -> None:
        data = schema.load(
            {"code": code, "items": [{"product_id": plan.product_id, "size": "M", "quantity": 1}]}
        )
        with app.test_request_context("/v1/charges", method="POST"):
            g.principal = principal
            charges.create_charge(principal, data)
            db.session.commit()
            db.session.remove()

    *warm, code_a, code_b = seed.mint_pay_codes(app, plan.payers, 4)[0]
    # Two warm-ups: the first charge at the new store opens its accounts, which the ledger
    # caches only once a later transaction reads them committed (the second charge).
    for code in warm:
        orm_charge(code)
    a, started_a = charge_sql.capture(lambda: orm_charge(code_a))
    b, _ = charge_sql.capture(lambda: orm_charge(code_b))
    digest = lambda text: hashlib.sha256(text.encode()).hexdigest()  # noqa: E731
    template = charge_sql.build_template(
        a,
        b,
        hash_a=digest(code_a),
        key_a="-",
        started_a=started_a,
        hash_b=digest(code_b),
        key_b="-",
    )
    print(f"the service path sends {sum(1 for c in a if c.kind != 'commit')} statements:")
    print("  " + template.describe().replace("\n", "\n  "))

    dsn = args.pg_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with app.app_context():
        engine = db.engine  # the app's own engine and pool (pool_pre_ping included)
        core = charge_sql.CoreReplayer(engine, template)
        raw = charge_sql.Replayer(dsn, template)
        ways = {"ORM": orm_charge, "Core": core.charge, "raw": raw.charge}
        figures: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
        for round_index in range(args.rounds):
            order = list(ways) if round_index % 2 == 0 else list(reversed(ways))
            for name in order:
                codes = seed.mint_pay_codes(app, plan.payers, args.charges)[0]
                wall, cpu = time.perf_counter(), time.process_time()
                for code in codes:
                    ways[name](code)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                figures[name].append((wall / len(codes) * 1000, cpu / len(codes) * 1000))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nper charge, median of {args.rounds} rounds of {args.charges} (load {load}):")
    print("| path | wall ms | CPU ms (this process) |")
    print("|---|---:|---:|")
    medians = {}
    for name, rows in figures.items():
        medians[name] = (
            statistics.median(r[0] for r in rows),
            statistics.median(r[1] for r in rows),
        )
        print(f"| {name} | {medians[name][0]:.2f} | {medians[name][1]:.2f} |")
    gap_wall = [o[0] / c[0] - 1 for o, c in zip(figures["ORM"], figures["Core"], strict=True)]
    gap_cpu = [o[1] / c[1] - 1 for o, c in zip(figures["ORM"], figures["Core"], strict=True)]
    print(
        f"\nORM-to-Core gap: wall {statistics.median(gap_wall) * 100:.0f}%, "
        f"CPU {statistics.median(gap_cpu) * 100:.0f}% (median of per-round ratios)"
    )


if __name__ == "__main__":
    main()
