"""Profile charges in process (cProfile, CPU clock): where a charge request's time goes.

    .venv/bin/python bench/profile_charge.py [--charges 200] [--pg-url ...]

Seeds the ``bench_http`` database afresh (one store, one customer), charges minted pay codes
through the Flask test client (the same code a gunicorn worker runs, without the HTTP
server) and prints the top functions by cumulative and by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import seed  # noqa: E402
from bench.http_bench import Charge  # noqa: E402

PG_URL = "postgresql://postgres@127.0.0.1:5432/bench_profile"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--charges", type=int, default=200)
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--redis-url", help="rate limits in Redis, as under gunicorn")
    parser.add_argument("--no-profile", action="store_true", help="only the unprofiled timing")
    args = parser.parse_args()
    app = seed.make_app(args.pg_url, args.redis_url)
    seed.reset_database(app)
    plan = seed.seed(app, clients=1, stores=1)
    codes = seed.mint_pay_codes(app, plan.payers, args.charges + 21)[0]
    client = app.test_client()
    till = plan.tills[0]
    body = Charge(plan, [], False).body

    def charge(code: str) -> None:
        response = client.post(
            "/v1/charges",
            json=body(code),
            headers={"Authorization": f"Bearer {till.token}", "Idempotency-Key": uuid.uuid4().hex},
        )
        assert response.status_code == 201, response.get_json()

    for code in codes[:20]:
        charge(code)
    # One charge's statements, counted at the driver.
    from bench import charge_sql

    calls, _ = charge_sql.capture_charge(client, till.token, body(codes[20]), uuid.uuid4().hex)
    statements = sum(1 for c in calls if c.kind.startswith("execute"))
    measured = codes[21 : 21 + args.charges]
    wall, cpu = time.perf_counter(), time.process_time()
    for code in measured:
        charge(code)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"{len(measured)} charges, unprofiled: {wall / len(measured) * 1000:.2f} ms wall, "
        f"{cpu / len(measured) * 1000:.2f} ms CPU of this process per charge; "
        f"{statements} statements per charge; load {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    if args.no_profile:
        return
    codes = seed.mint_pay_codes(app, plan.payers, args.charges)[0]
    profiler = cProfile.Profile(time.process_time)
    wall, cpu = time.perf_counter(), time.process_time()
    profiler.enable()
    for code in codes:
        charge(code)
    profiler.disable()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"{args.charges} charges: {wall / args.charges * 1000:.2f} ms wall, "
        f"{cpu / args.charges * 1000:.2f} ms CPU per charge (profiled)"
    )
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
