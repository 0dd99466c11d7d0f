"""The app under gunicorn on PostgreSQL + Redis, against a bare Flask endpoint and raw SQL.

Measured in one run, one scenario after another, on the same machine:

* ``bare``: ``bench/bare_app.py``'s ``POST /bare`` (a JSON answer, nothing else), served by
  gunicorn with exactly the settings the app gets;
* ``charge``: ``POST /v1/charges`` of a pay code for one Flat White (priced on the server)
  with an ``Idempotency-Key``, each client at its own store's till (many stores);
* ``charge, busy store``: the same, every client at a till of one store;
* ``raw SQL charge`` (and busy store): the statements one real charge sends, captured at
  the driver and replayed with raw psycopg, same transaction, one connection per client
  (``bench/charge_sql.py``);
* ``scan -> charge``: the customer's phone asks for a pay code (``POST /v1/wallet/pay-codes``),
  the till previews it (``POST /v1/scans``) and charges it; one operation = three requests;
* ``top-up`` (sandbox provider), ``transfer`` to a friend, ``gift redemption`` (a drink gift
  charged at a till).

Pay-code creation does not count in the ``charge`` figure: the phone asks for the code
before the customer reaches the till, so a till's throughput is charges of codes that
exist. The codes are minted ahead of each run as the service writes them
(``seed.mint_pay_codes``); the ``scan -> charge`` scenario shows the whole path, codes
included, with each request's own latency.

Each scenario runs closed-loop (throughput: every client sends its next operation as soon
as the last one answered) and then at a fixed rate (latency measured from the scheduled
send time, so queueing shows). Ratios are taken within the run. The five scenarios the
targets compare (bare, charge and raw SQL charge, many stores and a busy one) run
closed-loop in ``--rounds`` rounds of alternating order, each figure pooled over its
rounds, so a machine load that drifts during the run does not tilt a ratio.

    .venv/bin/python bench/http_bench.py                      # ~10 minutes
    .venv/bin/python bench/http_bench.py --duration 20 --rate 40 --workers 2

gunicorn runs ``--workers 8 --threads 1 --worker-class sync`` for both servers by default:
a charge waits for PostgreSQL most of its time (one client in process: 36-50 ms wall for
12-15 ms of CPU, 33 statements, a synchronous commit), so a sync worker per core leaves
the cores idle; 8 workers keep both cores busy. The bare endpoint gets the same 8.

The database (``--pg-url``, default ``bench_http``; the name must contain "bench") is
wiped; Redis db 7 (``--redis-url``) holds the rate-limit counters.

**Two checkouts in one run** (``--before /path/to/other/checkout``): the code before a change
against this checkout's, side by side. Each version runs in its own Python (the checkout's
``.venv``, or ``--before-python``): it migrates and seeds its own database with its own code
(``--before-pg-url``, default ``--pg-url``'s name + ``_before``), its charge's statements are
captured from its own real charge, and its own gunicorn serves it with the same settings.
Only the closed-loop ``bare``, ``charge`` and ``raw SQL charge`` of each version run, in
``--rounds`` rounds of alternating order (one scenario loaded at a time, the other servers
idle), each pooled over its rounds; it prints charges/s, charge/bare and charge/raw SQL of
both, and after/before:

    .venv/bin/python bench/http_bench.py --before ../baseline --rounds 6   # ~10 minutes
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import logging
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import charge_sql, loadgen, seed  # noqa: E402

PG_URL = "postgresql://postgres@127.0.0.1:5432/bench_http"
REDIS_URL = "redis://127.0.0.1:6379/7"
APP_PORT, BARE_PORT, BEFORE_PORT = 8731, 8732, 8733


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- gunicorn -----------------------------------------------------------------------------


def gunicorn_args(workers: int) -> list[str]:
    """The same settings for the app and the bare baseline."""
    return [
        "--workers",
        str(workers),
        "--threads",
        "1",
        "--worker-class",
        "sync",
        "--backlog",
        "2048",
        "--log-level",
        "warning",
    ]


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(p) for p in children.read_text().split()]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(
    app: str,
    port: int,
    workers: int,
    env: dict[str, str],
    chdir: Path,
    health: str,
    python: Path = ROOT / ".venv" / "bin" / "python",
) -> Server:
    """gunicorn (``python``'s, so a checkout's own virtualenv) serving ``app``; its log (the
    app logs every top-up) goes to a file."""
    log_path = Path(tempfile.gettempdir()) / f"bench_gunicorn_{port}.log"
    log = log_path.open("ab")
    process = subprocess.Popen(
        [
            str(python.parent / "gunicorn"),
            *gunicorn_args(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--chdir",
            str(chdir),
            app,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + health, timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError(f"gunicorn for {app} did not come up")
    # Each worker imports the app on its own: wait until every one has answered once.
    for _ in range(workers * 4):
        with urllib.request.urlopen(url + health, timeout=5):  # noqa: S310
            pass
    return Server(process, url)


# --- scenarios ----------------------------------------------------------------------------
# A scenario object is built in the parent and forked into the load generator's processes;
# setup(i) picks client i's share of the plan.


def _auth(token: str, idem: bool = False) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if idem:
        headers["Idempotency-Key"] = uuid.uuid4().hex
    return headers


class Bare:
    def setup(self, i: int) -> None:
        return None

    def step(self, client: loadgen.Client, state: None) -> None:
        client.request("POST", "/bare", {"amount": 350}, expect=(201,))


class Charge:
    """A till charges the next minted pay code of its customer."""

    def __init__(self, plan: seed.Plan, codes: list[list[str]], busy: bool) -> None:
        self.plan, self.codes, self.busy = plan, codes, busy

    def setup(self, i: int) -> dict[str, Any]:
        tills = self.plan.busy_tills if self.busy else self.plan.tills
        return {"till": tills[i], "codes": iter(self.codes[i])}

    def body(self, code: str) -> dict[str, Any]:
        return {
            "code": code,
            "items": [{"product_id": self.plan.product_id, "size": "M", "quantity": 1}],
        }

    def step(self, client: loadgen.Client, state: dict[str, Any]) -> None:
        code = next(state["codes"])
        client.request(
            "POST", "/v1/charges", self.body(code), _auth(state["till"].token, idem=True)
        )


class RawCharge:
    """The captured statements of a charge, replayed with raw psycopg per minted code."""

    def __init__(self, dsn: str, templates: list[charge_sql.Template], codes: list[list[str]]):
        self.dsn, self.templates, self.codes = dsn, templates, codes

    def setup(self, i: int) -> dict[str, Any]:
        return {
            "replayer": charge_sql.Replayer(self.dsn, self.templates[i]),
            "codes": iter(self.codes[i]),
        }

    def step(self, client: loadgen.Client, state: dict[str, Any]) -> None:
        state["replayer"].charge(next(state["codes"]))


class ScanCharge(Charge):
    """The whole path: the phone asks for a code, the till scans it and charges it."""

    def setup(self, i: int) -> dict[str, Any]:
        return {"till": self.plan.tills[i], "phone": self.plan.phones[i]}

    def step(self, client: loadgen.Client, state: dict[str, Any]) -> None:
        till = _auth(state["till"].token)
        code = client.request(
            "POST", "/v1/wallet/pay-codes", {}, _auth(state["phone"].token), expect=(201,)
        )["code"]
        client.request("POST", "/v1/scans", {"code": code, "amount": 390}, till, expect=(200,))
        client.request(
            "POST", "/v1/charges", self.body(code), _auth(state["till"].token, idem=True)
        )


class TopUp:
    def __init__(self, plan: seed.Plan) -> None:
        self.plan = plan

    def setup(self, i: int) -> seed.Customer:
        return self.plan.toppers[i]

    def step(self, client: loadgen.Client, person: seed.Customer) -> None:
        answer = client.request(
            "POST", "/v1/wallet/top-ups", {"amount": 500}, _auth(person.token, idem=True)
        )
        if answer["status"] != "succeeded":
            raise loadgen.UnexpectedStatus(f"top-up {answer['status']}")


class Transfer:
    def __init__(self, plan: seed.Plan) -> None:
        self.plan = plan

    def setup(self, i: int) -> tuple[seed.Customer, seed.Customer]:
        return self.plan.senders[i], self.plan.receivers[i]

    def step(self, client: loadgen.Client, pair: tuple[seed.Customer, seed.Customer]) -> None:
        sender, receiver = pair
        client.request(
            "POST",
            "/v1/wallet/transfers",
            {"to": receiver.id, "amount": 100, "message": "coffee"},
            _auth(sender.token, idem=True),
        )


class GiftRedemption:
    """A till redeems the next drink gift of its client's recipient."""

    def __init__(self, plan: seed.Plan, start: int, count: int) -> None:
        self.plan, self.start, self.count = plan, start, count

    def setup(self, i: int) -> dict[str, Any]:
        codes = self.plan.gift_codes[i][self.start : self.start + self.count]
        return {"till": self.plan.tills[i], "codes": iter(codes)}

    def step(self, client: loadgen.Client, state: dict[str, Any]) -> None:
        code = next(state["codes"])
        client.request("POST", "/v1/charges", {"code": code}, _auth(state["till"].token, idem=True))


