"""Does a request get slower as the ledger grows? And does a worker's memory grow?

1. Latency at 10,000 and at 1,000,000 ledger entries: seeds the database (``bench_growth``
   by default; wiped) with the stores and people of ``bench/seed.py``, then bulk-loads
   ledger entries with ``INSERT ... SELECT generate_series`` (raw SQL, seconds for a
   million rows): balanced two-entry transactions, alternately a 5.00 top-up from top-up
   clearing and a 3.90 sale to a store, spread over the wallets of the seeded customers
   (the measured customer holds 1/16 of them: ~31,000 transactions of history at the
   large size), every customer entry with its balance after, and the cached balances
   set to the sums of the entries. ``wallet-api ledger verify`` runs after each load.
   Then the app runs under gunicorn (the settings of ``bench/http_bench.py``) and, at a
   fixed rate, the measured customer's ``GET /v1/wallet``, the first page of
   ``GET /v1/wallet/transactions`` and a charge of their minted pay code are timed.
   Target: each within 20% of the same at 10,000 entries.
2. Worker memory: one gunicorn worker serves a closed-loop mix (wallet, history page,
   and a charge every 4th operation) and its resident set (``VmRSS`` in
   ``/proc/<pid>/status``) is read after 10,000 and after 50,000 requests. Target: within
   10%.

    .venv/bin/python bench/growth.py                    # ~10 minutes
    .venv/bin/python bench/growth.py --skip-memory --large 200000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import loadgen, seed  # noqa: E402
from bench.http_bench import APP_PORT, Charge, _auth, loadavg, start_server  # noqa: E402

PG_URL = "postgresql://postgres@127.0.0.1:5432/bench_growth"
REDIS_URL = "redis://127.0.0.1:6379/7"
CLIENTS = 16

CHARGE_META = (
    '{"store": {"id": "%s", "name": "Store 0"}, "items": [{"kind": "product", '
    '"item_id": "%s", "name": "Flat White", "size": "M", "quantity": 1, "unit_price": 390, '
    '"total": 390}], "charge_id": "00000000-0000-0000-0000-000000000000", "subtotal": 390, '
    '"discount": 0, "offers": [], "points_earned": 0}'
)

LOAD_SQL = """
WITH g AS (
    SELECT k, (k / %(w)s) AS j, %(wallets)s::bigint[] AS wallets
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS k
), t AS (
    INSERT INTO ledger_transactions (public_id, kind, memo, meta, event_at, created_at)
    SELECT md5('bench-growth-' || k)::uuid,
           CASE WHEN j %% 2 = 0 THEN 'top_up' ELSE 'charge' END,
           CASE WHEN j %% 2 = 0 THEN '' ELSE 'Store 0' END,
           CASE WHEN j %% 2 = 0 THEN '{"source": "bench"}'::json
                ELSE %(charge_meta)s::json END,
           now() - interval '30 days' + k * interval '1 ms',
           now() - interval '30 days' + k * interval '1 ms'
    FROM g
    RETURNING id, public_id
)
INSERT INTO ledger_entries (transaction_id, account_id, amount, balance_after, created_at)
SELECT t.id, e.account_id, e.amount, e.balance_after,
       now() - interval '30 days' + g.k * interval '1 ms'
