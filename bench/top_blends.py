#!/usr/bin/env python3
"""Time the top-10 of user-generated blends with 100,000 blends and 1,000,000 ratings.

    .venv/bin/python bench/top_blends.py                  # PostgreSQL and SQLite
    .venv/bin/python bench/top_blends.py --only sqlite --blends 10000 --ratings 100000

Seeds a scratch database through the real migrations (PostgreSQL: the database
``bench_blends``, dropped and created again; SQLite: a temporary file) with bulk inserts
(COPY on PostgreSQL, executemany on SQLite), then times, per window:

* ``service``: ``wallet_api.blends.service.top_blends``, the function behind
  ``GET /v1/blends/top`` (the mean, the ranking, and the ten blends with their recipes);
* ``raw``: the same answer with hand-written SQL on the bare driver connection;
* ``naive``: the ranking computed from ``blend_ratings`` at query time instead of from the
  maintained totals (fewer runs: it is the slow way this design avoids).

Prints the median and p95 of each (ms) and the service/raw ratio. Timings vary with the
machine; nothing here is a pass/fail threshold.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/bench_blends"
WINDOWS = ("7d", "30d", "all")
USERS = 20_000
MAX_RATINGS = 5_000  # the most ratings one blend gets
ACTIVE_BLENDS = 0.3  # share of blends that were ordered or copied in the last 90 days
VERIFIED = 0.8  # share of ratings by people who had the blend (the others rank nothing)
SEED = 20261125


# --- data ---------------------------------------------------------------------------------


class Data:
    """Rows for every table, generated once so both databases hold the same data."""

    def __init__(self, n_blends: int, n_ratings: int, menu: dict[str, list[uuid.UUID]]):
        rng = random.Random(SEED)
        now = datetime.now(UTC).replace(microsecond=0)
        self.today = now.date()
        self.users = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(USERS)]
        self.user_rows = [
            (uid, f"user{n}@bench.test", "-", "Bench", f"Bench {n}", f"bench{n}", now)
            for n, uid in enumerate(self.users)
        ]
        self.blends: list[list[Any]] = []
        self.components: list[tuple[Any, ...]] = []
        quality: list[float] = []
        for n in range(n_blends):
            blend_id = uuid.UUID(int=rng.getrandbits(128))
            owner = rng.choice(self.users)
            roll = rng.random()
            visibility = "public" if roll < 0.6 else "private" if roll < 0.85 else "friends"
            created = now - timedelta(minutes=rng.randrange(365 * 24 * 60))
            deleted = created + timedelta(days=1) if rng.random() < 0.02 else None
            milk = rng.choice(menu["milk"]) if rng.random() < 0.6 else None
            # id, owner, name, size, base, shots, milk, notes, visibility, rating_count,
            # rating_sum, orders_count, copies_count, enjoyed_by, created, updated, deleted
            self.blends.append(
                [
                    blend_id,
                    owner,
                    f"Blend {n}",
                    rng.choice("SML"),
                    rng.choice(menu["base"]),
                    rng.randint(1, 4),
                    milk,
                    "",
                    visibility,
                    0,
                    0,
                    0,
                    0,
                    0,
                    created,
                    created,
                    deleted,
                ]
            )
            beans = rng.sample(menu["bean"], rng.randint(1, 3))
            shares = _shares(rng, len(beans))
            for position, (bean, share) in enumerate(zip(beans, shares, strict=True)):
                self.components.append((blend_id, bean, "bean", position, share))
            if rng.random() < 0.5:
                syrup = rng.choice(menu["syrup"])
                self.components.append((blend_id, syrup, "syrup", 9, rng.randint(1, 4)))
            quality.append(rng.uniform(2.2, 4.9))

        # Ratings: a long tail; a few blends have thousands, most a handful.
        weights = [1 / (rank + 1) ** 0.9 for rank in range(n_blends)]
        rng.shuffle(weights)
        scale = n_ratings / sum(weights)
        counts = [min(MAX_RATINGS, round(w * scale)) for w in weights]
        while (missing := n_ratings - sum(counts)) > 0:  # exactly n_ratings in all
            for index in rng.sample(range(n_blends), min(missing, n_blends)):
                counts[index] += counts[index] < MAX_RATINGS
        self.ratings: list[tuple[Any, ...]] = []
        # Its own generator: the rest of the data stays as it was before ratings had it.
        had_it = random.Random(SEED + 1)
        for index, (blend, count) in enumerate(zip(self.blends, counts, strict=True)):
            raters = rng.sample(self.users, count)
            if rng.random() < 0.05 and blend[1] not in raters and raters:
                raters[0] = blend[1]  # the creator rating their own blend: not counted
            for user in raters:
                stars = min(5, max(1, round(rng.gauss(quality[index], 0.9))))
                at = blend[14] + timedelta(minutes=rng.randrange(1, 60 * 24 * 30))
                rating_id = uuid.UUID(int=rng.getrandbits(128))
                verified = had_it.random() < VERIFIED
                self.ratings.append((rating_id, blend[0], user, stars, verified, at, at))
                if verified and user != blend[1]:
                    blend[9] += 1
                    blend[10] += stars

        # The maintained aggregates, as the service keeps them rating by rating.
        from wallet_api.blends.models import PRIOR_VOTES, REF_MEAN, TOTALS_SHARDS

        shards = [[shard, 0, 0] for shard in range(TOTALS_SHARDS)]
        for blend in self.blends:
            blend.append((blend[10] + PRIOR_VOTES * REF_MEAN) / (blend[9] + PRIOR_VOTES))
            shard = shards[blend[0].int % TOTALS_SHARDS]
            shard[1] += blend[10]
            shard[2] += blend[9]
        self.totals = shards

        # Orders and copies per day over the last 90 days, for the windows.
        self.daily: list[tuple[Any, ...]] = []
        for blend in rng.sample(self.blends, int(n_blends * ACTIVE_BLENDS)):
            for day in rng.sample(range(90), rng.randint(1, 12)):
                orders, copies = rng.randint(1, 8), int(rng.random() < 0.15)
                self.daily.append((blend[0], self.today - timedelta(days=day), orders, copies))
                blend[11] += orders
                blend[12] += copies
                blend[13] += 1


def _shares(rng: random.Random, n: int) -> list[int]:
    if n == 1:
        return [100]
    cuts = sorted(rng.sample(range(1, 100), n - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]


BLEND_COLUMNS = (
    "id, owner_id, name, size, base_id, shots, milk_id, notes, visibility, rating_count, "
    "rating_sum, orders_count, copies_count, enjoyed_by, created_at, updated_at, deleted_at, "
    "ref_rating"
)
TABLES = {
    "users": "id, email, password_hash, first_name, display_name, handle, created_at",
    "blends": BLEND_COLUMNS,
    "blend_components": "blend_id, ingredient_id, kind, position, amount",
    "blend_ratings": "id, blend_id, user_id, stars, verified, created_at, updated_at",
    "blend_daily_stats": "blend_id, day, orders, copies",
    "blend_rating_totals": "shard, rating_sum, rating_count",
}
# Columns the bulk rows leave out, with the value the model would give them.
DEFAULTS = {
    "users": {"locale": "en", "role": "customer", "is_active": True},
    "blend_ratings": {"comment": ""},
}


def _rows(data: Data) -> dict[str, Iterable[Sequence[Any]]]:
    return {
        "users": data.user_rows,
        "blends": data.blends,
        "blend_components": data.components,
        "blend_ratings": data.ratings,
        "blend_daily_stats": data.daily,
        "blend_rating_totals": data.totals,
    }


# --- databases ----------------------------------------------------------------------------


class Backend:
    name: str
    url: str  # for SQLAlchemy

    def prepare(self) -> None: ...
    def load(self, data: Data) -> None: ...
    def connect(self) -> Any: ...
    def placeholders(self, sql: str) -> str:
        return sql

    def day(self, value: date) -> Any:
        return value.isoformat()  # as SQLAlchemy stores a Date on SQLite


class Postgres(Backend):
    name = "PostgreSQL"

    def __init__(self, url: str) -> None:
        self.dsn = url.replace("postgresql+psycopg://", "postgresql://")
        self.url = self.dsn.replace("postgresql://", "postgresql+psycopg://", 1)

    def prepare(self) -> None:
        import psycopg

        database = self.dsn.rsplit("/", 1)[1]
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", database):
            raise SystemExit(f"unexpected database name {database!r}")
        admin = self.dsn.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            connection.execute(f"CREATE DATABASE {database}")

    def load(self, data: Data) -> None:
        import psycopg

        with psycopg.connect(self.dsn) as connection, connection.cursor() as cursor:
            for table, rows in _rows(data).items():
                defaults = DEFAULTS.get(table, {})
                columns = TABLES[table] + "".join(f", {c}" for c in defaults)
                extra = tuple(defaults.values())
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row((*row, *extra))
        with psycopg.connect(self.dsn, autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE")  # what autovacuum would have done by now
            connection.execute("CHECKPOINT")  # the load's writes off the timings

    def connect(self) -> Any:
        import psycopg

        connection = psycopg.connect(self.dsn, autocommit=True)
        connection.execute("SET jit = off")  # as the service does for its statement
        return connection

    def placeholders(self, sql: str) -> str:
        return re.sub(r":(\w+)", r"%(\1)s", sql)

    def day(self, value: date) -> Any:
        return value


class Sqlite(Backend):
    name = "SQLite"

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="bench_blends_")) / "bench.sqlite3"
        self.url = f"sqlite:///{self.path}"

    def load(self, data: Data) -> None:
        # Stored as SQLAlchemy stores them on SQLite: UUIDs as 32 hex digits, datetimes as
        # naive UTC text, booleans as 0/1.
        def plain(value: Any) -> Any:
            if isinstance(value, uuid.UUID):
                return value.hex
            if isinstance(value, datetime):
                return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
            if isinstance(value, date):
                return value.isoformat()
            return value

        connection = sqlite3.connect(self.path)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            with connection:
                for table, rows in _rows(data).items():
                    defaults = DEFAULTS.get(table, {})
                    columns = TABLES[table] + "".join(f", {c}" for c in defaults)
                    marks = ", ".join("?" * len(columns.split(",")))
                    extra = tuple(defaults.values())
                    connection.executemany(
                        f"INSERT INTO {table} ({columns}) VALUES ({marks})",
                        ((*map(plain, row), *extra) for row in rows),
                    )
            connection.execute("ANALYZE")
        finally:
            connection.close()

    def connect(self) -> Any:
        connection = sqlite3.connect(self.path)
        connection.isolation_level = None
        return connection


# --- the hand-written SQL ------------------------------------------------------------------

RANKED = "b.visibility = 'public' AND b.deleted_at IS NULL AND b.rating_count > 0"
MEAN = """(SELECT coalesce(CAST(sum(rating_sum) AS DOUBLE PRECISION)
                        / nullif(CAST(sum(rating_count) AS DOUBLE PRECISION), 0), :default_mean)
           FROM blend_rating_totals)"""
ACTIVITY_ALL = "(b.orders_count + :cw * b.copies_count)"
WINDOW_SUM = """(SELECT coalesce(sum({column}), 0) FROM blend_daily_stats d
                 WHERE d.blend_id = {blend}.id AND d.day >= :since)"""
ACTIVITY_WINDOW = WINDOW_SUM.format(column="d.orders + :cw * d.copies", blend="b")
SCORE = "weighted + :w - :wh / (activity + :half)"
ROWS = f"b.id, b.rating_count, (b.rating_sum + :m * {MEAN}) / (b.rating_count + :m) AS weighted"
SLACK = f":w + :m * abs({MEAN} - :ref_mean) / (:m + 1) + 1e-9"
RANK_SQL = f"""
SELECT b.*, u.handle, u.display_name, best.score, best.weighted, {{orders}}, {{copies}} FROM (
    SELECT id, rating_count, {SCORE} AS score, weighted FROM (
        SELECT {ROWS}, {{activity}} AS activity FROM blends b
        WHERE {RANKED} AND b.ref_rating >= (
            SELECT min({SCORE}) FROM (
                SELECT {ROWS}, {{activity}} AS activity FROM blends b
                WHERE {RANKED} ORDER BY b.ref_rating DESC LIMIT :limit
            ) seed
        ) - ({SLACK})
    ) candidates
    ORDER BY score DESC, rating_count DESC, id LIMIT :limit
) best JOIN blends b ON b.id = best.id JOIN users u ON u.id = b.owner_id
ORDER BY best.score DESC, best.rating_count DESC, best.id
"""
RANK_ALL_SQL = RANK_SQL.format(
    activity=ACTIVITY_ALL, orders="b.orders_count", copies="b.copies_count"
)
RANK_WINDOW_SQL = RANK_SQL.format(
    activity=ACTIVITY_WINDOW,
    orders=WINDOW_SUM.format(column="d.orders", blend="best"),
    copies=WINDOW_SUM.format(column="d.copies", blend="best"),
)
COMPONENTS_SQL = "SELECT * FROM blend_components WHERE blend_id IN ({ids})"
INGREDIENTS_SQL = """SELECT * FROM catalog_ingredients i
                     LEFT JOIN catalog_ingredient_prices p ON p.ingredient_id = i.id
                     WHERE i.id IN ({ids})"""
# The slow way: the ratings counted when asked, not kept up to date as they come in.
NAIVE_SQL = """
WITH counted AS (
    SELECT r.blend_id, count(*) AS n, sum(r.stars) AS total
    FROM blend_ratings r JOIN blends b ON b.id = r.blend_id
    WHERE r.verified AND r.user_id <> b.owner_id GROUP BY r.blend_id
), mean AS (SELECT CAST(sum(total) AS DOUBLE PRECISION) / sum(n) AS c FROM counted)
SELECT c.blend_id, (c.total + :m * mean.c) / (c.n + :m) AS score
FROM counted c JOIN blends b ON b.id = c.blend_id CROSS JOIN mean
WHERE b.visibility = 'public' AND b.deleted_at IS NULL
ORDER BY score DESC, c.n DESC, c.blend_id LIMIT :limit
"""


def _listed(ids: Iterable[Any]) -> str:
    # Literal ids: they came from the database a moment ago, never from a client.
    return ", ".join(f"'{i}'" for i in ids)


def raw_top(backend: Backend, connection: Any, window: str, limit: int = 10) -> list[Any]:
    """What ``top_blends`` does, on the bare driver: the same statements, no ORM."""
    from wallet_api.blends import service

    def run(sql: str, params: dict[str, Any] | None = None) -> list[Any]:
        cursor = connection.cursor()
        cursor.execute(backend.placeholders(sql), params or {})
        rows = cursor.fetchall()
        cursor.close()
        return rows

    since = service.window_start(window, datetime.now(UTC).date())
    w, half = float(service.ACTIVITY_WEIGHT), service.ACTIVITY_HALF
    params: dict[str, Any] = {
        "default_mean": service.DEFAULT_MEAN,
        "ref_mean": service.REF_MEAN,
        "cw": service.COPY_WEIGHT,
        "limit": limit,
        "m": service.PRIOR_VOTES,
        "w": w,
        "wh": w * half,
        "half": half,
    }
    if since is None:
        blends = run(RANK_ALL_SQL, params)
    else:
        blends = run(RANK_WINDOW_SQL, {**params, "since": backend.day(since)})
    if not blends:
        return []
    components = run(COMPONENTS_SQL.format(ids=_listed(row[0] for row in blends)))
    # base_id and milk_id are the 5th and 7th columns of blends.
    wanted = {r[4] for r in blends} | {r[6] for r in blends if r[6]} | {c[2] for c in components}
    run(INGREDIENTS_SQL.format(ids=_listed(wanted)))
    return [uuid.UUID(str(row[0])) for row in blends]


def naive_top(backend: Backend, connection: Any, limit: int = 10) -> list[Any]:
    from wallet_api.blends import service

    cursor = connection.cursor()
    cursor.execute(backend.placeholders(NAIVE_SQL), {"m": service.PRIOR_VOTES, "limit": limit})
    rows = cursor.fetchall()
    cursor.close()
    return [row[0] for row in rows]


# --- timing -------------------------------------------------------------------------------


def timed(run: Callable[[], Any], runs: int, warmup: int = 5) -> tuple[float, float, Any]:
    for _ in range(warmup):
        result = run()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        result = run()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95, result


def bench(backend: Backend, args: argparse.Namespace) -> list[tuple[Any, ...]]:
    os.environ.update(
        WALLET_ENV="test",
        WALLET_SECRET_KEY=secrets.token_urlsafe(48),
        WALLET_DATABASE_URL=backend.url,
    )
    from flask_migrate import upgrade
    from sqlalchemy import select

    from wallet_api import create_app
    from wallet_api.blends import service
    from wallet_api.catalog.demo import seed_menu
    from wallet_api.catalog.models import Ingredient
    from wallet_api.extensions import db
    from wallet_api.extensions.database import mark_read_only

    backend.prepare()
    app = create_app()
    started = time.perf_counter()
    with app.app_context():
        upgrade()
        seed_menu()
        db.session.commit()
        menu: dict[str, list[uuid.UUID]] = {}
        for ingredient in db.session.scalars(select(Ingredient)):
            menu.setdefault(ingredient.kind.value, []).append(ingredient.id)
        db.session.remove()
    data = Data(args.blends, args.ratings, menu)
    backend.load(data)
    print(
        f"{backend.name}: {len(data.blends):,} blends, {len(data.ratings):,} ratings, "
        f"{len(data.daily):,} daily order/copy rows; seeded in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )

    results = []
    connection = backend.connect()
    with app.app_context():
        mark_read_only(True)  # as in a GET request: no write lock on SQLite

        def through_service(window: str) -> list[Any]:
            try:
                return [item["blend"]["id"] for item in service.top_blends(window, 10)]
            finally:
                db.session.remove()  # the end of the request

        for window in WINDOWS:
            s_median, s_p95, s_ids = timed(lambda w=window: through_service(w), args.runs)
            r_median, r_p95, r_ids = timed(
                lambda w=window: raw_top(backend, connection, w), args.runs
            )
            if r_ids != s_ids:
                raise SystemExit(f"{backend.name} {window}: raw SQL and service disagree")
            results.append((backend.name, window, s_median, s_p95, r_median, r_p95))
            print(
                f"  {window:>4}  service {s_median:7.1f} ms median {s_p95:7.1f} p95   "
                f"raw {r_median:7.1f} median {r_p95:7.1f} p95   "
                f"ratio {s_median / r_median:4.2f}",
                flush=True,
            )
        n_median, n_p95, _ = timed(lambda: naive_top(backend, connection), args.naive_runs, 1)
        print(
            f"  naive (ratings counted at query time, all): {n_median:7.1f} ms median "
            f"{n_p95:7.1f} p95",
            flush=True,
        )
        results.append((backend.name, "naive", None, None, n_median, n_p95))
    connection.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blends", type=int, default=100_000)
    parser.add_argument("--ratings", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--naive-runs", type=int, default=5)
    parser.add_argument("--only", choices=("postgresql", "sqlite"))
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_BLENDS_PG_URL", DEFAULT_PG_URL))
    args = parser.parse_args()

    backends: list[Backend] = []
    if args.only in (None, "postgresql"):
        backends.append(Postgres(args.pg_url))
    if args.only in (None, "sqlite"):
        backends.append(Sqlite())
    rows = []
    for backend in backends:
        rows += bench(backend, args)
    print("\n| database | window | service median | service p95 | raw median | raw p95 | ratio |")
    print("|---|---|---|---|---|---|---|")
    for name, window, s_med, s_p95, r_med, r_p95 in rows:
        if s_med is None:
            print(f"| {name} | naive, all | | | {r_med:.1f} ms | {r_p95:.1f} ms | |")
        else:
            print(
                f"| {name} | {window} | {s_med:.1f} ms | {s_p95:.1f} ms | {r_med:.1f} ms "
                f"| {r_p95:.1f} ms | {s_med / r_med:.2f} |"
            )


if __name__ == "__main__":
    main()