# --- the run ------------------------------------------------------------------------------


def capture_templates(app, plan: seed.Plan, tills: list[seed.Till]) -> list[charge_sql.Template]:  # type: ignore[no-untyped-def]
    """One template per client: its customer at its till, after two warm-up charges.

    Two: the first charge at a new store opens its accounts, which the ledger caches only
    once a later transaction has read them committed (as bench/orm_core.py does)."""
    client = app.test_client()
    templates = []
    for payer, till in zip(plan.payers, tills[: len(plan.payers)], strict=True):
        *warm, code_a, code_b = seed.mint_pay_codes(app, [payer], 4)[0]
        body = Charge(plan, [], False).body
        for code in warm:
            charge_sql.capture_charge(client, till.token, body(code), uuid.uuid4().hex)
        key_a, key_b = uuid.uuid4().hex, uuid.uuid4().hex
        a, started_a = charge_sql.capture_charge(client, till.token, body(code_a), key_a)
        b, _ = charge_sql.capture_charge(client, till.token, body(code_b), key_b)
        templates.append(
            charge_sql.build_template(
                a,
                b,
                hash_a=hashlib.sha256(code_a.encode()).hexdigest(),
                key_a=key_a,
                started_a=started_a,
                hash_b=hashlib.sha256(code_b.encode()).hexdigest(),
                key_b=key_b,
            )
        )
    return templates