FROM g
JOIN t ON t.public_id = md5('bench-growth-' || g.k)::uuid
CROSS JOIN LATERAL (
    VALUES
        (g.wallets[(g.k %% %(w)s) + 1],
         CASE WHEN g.j %% 2 = 0 THEN 500 ELSE -390 END,
         %(funds)s::bigint + (g.j / 2 + 1) * 500 - ((g.j + 1) / 2) * 390),
        (CASE WHEN g.j %% 2 = 0 THEN %(clearing)s::bigint ELSE %(sales)s::bigint END,
         CASE WHEN g.j %% 2 = 0 THEN -500 ELSE 390 END,
         NULL::bigint)
) AS e(account_id, amount, balance_after)
"""


def load_entries(dsn: str, ids: dict[str, Any], first_tx: int, last_tx: int) -> None:
    """Transactions ``first_tx``..``last_tx`` (two entries each), then cached balances."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        step = 100_000
        for start in range(first_tx, last_tx + 1, step):
            conn.execute(
                LOAD_SQL,
                {
                    "w": len(ids["wallets"]),
                    "wallets": ids["wallets"],
                    "first": start,
                    "last": min(start + step - 1, last_tx),
                    "funds": seed.FUNDS,
                    "clearing": ids["clearing"],
                    "sales": ids["sales"],
                    "charge_meta": CHARGE_META % (ids["store"], ids["product"]),
                },
            )
            conn.commit()
        conn.execute(
            "UPDATE ledger_accounts a SET balance = s.total FROM ("
            " SELECT account_id, sum(amount) AS total FROM ledger_entries"
            " WHERE account_id = ANY(%s) GROUP BY account_id) s WHERE a.id = s.account_id",
            (ids["wallets"],),
        )
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def account_ids(app, plan: seed.Plan) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    from wallet_api.extensions import db
    from wallet_api.ledger import service as ledger
    from wallet_api.ledger.models import AccountKind

    with app.app_context():
        # The measured customer first: wallets[0] gets transactions 0, W, 2W, ...
        people = [*plan.payers, *plan.phones][:CLIENTS]
        ids = {
            "wallets": [ledger.wallet_account(uuid.UUID(p.id)).id for p in people],
            "clearing": ledger.system_account(AccountKind.TOPUP_CLEARING).id,
            "sales": ledger.system_account(AccountKind.STORE_SALES, uuid.UUID(plan.stores[0])).id,
            "store": plan.stores[0],
            "product": plan.product_id,
        }
        db.session.commit()
    return ids


def entry_count(dsn: str) -> int:
    import psycopg

    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT count(*) FROM ledger_entries").fetchone()[0]  # type: ignore[index]


def verify(env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "wallet-api"), "ledger", "verify"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    last = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
    if done.returncode != 0:
        raise SystemExit(f"ledger verify failed:\n{done.stdout}\n{done.stderr}")
    return last


# --- what is measured ----------------------------------------------------------------------


class Wallet:
    def __init__(self, customer: seed.Customer) -> None:
        self.customer = customer

    def setup(self, i: int) -> None:
        return None

    def step(self, client: loadgen.Client, state: None) -> None:
        client.request("GET", "/v1/wallet", headers=_auth(self.customer.token), expect=(200,))


class History(Wallet):
    def step(self, client: loadgen.Client, state: None) -> None:
        page = client.request(
            "GET",
            "/v1/wallet/transactions?limit=20",
            headers=_auth(self.customer.token),
            expect=(200,),
        )
        if len(page["items"]) != 20:
            raise loadgen.UnexpectedStatus(f"a short first page: {len(page['items'])}")


