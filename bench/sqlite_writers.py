"""SQLite, the embedded default, under 32 concurrent writers: no "database is locked".

The app runs on a SQLite file in a temporary directory (what ``instance/`` holds by
default), migrated and seeded by ``bench/seed.py``, under gunicorn with the settings of
``bench/http_bench.py`` (sync workers, so several processes share the file) and the
embedded defaults otherwise (rate limits in memory, no Redis). 32 clients (2 processes x 16
threads), each a customer of their own at a till of their own, alternate a charge of a
minted pay code and a sandbox top-up, as fast as they can (closed loop) and then at a
fixed rate. Every answer must be 201; a "database is locked" anywhere (a 500 to the client,
or in the server's log) is counted. Target: none, with the p99 recorded.

Why there are none: every transaction that may write starts with ``BEGIN IMMEDIATE`` and
waits up to 30 s (``busy_timeout``) for the single writer slot, under WAL so that reads
never wait (``wallet_api/extensions/database.py``); a transaction never upgrades from
read to write, which is the case SQLite answers with "database is locked" at once.

    .venv/bin/python bench/sqlite_writers.py [--duration 20] [--rate 30]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import loadgen, seed  # noqa: E402
from bench.http_bench import (  # noqa: E402
    APP_PORT,
    Charge,
    _auth,
    gunicorn_args,
    loadavg,
    start_server,
)

WRITERS = 32


class ChargeAndTopUp(Charge):
    def setup(self, i: int) -> dict[str, Any]:
        state = super().setup(i)
        state["customer"] = self.plan.payers[i]
        state["n"] = 0
        return state

    def step(self, client: loadgen.Client, state: dict[str, Any]) -> None:
        state["n"] += 1
        if state["n"] % 2:
            super().step(client, state)
        else:
            client.request(
                "POST",
                "/v1/wallet/top-ups",
                {"amount": 500},
                _auth(state["customer"].token, idem=True),
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=8, help="gunicorn workers (sync)")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=30.0, help="fixed rate, operations/s")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench_sqlite_") as tmp:
        url = f"sqlite:///{tmp}/bench_wallet.sqlite3"
        print(f"load average at start: {loadavg()}; database {url}", flush=True)
        app = seed.make_app(url)
        seed.reset_database(app)
        plan = seed.seed(app, clients=WRITERS, stores=WRITERS)
        env = seed.server_env(url, None)
        server = start_server("wsgi:app", APP_PORT, args.workers, env, ROOT, "/health")
        log = Path(tempfile.gettempdir()) / f"bench_gunicorn_{APP_PORT}.log"
        log_start = log.stat().st_size
        results = []
        try:
            for rate in (None, args.rate):
                per_client = int(args.duration * 400 / WRITERS) + 50
                codes = seed.mint_pay_codes(app, plan.payers, per_client)
                result = loadgen.run(
                    "charge + top-up, 32 writers",
                    lambda c=codes: ChargeAndTopUp(plan, c, False),
                    server.url,
                    processes=2,
                    threads=WRITERS // 2,
                    duration=args.duration,
                    rate=rate,
                )
                results.append((result, loadavg()))
                print(f"{result.line()}  load {loadavg()}", flush=True)
                for sample in result.error_samples[:5]:
                    print(f"    error: {sample}")
        finally:
            server.stop()
        server_log = log.read_bytes()[log_start:].decode(errors="replace")
    locked_in_log = server_log.count("database is locked")
    print(f"\ngunicorn {' '.join(gunicorn_args(args.workers))}; SQLite WAL, busy_timeout 30 s")
    print("| mode | ops/s | p50 ms | p99 ms | p99.9 ms | n | errors | locked | load avg |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for result, load in results:
        locked = sum("database is locked" in e for e in result.error_samples)
        print(
            f"| {result.mode} | {result.rps:.1f} | {result.pct(50):.1f} | {result.pct(99):.1f} | "
            f"{result.pct(99.9):.1f} | {result.count} | {result.errors} | {locked} | {load} |"
        )
    print(f'"database is locked" in the server log: {locked_in_log}')
    total_errors = sum(r.errors for r, _ in results)
    print(
        "target (no locked errors, no errors at all):",
        "met" if not (total_errors or locked_in_log) else "MISSED",
    )


if __name__ == "__main__":
    main()