@dataclass
class Prepared:
    """A seeded database and what the load generator needs to charge on it."""

    plan: seed.Plan
    templates: list[charge_sql.Template]
    busy_templates: list[charge_sql.Template]
    code_batches: list[list[list[str]]]  # pay codes minted ahead, a batch per measurement


def codes_per_client(args: argparse.Namespace) -> int:
    return int(args.duration * 600 / (args.processes * args.threads)) + 50  # more than enough


def prepare(app, args: argparse.Namespace, *, gifts: int, busy: bool, batches: int) -> Prepared:  # type: ignore[no-untyped-def]
    """Wipe, migrate and seed ``app``'s database; capture a charge's statements per client.

    The app's access log is off meanwhile: it would print every request of the seeding."""
    logging.disable(logging.INFO)
    try:
        return _prepare(app, args, gifts=gifts, busy=busy, batches=batches)
    finally:
        logging.disable(logging.NOTSET)


def _prepare(app, args: argparse.Namespace, *, gifts: int, busy: bool, batches: int) -> Prepared:  # type: ignore[no-untyped-def]
    seed.reset_database(app)
    started = time.monotonic()
    clients = args.processes * args.threads
    plan = seed.seed(app, clients=clients, stores=args.stores, gifts_per_client=gifts)
    print(f"seeded in {time.monotonic() - started:.0f} s", flush=True)
    templates = capture_templates(app, plan, plan.tills)
    busy_templates = capture_templates(app, plan, plan.busy_tills) if busy else []
    print("statements of one charge (captured at the driver):")
    print("  " + templates[0].describe().replace("\n", "\n  "), flush=True)
    batches_minted = [
        seed.mint_pay_codes(app, plan.payers, codes_per_client(args)) for _ in range(batches)
    ]
    return Prepared(plan, templates, busy_templates, batches_minted)


