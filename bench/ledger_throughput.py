"""Ledger posting throughput on PostgreSQL.

Two comparisons, measured in the same run with the same number of worker processes:

1. postings per second through ``wallet_api.ledger.service.post_transaction`` against the
   equivalent hand-written SQL transaction (psycopg: lock the wallet ``FOR NO KEY UPDATE``,
   check the balance, insert the transaction, insert its two entries, update the cached
   balance, commit). Target: the ledger reaches at least 50% of raw SQL.
2. one busy store (every posting credits the same ``store_sales`` account) against
   postings spread over many stores, both through the ledger service. Target: the busy
   store reaches at least 80% of the spread figure.

Each worker process debits its own funded wallet (wallet row locks are not what is
measured here; tests/wallet/test_wallet_concurrency.py covers one contended wallet) and commits
every posting. A round runs the three modes back to back (alternating their order); the
ratios are taken within each round, so that load from outside the benchmark, which drifts
over minutes, touches both sides of a ratio alike, and the median over rounds is printed.

    WALLET_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_wallet \\
        .venv/bin/python bench/ledger_throughput.py --workers 4 --postings 400 --rounds 3

The database named must contain "bench" in its name: its ``public`` schema is dropped and
migrated afresh.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_SECRET = "bench-secret-key-that-is-long-enough-0123456789"  # noqa: S105  (bench-only database)
FUNDS = 10**12
AMOUNT = 1


def _environment(url: str) -> None:
    os.environ.update(WALLET_ENV="test", WALLET_SECRET_KEY=BENCH_SECRET, WALLET_DATABASE_URL=url)
    os.environ.pop("WALLET_REDIS_URL", None)


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


# --- setup ------------------------------------------------------------------------------


def setup(url: str, workers: int, stores: int) -> dict[str, Any]:
    """Fresh schema, one funded wallet per worker, the store sales accounts."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from wallet_api import create_app
    from wallet_api.auth.service import register_user
    from wallet_api.extensions import db
    from wallet_api.ledger import service as ledger
    from wallet_api.ledger.models import AccountKind

    _environment(url)
    app = create_app()
    with app.app_context():
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
        upgrade()
        clearing = ledger.system_account(AccountKind.TOPUP_CLEARING)
        wallets = []
        for i in range(workers):
            user = register_user(
                email=f"bench{i}@example.com",
                password="bench-password-0",  # noqa: S106  (a throwaway bench account)
                first_name=f"Bench{i}",
                handle=f"bench{i}",
            )
            wallet = ledger.wallet_account(user.id)
            ledger.transfer("top_up", clearing, wallet, FUNDS)
            wallets.append(wallet.id)
        store_ids = [uuid.uuid4() for _ in range(stores)]
        store_accounts = [ledger.system_account(AccountKind.STORE_SALES, s).id for s in store_ids]
        db.session.commit()
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
    return {
        "wallets": wallets,
        "stores": [[str(s), a] for s, a in zip(store_ids, store_accounts, strict=True)],
    }


# --- workers ----------------------------------------------------------------------------


def _targets(plan: dict[str, Any], busy: bool, postings: int, seed: int) -> list[list[Any]]:
    stores = plan["stores"]
    if busy:
        return [stores[0]] * postings
    rng = random.Random(seed)
    return [rng.choice(stores) for _ in range(postings)]


def ledger_worker(url, plan, index, postings, busy, barrier, results):  # type: ignore[no-untyped-def]
    from wallet_api import create_app
    from wallet_api.extensions import db
    from wallet_api.ledger.service import Leg, post_transaction

    _environment(url)
    app = create_app()
    wallet = plan["wallets"][index]
    targets = _targets(plan, busy, postings, index)
    with app.app_context():
        db.session.execute(db.select(db.literal(1)))  # connect before the clock starts
        db.session.commit()
        barrier.wait()
        started = time.perf_counter()
        for store_id, account in targets:
            post_transaction(
                "charge",
                [Leg(wallet, -AMOUNT), Leg(account, AMOUNT)],
                memo="bench",
                meta={"store": {"id": store_id, "name": "Bench store"}},
            )
            db.session.commit()
        results.put((index, started, time.perf_counter()))


RAW_LOCK = "SELECT balance FROM ledger_accounts WHERE id = %s FOR NO KEY UPDATE"
RAW_TRANSACTION = (
    "INSERT INTO ledger_transactions (public_id, kind, memo, meta, event_at, created_at) "
    "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id"
)
RAW_ENTRIES = (
    "INSERT INTO ledger_entries (transaction_id, account_id, amount, balance_after, created_at) "
    "VALUES (%s, %s, %s, %s, %s), (%s, %s, %s, %s, %s)"
)
RAW_BALANCE = "UPDATE ledger_accounts SET balance = %s, version = version + 1 WHERE id = %s"


