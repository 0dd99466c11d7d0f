"""Guessing from one client: pay codes, gift claim tokens and passwords are throttled.

Each attack guesses for ``WALLET_BRUTE_FORCE_SECONDS`` seconds of wall time: 60 by default
when the ``CI`` environment variable is set (the issue's minute of guessing), 10 otherwise.
The duration only sets how long the attacker tries; nothing is asserted about timing.
Passing means: no guess succeeds, the limit starts where it is documented (or, for a
limit this suite does not own, somewhere), and at least 99% of the attempts after it get 429.

The last test runs the app under gunicorn with two workers and shows the login limit is one
budget for both when Redis is configured (skipped unless ``WALLET_TEST_REDIS_URL`` is set;
CI sets it).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from limits import parse_many
from werkzeug.test import TestResponse

from tests.support.api import PASSWORD, ApiClient, first_limit, problem
from tests.support.authz import Scene, cheap_password_hashing
from tests.support.stores import pay_code

SECONDS = float(
    os.environ.get("WALLET_BRUTE_FORCE_SECONDS") or (60 if os.environ.get("CI") else 10)
)
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Outcome:
    statuses: list[int]
    codes: Counter[str]

    @property
    def first_429(self) -> int | None:
        return self.statuses.index(429) if 429 in self.statuses else None

    def throttled_share_after(self, index: int) -> float:
        after = self.statuses[index:]
        return after.count(429) / len(after)


def guess_for_a_while(attempt: Callable[[], TestResponse]) -> Outcome:
    statuses: list[int] = []
    codes: Counter[str] = Counter()
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline:
        response = attempt()
        statuses.append(response.status_code)
        body = response.get_json(silent=True) or {}
        codes[str(body.get("code", response.status_code))] += 1
    return Outcome(statuses, codes)


def assert_throttled(outcome: Outcome, limit: int | None, refusal: str) -> None:
    """No success; ``limit`` refusals (when known), then at least 99% 429."""
    print(f"{len(outcome.statuses)} guesses in {SECONDS:g}s: {dict(outcome.codes)}")
    assert not [s for s in outcome.statuses if s < 400], "a guess succeeded"
    assert not [s for s in outcome.statuses if s >= 500]
    first = outcome.first_429
    assert first is not None, "never throttled: this is not rate limited"
    if limit is not None:
        assert first == limit, f"the first 429 came after {first} attempts, not {limit}"
    assert set(outcome.codes) <= {refusal, "rate_limited"}, outcome.codes
    share = outcome.throttled_share_after(first)
    assert share >= 0.99, f"only {share:.2%} of the attempts after the limit got 429"


@pytest.fixture
def limits_on() -> None:
    from wallet_api.extensions import limiter

    limiter.enabled = True  # the autouse fixture turns it off and resets it afterwards


# --- pay codes ---------------------------------------------------------------------------------


def _random_pay_code() -> str:
    # Shaped like a real one (P + 24 base32 characters), so each guess reaches the look-up.
    return "P" + base64.b32encode(secrets.token_bytes(15)).decode()


@pytest.mark.usefixtures("limits_on")
def test_guessing_pay_codes_at_a_till(api: ApiClient) -> None:
    from wallet_api.counter.routes import CODE_FAILURE_LIMIT

    scene = Scene(api)
    scene.pay_code  # noqa: B018  (a live code exists to be found while the till guesses)
    key_id = scene.offline_key["key_id"]
    guesses = iter(range(10**9))

    def attempt() -> TestResponse:
        # Half pay codes, half offline codes of a real phone (its key id is in every QR it
        # shows), where only 8 digits are left to guess.
        if next(guesses) % 2:
            code = f"O{key_id}{secrets.randbelow(10**8):08d}"
        else:
            code = _random_pay_code()
        return api.post("/v1/scans", {"code": code}, as_=scene.scanner.token)

    outcome = guess_for_a_while(attempt)
    assert_throttled(outcome, first_limit(CODE_FAILURE_LIMIT), "code_unknown")
    # The budget is the guessing till's: another till of the store still serves customers.
    # (A fresh code: the one made before the guessing may have expired by now.)
    fresh = pay_code(api, scene.owner)["code"]
    assert api.post("/v1/scans", {"code": fresh}, as_=scene.other_scanner.token).status_code == 200


# --- gift claim tokens -------------------------------------------------------------------------


def _gift_claim_rule(app: Flask) -> str | None:
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/v1/gift-claims/") and "POST" in (rule.methods or ()):
            return rule.rule
    return None


@pytest.mark.usefixtures("limits_on")
def test_guessing_gift_claim_tokens(api: ApiClient, app: Flask) -> None:
    rule = _gift_claim_rule(app)
    if rule is None:
        pytest.skip("POST /v1/gift-claims/{token} is not on this branch yet; runs once it is")
    prefix = rule.split("<", 1)[0]
    guesser = api.register("Gus")

    def attempt() -> TestResponse:
        return api.post(prefix + secrets.token_urlsafe(24), as_=guesser)

    outcome = guess_for_a_while(attempt)
    refusals = {code for code in outcome.codes if code != "rate_limited"}
    # The gifts domain owns its limit and its error code; both must exist.
    assert len(refusals) <= 1, refusals
    assert_throttled(outcome, None, refusals.pop() if refusals else "rate_limited")


# --- passwords ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("limits_on")
def test_guessing_a_password(api: ApiClient) -> None:
    from wallet_api.auth.routes import ACCOUNT_CLIENT_LOGIN_LIMIT, LOGIN_LIMIT

    victim = api.register("Vic")
    right: list[TestResponse] = []

    def attempt() -> TestResponse:
        guess = secrets.token_urlsafe(12)
        response = api.post("/v1/auth/login", {"email": victim.email, "password": guess})
        if response.status_code == 429 and not right:
            # Once throttled, a lucky guess is not told it was right either. Tried at once,
            # while the limit's window is surely still open (a minute of guessing outlasts
            # a per-minute window, after which a new budget rightly begins).
            right.append(api.post("/v1/auth/login", {"email": victim.email, "password": PASSWORD}))
        return response

    outcome = guess_for_a_while(attempt)
    # One account from one client: the tighter of the client's and the pair's limits.
    limit = min(first_limit(LOGIN_LIMIT), first_limit(ACCOUNT_CLIENT_LOGIN_LIMIT))
    assert_throttled(outcome, limit, "invalid_credentials")
    assert right, "never throttled"
    problem(right[0], 429, "rate_limited")


@pytest.mark.usefixtures("limits_on")
def test_guessing_one_password_from_many_addresses(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wallet_api.auth.routes import ACCOUNT_CLIENT_LOGIN_LIMIT, ACCOUNT_LOGIN_LIMIT

    cheap_password_hashing(monkeypatch)  # 130 sign-ins; production hashing is in test_auth
    victim, bystander = api.register("Vic"), api.register("Bea")
    limit = first_limit(ACCOUNT_LOGIN_LIMIT)
    # One address alone never spends the account's budget (so it cannot lock the owner out).
    assert limit > max(item.amount for item in parse_many(ACCOUNT_CLIENT_LOGIN_LIMIT))

    def login(person, password: str, address: int) -> TestResponse:
        # Each attempt from its own address: the per-address limit never starts.
        environ = {"REMOTE_ADDR": f"10.{address // 65536}.{address // 256 % 256}.{address % 256}"}
        # The email spelt differently each time is still the same account.
        email = person.email.upper() if address % 2 else person.email
        body = {"email": email, "password": password}
        return api.post("/v1/auth/login", body, environ_base=environ)

    statuses = [login(victim, secrets.token_urlsafe(12), n).status_code for n in range(limit + 30)]
    assert statuses == [401] * limit + [429] * 30
    # The right password is not told apart now either, from yet another address.
    problem(login(victim, PASSWORD, 10_000), 429, "rate_limited")
    # Another account is untouched, and the owner's successful sign-ins never counted.
    assert login(bystander, PASSWORD, 10_001).status_code == 200


# --- behind a load balancer, and shared across workers ----------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


@contextmanager
def gunicorn(env: dict[str, str], log: Path, workers: int = 2) -> Iterator[int]:
    """``gunicorn -w 2 wsgi:app`` on a free port, stopped (by its own pid) at the end."""
    port = _free_port()
    command = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}"]
    command.append("wsgi:app")
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)  # noqa: S603  (our own interpreter and arguments)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if _get(port, "/health") == 200:
                    break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start:\n" + log.read_text()
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _login(port: int, forwarded_for: str | None = None) -> int:
    # A new connection per request, so the kernel hands them to either worker; another
    # account each time, so the client's own limit is the one met (not one account's).
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    email = f"nobody-{secrets.token_hex(4)}@example.com"
    body = json.dumps({"email": email, "password": "not-the-password"})
    headers = {"Content-Type": "application/json"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    try:
        connection.request("POST", "/v1/auth/login", body, headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _login_attempts(port: int, count: int) -> Counter[int]:
    # Four clients at once keep both workers busy: each refused password costs an argon2
    # verification, so while one worker hashes, the other takes the next connection.
    with ThreadPoolExecutor(max_workers=4) as pool:
        return Counter(pool.map(lambda _: _login(port), range(count)))


@pytest.mark.skipif(
    not os.environ.get("WALLET_TEST_REDIS_URL"), reason="needs Redis: set WALLET_TEST_REDIS_URL"
)
def test_the_login_limit_is_shared_by_gunicorn_workers_through_redis(app, tmp_path) -> None:
    from wallet_api.auth.routes import LOGIN_LIMIT
    from wallet_api.extensions import limiter

    limit, attempts = first_limit(LOGIN_LIMIT), 30
    env = dict(os.environ)  # WALLET_REDIS_URL: the app fixture's Redis (one per xdist worker)
    limiter.reset()  # the same Redis keys as the workers': start from a clean budget
    with gunicorn(env, tmp_path / "redis.log") as port:
        shared = _login_attempts(port, attempts)
    assert shared == {401: limit, 429: attempts - limit}, shared

    # Control: with per-process counters each worker grants its own budget, so more than
    # `limit` get through. This shows the requests above did reach both workers.
    env.pop("WALLET_REDIS_URL")
    with gunicorn(env, tmp_path / "memory.log") as port:
        separate = _login_attempts(port, attempts)
    print(f"shared: {dict(shared)}; separate: {dict(separate)}")
    assert separate[401] > limit, separate


def test_behind_a_trusted_proxy_each_client_has_its_own_login_budget(app, tmp_path) -> None:
    from wallet_api.auth.routes import LOGIN_LIMIT

    limit = first_limit(LOGIN_LIMIT)
    env = {k: v for k, v in os.environ.items() if k != "WALLET_REDIS_URL"}  # one worker's memory

    # Behind one load balancer every request comes from its address; the balancer says
    # whose request it is in X-Forwarded-For.
    with gunicorn({**env, "WALLET_TRUSTED_PROXIES": "1"}, tmp_path / "proxied.log", 1) as port:
        first = [_login(port, "203.0.113.7") for _ in range(limit + 1)]
        second = _login(port, "198.51.100.9")
    assert first == [401] * limit + [429]
    assert second == 401  # another customer in the same shop is not locked out

    # Without a trusted proxy the header is anybody's to write: a new made-up address per
    # request buys no new budget.
    with gunicorn(env, tmp_path / "direct.log", 1) as port:
        forged = [_login(port, f"203.0.113.{n}") for n in range(limit + 1)]
    assert forged == [401] * limit + [429]