class Measurements:
    """The figures of a run; later rounds of a scenario pool into its first figure."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.results: list[loadgen.Result] = []
        self.loads: dict[str, str] = {}

    def measure(self, name: str, factory: Any, url: str, rate: float | None) -> loadgen.Result:
        result = loadgen.run(
            name,
            factory,
            url,
            processes=self.args.processes,
            threads=self.args.threads,
            duration=self.args.duration,
            rate=rate,
        )
        key, load = f"{name} {result.mode}", loadavg()
        print(f"{result.line()}  load {load}", flush=True)
        for sample in result.error_samples[:3]:
            print(f"    error: {sample}")
        earlier = next((r for r in self.results if (r.name, r.mode) == (name, result.mode)), None)
        if earlier is None:
            self.loads[key] = load
            self.results.append(result)
            return result
        # A later round of the same scenario: one figure from all its rounds' requests.
        earlier.latencies.extend(result.latencies)
        earlier.seconds += result.seconds
        earlier.errors += result.errors
        earlier.error_samples.extend(result.error_samples)
        self.loads[key] += f" / {load}"
        return earlier

    def rps(self, name: str) -> float:
        return next(r for r in self.results if (r.name, r.mode) == (name, "closed loop")).rps

    def p99(self, name: str) -> float:
        return next(r for r in self.results if r.name == name and r.mode != "closed loop").pct(99)

    def print_table(self) -> None:
        args = self.args
        print()
        print(
            f"gunicorn {' '.join(gunicorn_args(args.workers))}; {args.processes * args.threads} "
            f"clients; {args.duration:g} s per measurement"
        )
        print("| scenario | mode | ops/s | p50 ms | p99 ms | p99.9 ms | n | errors | load avg |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---|")
        for r in self.results:
            print(
                f"| {r.name} | {r.mode} | {r.rps:.1f} | {r.pct(50):.1f} | {r.pct(99):.1f} | "
                f"{r.pct(99.9):.1f} | {r.count} | {r.errors} | {self.loads[f'{r.name} {r.mode}']} |"
            )
        print()

    def write_json(self, extra: dict[str, Any]) -> None:
        if not self.args.json:
            return
        self.args.json.parent.mkdir(parents=True, exist_ok=True)
        results = [{**r.as_dict(), "load": self.loads[f"{r.name} {r.mode}"]} for r in self.results]
        self.args.json.write_text(
            json.dumps({"results": results, "workers": self.args.workers, **extra}, indent=2)
        )


def run_rounds(m: Measurements, compared: list[tuple[str, Any, str]], rounds: int) -> None:
    """Closed loop, in rounds of alternating order, so a load that drifts during the run tilts
    no ratio. Each entry is (name, a function giving the scenario factory, server url): the
    factory is made just before its measurement (fresh pay codes)."""
    for round_index in range(rounds):
        order = compared if round_index % 2 == 0 else compared[::-1]
        for name, factory, url in order:
            m.measure(name, factory(), url, None)


def single_run(args: argparse.Namespace) -> None:
    """This checkout: every scenario, closed loop and at the fixed rate."""
    app = seed.make_app(args.pg_url)
    ready = prepare(app, args, gifts=args.gifts, busy=True, batches=0)
    plan, templates, busy_templates = ready.plan, ready.templates, ready.busy_templates

    dsn = args.pg_url.replace("postgresql+psycopg://", "postgresql://", 1)
    env = seed.server_env(args.pg_url, args.redis_url)
    subprocess.run(["redis-cli", "-u", args.redis_url, "FLUSHDB"], check=True, capture_output=True)
    app_server = start_server("wsgi:app", APP_PORT, args.workers, env, ROOT, "/health")
    bare_server = start_server(
        "bare_app:app", BARE_PORT, args.workers, env, ROOT / "bench", "/health"
    )
    per_code = codes_per_client(args)
    m = Measurements(args)
    gift_start = 0
    try:
        # Unmeasured: every worker imports what a charge needs and fills its pools.
        codes = seed.mint_pay_codes(app, plan.payers, per_code)
        for factory in (lambda: Charge(plan, codes, False), lambda: ScanCharge(plan, [], False)):
            loadgen.run(
                "warm-up",
                factory,
                app_server.url,
                processes=args.processes,
                threads=args.threads,
                duration=3,
            )

        # The five scenarios the targets compare, as (name, scenario factory, server).
        # Pay codes are minted afresh for each measurement.
        def fresh(make: Any) -> Any:
            codes = seed.mint_pay_codes(app, plan.payers, per_code)
            return lambda: make(codes)

        compared = [
            ("bare", lambda: Bare, bare_server.url),
            ("charge", lambda: fresh(lambda c: Charge(plan, c, False)), app_server.url),
            ("raw SQL charge", lambda: fresh(lambda c: RawCharge(dsn, templates, c)), ""),
            ("charge, busy store", lambda: fresh(lambda c: Charge(plan, c, True)), app_server.url),
            (
                "raw SQL charge, busy store",
                lambda: fresh(lambda c: RawCharge(dsn, busy_templates, c)),
                "",
            ),
        ]
        others = [
            ("scan -> charge (3 requests)", lambda: ScanCharge(plan, [], False)),
            ("top-up", lambda: TopUp(plan)),
            ("transfer", lambda: Transfer(plan)),
        ]
        for rate in (None, args.rate):
            if rate is None:
                run_rounds(m, compared, args.rounds)
            else:  # the fixed rate needs one round
                for name, factory, url in compared:
                    m.measure(name, factory(), url, rate)
            for name, factory in others:
                m.measure(name, factory, app_server.url, rate)
            half = args.gifts // 2
            m.measure(
                "gift redemption",
                lambda s=gift_start, n=half: GiftRedemption(plan, s, n),
                app_server.url,
                rate,
            )
            gift_start += half
    finally:
        app_server.stop()
        bare_server.stop()

    ratios = {
        "charge / bare (req/s)": m.rps("charge") / m.rps("bare"),
        "charge / raw SQL charge (charges/s)": m.rps("charge") / m.rps("raw SQL charge"),
        "busy store / many stores (charges/s)": m.rps("charge, busy store") / m.rps("charge"),
        "raw SQL: busy / many": m.rps("raw SQL charge, busy store") / m.rps("raw SQL charge"),
        "scan->charge requests/s / bare": 3 * m.rps("scan -> charge (3 requests)") / m.rps("bare"),
        "charge p99 / bare p99 at the fixed rate": m.p99("charge") / m.p99("bare"),
        "charge p99 / raw SQL p99 at the fixed rate": m.p99("charge") / m.p99("raw SQL charge"),
    }
    m.print_table()
    print(f"fixed rate {args.rate:g} operations/s")
    for name, value in ratios.items():
        print(f"{name:<45} {value * 100:6.1f}%")
    m.write_json({"ratios": ratios})


# --- two checkouts in one run -------------------------------------------------------------


@dataclass
class Version:
    """A checkout under test: its own code, virtualenv, database and gunicorn."""

    label: str  # "before" or "after"
    root: Path
    python: Path
    pg_url: str
    port: int
    ready: Prepared | None = None
    server: Server | None = None

    @functools.cached_property
    def commit(self) -> str:
        found = subprocess.run(
            ["git", "-C", str(self.root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
        )
        return found.stdout.strip() or "?"

    @property
    def dsn(self) -> str:
        return self.pg_url.replace("postgresql+psycopg://", "postgresql://", 1)

    def prepare(self, args: argparse.Namespace, batches: int) -> None:
        """Seed its database with its own code and migrations, in its own Python: the schema
        and the statements of a charge are that version's."""
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "prepared.pickle"
            subprocess.run(
                [
                    str(self.python),
                    str(Path(__file__).resolve()),
                    *("--prepare-into", str(out), "--code-root", str(self.root)),
                    *("--pg-url", self.pg_url, "--stores", str(args.stores)),
                    *("--processes", str(args.processes), "--threads", str(args.threads)),
                    *("--duration", str(args.duration), "--code-batches", str(batches)),
                ],
                check=True,
            )
            self.ready = pickle.loads(out.read_bytes())  # noqa: S301  (written just now, by us)

    def start(self, args: argparse.Namespace) -> None:
        env = seed.server_env(self.pg_url, args.redis_url)
        self.server = start_server(
            "wsgi:app", self.port, args.workers, env, self.root, "/health", self.python
        )

    def charge(self) -> Any:
        """A factory for the charge scenario on the next batch of minted codes."""
        assert self.ready is not None
        return functools.partial(Charge, self.ready.plan, self.ready.code_batches.pop(), False)

    def raw_charge(self) -> Any:
        assert self.ready is not None
        return functools.partial(
            RawCharge, self.dsn, self.ready.templates, self.ready.code_batches.pop()
        )