def raw_worker(url, plan, index, postings, busy, barrier, results):  # type: ignore[no-untyped-def]
    import psycopg

    wallet = plan["wallets"][index]
    targets = _targets(plan, busy, postings, index)
    with psycopg.connect(_psycopg_url(url)) as conn:
        barrier.wait()
        started = time.perf_counter()
        for store_id, account in targets:
            with conn.transaction():
                (balance,) = conn.execute(RAW_LOCK, (wallet,)).fetchone()
                if balance - AMOUNT < 0:
                    raise RuntimeError("insufficient funds")
                now = datetime.now(UTC)
                meta = json.dumps({"store": {"id": store_id, "name": "Bench store"}})
                (tid,) = conn.execute(
                    RAW_TRANSACTION, (uuid.uuid4(), "charge", "bench", meta, now, now)
                ).fetchone()
                conn.execute(
                    RAW_ENTRIES,
                    (tid, wallet, -AMOUNT, balance - AMOUNT, now, tid, account, AMOUNT, None, now),
                )
                conn.execute(RAW_BALANCE, (balance - AMOUNT, wallet))
        results.put((index, started, time.perf_counter()))


def run(url: str, plan: dict[str, Any], mode: str, workers: int, postings: int) -> float:
    """Postings per second of one round: all workers' postings over the wall time."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(workers)
    results = ctx.Queue()
    target = raw_worker if mode == "raw" else ledger_worker
    busy = mode == "busy"
    processes = [
        ctx.Process(target=target, args=(url, plan, i, postings, busy, barrier, results))
        for i in range(workers)
    ]
    for process in processes:
        process.start()
    spans = [results.get(timeout=600) for _ in processes]
    for process in processes:
        process.join()
        if process.exitcode:
            raise RuntimeError(f"a {mode} worker failed")
    elapsed = max(end for _, _, end in spans) - min(start for _, start, _ in spans)
    return workers * postings / elapsed


def verify(url: str) -> bool:
    from wallet_api import create_app
    from wallet_api.ledger.service import verify_ledger

    _environment(url)
    with create_app().app_context():
        return all(check.ok for check in verify_ledger())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "WALLET_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bench_wallet"
        ),
    )
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--postings", type=int, default=400, help="per worker and round")
    parser.add_argument("--stores", type=int, default=50, help="stores in the spread case")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from wallet_api.config import normalise_database_url

    url = normalise_database_url(args.database_url)
    if not url.startswith("postgresql") or "bench" not in url.rsplit("/", 1)[-1]:
        parser.error("use a PostgreSQL database whose name contains 'bench' (it is wiped)")

    plan = setup(url, args.workers, args.stores)
    modes = ("raw", "ledger", "busy")
    figures: dict[str, list[float]] = {mode: [] for mode in modes}
    for round_ in range(args.rounds):
        for mode in modes if round_ % 2 == 0 else modes[::-1]:
            figures[mode].append(run(url, plan, mode, args.workers, args.postings))
    median = {mode: statistics.median(values) for mode, values in figures.items()}
    ledger_ratios = [lg / raw for lg, raw in zip(figures["ledger"], figures["raw"], strict=True)]
    busy_ratios = [b / lg for b, lg in zip(figures["busy"], figures["ledger"], strict=True)]

    print(
        f"{args.workers} worker processes x {args.postings} postings x {args.rounds} rounds, "
        f"PostgreSQL; medians over rounds"
    )
    for mode, label in (
        ("raw", "raw SQL (psycopg), spread stores"),
        ("ledger", "ledger service, spread stores"),
        ("busy", "ledger service, one busy store"),
    ):
        rounds = ", ".join(f"{v:.0f}" for v in figures[mode])
        print(f"  {label:<36} {median[mode]:8.0f} postings/s   (rounds: {rounds})")
    for label, ratios, target in (
        ("ledger / raw SQL   ", ledger_ratios, "50%"),
        ("busy / spread store", busy_ratios, "80%"),
    ):
        rounds = ", ".join(f"{r:.0%}" for r in ratios)
        print(
            f"  {label}  {statistics.median(ratios):6.0%}   (target >= {target}; rounds: {rounds})"
        )
    ok = verify(url)
    print(f"  ledger verify after the run: {'all invariants hold' if ok else 'FAILED'}")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