class Mix(Charge):
    """For the memory run: wallet, history page, and every 4th time a charge."""

    def setup(self, i: int) -> dict[str, Any]:
        state = super().setup(i)
        state["n"] = 0
        state["customer"] = self.plan.payers[i]
        return state

    def step(self, client: loadgen.Client, state: dict[str, Any]) -> None:
        headers = _auth(state["customer"].token)
        client.request("GET", "/v1/wallet", headers=headers, expect=(200,))
        client.request("GET", "/v1/wallet/transactions?limit=20", headers=headers, expect=(200,))
        state["n"] += 1
        if state["n"] % 4 == 0:
            super().step(client, state)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_GROWTH_PG_URL", PG_URL))
    parser.add_argument("--redis-url", default=REDIS_URL)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--small", type=int, default=10_000, help="ledger entries")
    parser.add_argument("--large", type=int, default=1_000_000, help="ledger entries")
    parser.add_argument("--rate", type=float, default=20.0, help="requests/s per scenario")
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--memory-requests", type=int, default=50_000)
    args = parser.parse_args()

    print(f"load average at start: {loadavg()}", flush=True)
    app = seed.make_app(args.pg_url)
    seed.reset_database(app)
    plan = seed.seed(app, clients=CLIENTS, stores=CLIENTS)
    ids = account_ids(app, plan)
    dsn = args.pg_url.replace("postgresql+psycopg://", "postgresql://", 1)
    env = seed.server_env(args.pg_url, args.redis_url)
    me = plan.payers[0]
    figures: dict[int, dict[str, loadgen.Result]] = {}
    loaded_tx = 0
    for size in (args.small, args.large):
        target_tx = size // 2
        started = time.monotonic()
        load_entries(dsn, ids, loaded_tx, target_tx - 1)
        loaded_tx = target_tx
        print(
            f"{entry_count(dsn):,} ledger entries (loaded in {time.monotonic() - started:.0f} s); "
            f"{verify(env)}",
            flush=True,
        )
        per_run = int(args.rate * (args.duration + 2)) + 100
        warm_codes, codes = (seed.mint_pay_codes(app, [me], per_run) for _ in range(2))
        server = start_server("wsgi:app", APP_PORT, args.workers, env, ROOT, "/health")
        try:
            runs = {
                "GET /v1/wallet": (lambda: Wallet(me),) * 2,
                "GET /v1/wallet/transactions (first page)": (lambda: History(me),) * 2,
                # Each client thread at its own till, all charging the measured customer;
                # the warm-up has codes of its own.
                "POST /v1/charges": tuple(
                    (lambda c=batch[0]: Charge(plan, [c[i::8] for i in range(8)], False))
                    for batch in (warm_codes, codes)
                ),
            }
            figures[size] = {}
            for name, (warm, factory) in runs.items():
                # A short unmeasured warm-up, then the fixed-rate measurement.
                loadgen.run(
                    name, warm, server.url, processes=1, threads=8, duration=2, rate=args.rate
                )
                result = loadgen.run(
                    name,
                    factory,
                    server.url,
                    processes=1,
                    threads=8,
                    duration=args.duration,
                    rate=args.rate,
                )
                figures[size][name] = result
                print(f"{size:>9,} entries  {result.line()}  load {loadavg()}", flush=True)
                for sample in result.error_samples[:3]:
                    print(f"    error: {sample}")
        finally:
            server.stop()
        print(verify(env), flush=True)

    print("\n| request | p50 10k | p50 1M | ratio | p99 10k | p99 1M | ratio | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    small, large = figures[args.small], figures[args.large]
    for name in small:
        a, b = small[name], large[name]
        print(
            f"| {name} | {a.pct(50):.1f} | {b.pct(50):.1f} | {b.pct(50) / a.pct(50):.2f} | "
            f"{a.pct(99):.1f} | {b.pct(99):.1f} | {b.pct(99) / a.pct(99):.2f} | "
            f"{a.errors + b.errors} |"
        )
    if not args.skip_memory:
        memory(app, plan, env, args)


def memory(app, plan: seed.Plan, env: dict[str, str], args: argparse.Namespace) -> None:  # type: ignore[no-untyped-def]
    clients = 8
    server = start_server("wsgi:app", APP_PORT, 1, env, ROOT, "/health")
    try:
        (pid,) = server.worker_pids()
        print(
            f"\none worker (pid {pid}): RSS {rss_kib(pid) / 1024:.1f} MiB after start", flush=True
        )
        sent, marks = 0, {}
        while sent < args.memory_requests:
            codes = seed.mint_pay_codes(app, plan.payers[:clients], 300)
            result = loadgen.run(
                "mix",
                lambda c=codes: Mix(plan, c, False),  # type: ignore[misc]
                server.url,
                processes=1,
                threads=clients,
                duration=20,
            )
            # Requests, not operations: 2 per operation plus a charge every 4th.
            sent += int(result.count * 2.25)
            rss = rss_kib(pid)
            print(f"  ~{sent:,} requests: RSS {rss / 1024:.1f} MiB  ({result.line()})", flush=True)
            for mark in (10_000, args.memory_requests):
                if sent >= mark and mark not in marks:
                    marks[mark] = rss
        first, last = marks[10_000], marks[args.memory_requests]
        print(
            f"RSS after ~10,000 requests {first / 1024:.1f} MiB, after ~{args.memory_requests:,} "
            f"{last / 1024:.1f} MiB: {(last / first - 1) * 100:+.1f}%  load {loadavg()}"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