def prepare_into(args: argparse.Namespace) -> None:
    """The child of ``Version.prepare``: this process imports the app from ``--code-root``."""
    sys.path.insert(0, str(args.code_root))  # before anything imports wallet_api
    app = seed.make_app(args.pg_url)
    ready = prepare(app, args, gifts=0, busy=False, batches=args.code_batches)
    args.prepare_into.write_bytes(pickle.dumps(ready))


def compare_run(args: argparse.Namespace) -> None:
    """Two checkouts side by side: bare, charge and raw SQL charge of each, closed loop."""
    before_url = make_url(args.pg_url)
    before = Version(
        "before",
        args.before.resolve(),
        args.before_python or args.before / ".venv" / "bin" / "python",
        args.before_pg_url
        or before_url.set(database=f"{before_url.database}_before").render_as_string(False),
        BEFORE_PORT,
    )
    after = Version("after", ROOT, ROOT / ".venv" / "bin" / "python", args.pg_url, APP_PORT)
    versions = [before, after]
    for version in versions:
        print(f"== {version.label}: {version.root} at {version.commit}", flush=True)
        version.prepare(args, batches=1 + 2 * args.rounds)  # a warm-up, two a round

    subprocess.run(["redis-cli", "-u", args.redis_url, "FLUSHDB"], check=True, capture_output=True)
    env = seed.server_env(args.pg_url, args.redis_url)
    bare_server = start_server(
        "bare_app:app", BARE_PORT, args.workers, env, ROOT / "bench", "/health"
    )
    m = Measurements(args)
    try:
        for version in versions:
            version.start(args)
        for version in versions:  # unmeasured: every worker imports what a charge needs
            assert version.server is not None
            loadgen.run(
                "warm-up",
                version.charge(),
                version.server.url,
                processes=args.processes,
                threads=args.threads,
                duration=3,
            )
        compared: list[tuple[str, Any, str]] = [("bare", lambda: Bare, bare_server.url)]
        compared += [(f"charge ({v.label})", v.charge, v.server.url) for v in versions]  # type: ignore[union-attr]
        compared += [(f"raw SQL charge ({v.label})", v.raw_charge, "") for v in versions]
        run_rounds(m, compared, args.rounds)
    finally:
        bare_server.stop()
        for version in versions:
            if version.server is not None:
                version.server.stop()
    compare_report(m, versions)


