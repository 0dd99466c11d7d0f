"""Rate limits when Redis is down: the tills keep working, the limits hold in memory.

With ``WALLET_REDIS_URL`` set the limits live in Redis, shared by every worker. A Redis
that cannot be reached must not stop scans, charges and sign-ins: each worker then counts
in its own memory (a warning in the log, once), ``/ready`` says ``redis: degraded`` and
stays 200, and the limits go back to Redis when it answers again.

The app runs under gunicorn here, as in production: the rate limiter is one per process,
so a second app in this process would take the suite's limiter storage with it.
"""

from __future__ import annotations

import os
import time

import pytest
import redis

from tests.support.api import PASSWORD, first_limit
from tests.support.reliability import Answer, call, free_port, gunicorn, redis_switch
from tests.support.stores import counter_scene, pay_code

TEST_REDIS_URL = os.environ.get("WALLET_TEST_REDIS_URL")
FALLING_BACK = "Rate limit storage unreachable - falling back to in-memory storage"
# Flask-Limiter asks a Redis it gave up on again after 1, 2, 4 ... 32 seconds: a bound for
# the wait, not a figure the test checks.
RECOVERY_AT_MOST = 90


def _login(port: int, email: str, password: str) -> Answer:
    return call(port, "POST", "/v1/auth/login", {"email": email, "password": password})


def _incomplete_login(port: int) -> int:
    # Refused (422, no password) after the limiter counted it: a cheap request it sees.
    return call(port, "POST", "/v1/auth/login", {"email": "nobody@example.com"}).status


def test_with_redis_down_tills_and_sign_ins_work_and_limits_hold_in_memory(api, tmp_path):
    from wallet_api.auth.routes import LOGIN_LIMIT
    from wallet_api.counter.routes import CODE_FAILURE_LIMIT

    scene = counter_scene(api, funds=2_000)
    code = pay_code(api, scene.anna)["code"]
    till = scene.scanner.token
    # Nothing listens on this port: every connection is refused.
    env = {**os.environ, "WALLET_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    with gunicorn(env, tmp_path / "gunicorn.log", workers=1) as server:
        port = server.port
        ready = call(port, "GET", "/ready")
        assert (ready.status, ready.body["ready"], ready.body["redis"]) == (200, True, "degraded")

        assert _login(port, scene.anna.email, PASSWORD).status == 200
        scan = call(port, "POST", "/v1/scans", {"code": code, "amount": 450}, token=till)
        assert scan.status == 200, scan.body
        assert scan.body["balance_covers"] is True
        charged = call(
            port, "POST", "/v1/charges", {"code": code, "amount": 450}, token=till, key="k"
        )
        assert charged.status == 201, charged.body
        assert api.get("/v1/wallet", as_=scene.anna).get_json()["balance"] == 1_550

        # The limits still hold, counted in the worker's memory: failed look-ups of codes...
        failures = first_limit(CODE_FAILURE_LIMIT)
        looked_up = [
            call(port, "POST", "/v1/scans", {"code": f"P{n:024d}"}, token=till).status
            for n in range(failures)
        ]
        assert looked_up == [404] * failures
        refused = call(port, "POST", "/v1/scans", {"code": code}, token=till)
        assert (refused.status, refused.body["code"]) == (429, "rate_limited")
        # ... and sign-ins from one address (the one above counted too), each to another
        # account so that the client's own limit is the one reached, not one account's.
        logins = first_limit(LOGIN_LIMIT)
        wrong = [
            _login(port, f"nobody{n}@example.com", "not the password").status for n in range(logins)
        ]
        assert wrong == [401] * (logins - 1) + [429]

        assert call(port, "GET", "/ready").body["redis"] == "degraded"
    log = server.log.read_text()
    assert log.count(FALLING_BACK) == 1, log  # once, not per request
    assert "Traceback" not in log, log


@pytest.mark.skipif(not TEST_REDIS_URL, reason="needs Redis: set WALLET_TEST_REDIS_URL")
def test_the_limits_go_back_to_redis_when_it_answers_again(app, tmp_path):
    from wallet_api.extensions import limiter

    # The Redis database the app fixture gave this test process (one per xdist worker), whose
    # counters limiter.reset() clears: any that appear after it are the gunicorn worker's.
    url = os.environ["WALLET_REDIS_URL"]
    limiter.reset()
    direct = redis.Redis.from_url(url)
    with redis_switch(url) as switch:
        env = {**os.environ, "WALLET_REDIS_URL": switch.url}
        with gunicorn(env, tmp_path / "gunicorn.log", workers=1) as server:
            port = server.port
            assert call(port, "GET", "/ready").body["redis"] == "degraded"
            assert _incomplete_login(port) == 422
            assert direct.dbsize() == 0

            switch.up()
            ready = call(port, "GET", "/ready")
            assert (ready.status, ready.body["redis"]) == (200, "ok")
            deadline = time.monotonic() + RECOVERY_AT_MOST
            while direct.dbsize() == 0:
                assert time.monotonic() < deadline, server.log.read_text()
                assert _incomplete_login(port) in (422, 429)
                time.sleep(0.2)
            keys = [key.decode() for key in direct.scan_iter()]
            assert any("auth.Login" in key for key in keys), keys

            # Down again: warned again, once.
            switch.down()
            for _ in range(3):
                assert _incomplete_login(port) in (422, 429)
            assert call(port, "GET", "/ready").body["redis"] == "degraded"
    direct.close()
    log = server.log.read_text()
    assert log.count(FALLING_BACK) == 2, log
    assert log.count("Rate limit storage recovered") == 1, log
    assert "Traceback" not in log, log