def compare_report(m: Measurements, versions: list[Version]) -> None:
    m.print_table()
    bare = m.rps("bare")
    figures: dict[str, dict[str, float]] = {}
    for v in versions:
        charges, raw = m.rps(f"charge ({v.label})"), m.rps(f"raw SQL charge ({v.label})")
        figures[v.label] = {
            "charges/s": charges,
            "raw SQL charges/s": raw,
            "charge / bare": charges / bare,
            "charge / raw SQL": charges / raw,
        }
    before, after = figures["before"], figures["after"]
    print(f"bare endpoint: {bare:.1f} req/s")
    commits = [v.commit for v in versions]
    print(f"| figure | before ({commits[0]}) | after ({commits[1]}) | after / before |")
    print("|---|---:|---:|---:|")
    for name in before:
        if name.startswith("charge /"):
            cells = f"{before[name] * 100:.1f}% | {after[name] * 100:.1f}%"
        else:
            cells = f"{before[name]:.1f} | {after[name]:.1f}"
        print(f"| {name} | {cells} | {after[name] / before[name]:.2f} |")
    m.write_json({"bare_rps": bare, "figures": figures})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_HTTP_PG_URL", PG_URL))
    parser.add_argument("--redis-url", default=REDIS_URL)
    parser.add_argument("--workers", type=int, default=8, help="gunicorn workers (sync)")
    parser.add_argument("--processes", type=int, default=2, help="load generator processes")
    parser.add_argument("--threads", type=int, default=8, help="clients per process")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--rate", type=float, default=20.0, help="fixed rate, operations/s")
    parser.add_argument("--stores", type=int, default=50)
    parser.add_argument("--gifts", type=int, default=80, help="drink gifts per client")
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="closed-loop rounds of the compared scenarios, order alternating",
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument(
        "--before",
        type=Path,
        help="another checkout (the code before a change) to compare with this one",
    )
    parser.add_argument(
        "--before-python", type=Path, help="its Python (default: its .venv/bin/python)"
    )
    parser.add_argument(
        "--before-pg-url", help="its database (default: --pg-url's name + '_before')"
    )
    # Internal: Version.prepare runs this script again under the checkout's own Python.
    parser.add_argument("--prepare-into", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--code-root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--code-batches", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.prepare_into:
        prepare_into(args)
        return
    print(f"load average at start: {loadavg()}", flush=True)
    if args.before:
        compare_run(args)
    else:
        single_run(args)


if __name__ == "__main__":
    main()
