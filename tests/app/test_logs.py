"""Logs: JSON lines, one request id on every line of a request, one access line each, and
no secret of a customer's in any line."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.api import PASSWORD, UNKNOWN_ID, ApiClient, problem
from tests.support.catalog import add_product
from tests.support.gifts import claim, drink, given, token_of
from tests.support.stores import add_scanner, add_store, charge, pay_code, refund
from tests.support.wallet import top_up

GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")
PRINCIPAL = re.compile(r"^(anonymous|user:[0-9a-f-]{36}|device:[0-9a-f-]{36})$")
WRONG_PASSWORD = "not the password at all"


@dataclass
class Exchange:
    """One request through the test client and the log lines made while it ran."""

    method: str
    path: str
    status: int
    request_id: str | None
    body: Any
    lines: list[dict[str, Any]]

    @property
    def access(self) -> dict[str, Any]:
        (line,) = [line for line in self.lines if line["logger"] == "wallet_api.access"]
        return line


@dataclass
class Capture:
    """Every log line, as the service writes it in JSON, at DEBUG on the root logger."""

    stream: io.StringIO = field(default_factory=io.StringIO)
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines()]


@pytest.fixture
def capture() -> Iterator[Capture]:
    from wallet_api.logs import formatter

    captured = Capture()
    handler = logging.StreamHandler(captured.stream)
    handler.setFormatter(formatter("json"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield captured
    root.removeHandler(handler)
    root.setLevel(level)


class RecordingClient(FlaskClient):
    """The test client, noting which log lines each request made."""

    capture: Capture

    def open(self, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
        before = len(self.capture.lines())
        response = super().open(*args, **kwargs)
        body = response.get_json(silent=True) if response.mimetype.endswith("json") else None
        self.capture.exchanges.append(
            Exchange(
                response.request.method,
                response.request.path,
                response.status_code,
                response.headers.get("X-Request-ID"),
                body,
                self.capture.lines()[before:],
            )
        )
        return response


@pytest.fixture
def recorded(app: Flask, capture: Capture) -> ApiClient:
    client = RecordingClient(app, app.response_class, use_cookies=True)
    client.capture = capture
    return ApiClient(client)


def test_a_full_scenario_logs_every_request_and_no_secret(recorded, app, capture):
    from wallet_api.extensions import limiter

    api = recorded
    admin = api.admin()
    store = add_store(api, admin)
    scanner = add_scanner(api, admin, store["id"])
    anna = api.register("Anna")
    signed_in = api.post("/v1/auth/login", {"email": anna.email, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.get_json()
    tokens = signed_in.get_json()
    top_up(api, anna, 2000)
    code = pay_code(api, anna)["code"]
    assert api.post("/v1/scans", {"code": code}, as_=scanner.token).status_code == 200
    charged = charge(api, scanner, code, amount=450)
    assert charged.status_code == 201, charged.get_json()
    charge_id = charged.get_json()["charge"]["id"]
    assert refund(api, scanner, charge_id, 100, "Wrong milk").status_code == 201
    flat_white = add_product(api, admin, "Flat White")
    carl_email = "carl.unknown@example.org"
    gift = given(api, anna, email=carl_email, item=drink(flat_white), message="Enjoy!")
    claim_token = token_of(gift["claim_url"])
    assert api.get("/g/" + claim_token).status_code == 200
    carl = api.register("Carl", email=carl_email)
    assert claim(api, carl, gift["claim_url"]).status_code == 200
    problem(api.get(f"/v1/charges/{UNKNOWN_ID}", as_=admin), 404, "charge_not_found")
    problem(api.get(f"/v1/no-such-thing/{claim_token}"), 404, "not_found")
    problem(api.post("/v1/auth/login", {"password": WRONG_PASSWORD}), 422, "validation_error")
    # Refused passwords, until the account's limit from this client refuses the next try
    # (Flask-Limiter logs the limit's key when it does).
    limiter.enabled = True
    wrong = {"email": anna.email, "password": WRONG_PASSWORD}
    refusals = [api.post("/v1/auth/login", wrong).status_code for _ in range(6)]
    assert refusals == [401] * 5 + [429]

    exchanges = capture.exchanges
    for exchange in exchanges:
        # Every line of a request carries its id, which the response echoes...
        assert GENERATED_ID.match(exchange.request_id or ""), exchange
        assert {line.get("request_id") for line in exchange.lines} == {exchange.request_id}
        # ...and so does every problem.
        if exchange.status >= 400:
            assert exchange.body["request_id"] == exchange.request_id, exchange
        # One access line each, saying what was done by whom, and how it went.
        access = exchange.access
        assert access["level"] == "INFO"
        assert access["method"] == exchange.method
        assert access["status"] == exchange.status
        assert access["duration_ms"] >= 0
        assert access["remote_addr"] == "127.0.0.1"
        assert re.match(
            r"^(anonymous|user:[0-9a-f-]{36}|device:[0-9a-f-]{36})$", access["principal"]
        )
    assert len({exchange.request_id for exchange in exchanges}) == len(exchanges)

    def access_of(method: str, route: str) -> list[dict[str, Any]]:
        return [e.access for e in exchanges if e.method == method and e.access["route"] == route]

    # The route is the URL rule, ids and the claim token left out; the principal is who
    # the view authenticated.
    (charge_line,) = access_of("POST", "/v1/charges")
    assert charge_line["principal"] == f"device:{scanner.device_id}"
    assert charge_line["status"] == 201
    (refund_line,) = access_of("POST", "/v1/charges/<uuid:charge_id>/refunds")
    assert refund_line["principal"] == f"device:{scanner.device_id}"
    (code_line,) = access_of("POST", "/v1/wallet/pay-codes")
    assert code_line["principal"] == f"user:{anna.id}"
    (claim_line,) = [e.access for e in exchanges if e.path.startswith("/v1/gift-claims/")]
    assert claim_line["route"] == "/v1/gift-claims/<string:token>"
    assert claim_line["principal"] == f"user:{carl.id}"
    logins = access_of("POST", "/v1/auth/login")
    assert [line["status"] for line in logins] == [200, 422] + [401] * 5 + [429]
    assert {line["principal"] for line in logins} == {"anonymous"}
    no_charge, no_route = [e.access for e in exchanges if e.status == 404]
    assert (no_charge["route"], no_charge["principal"]) == (
        "/v1/charges/<uuid:charge_id>",
        f"user:{admin.id}",
    )
    assert (no_route["route"], no_route["principal"]) == (None, "anonymous")

    secrets = {
        "password": PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "access token": anna.access_token,
        "refresh token": anna.refresh_token,
        "login access token": tokens["access_token"],
        "login refresh token": tokens["refresh_token"],
        "admin's token": admin.access_token,
        "device secret": scanner.secret,
        "device token": scanner.token,
        "pay code": code,
        "claim token": claim_token,
        "Anna's email": anna.email,
        "Carl's email": carl_email,
        "the admin's email": admin.email,
    }
    logged = capture.text
    assert "ratelimit" in logged  # the limiter's line, with its key, is among them
    assert [name for name, secret in secrets.items() if secret.lower() in logged.lower()] == []


def test_lines_outside_a_request_have_no_request_id(app, capture):
    logging.getLogger("wallet_api.test").warning("outside")
    (line,) = capture.lines()
    assert line["message"] == "outside"
    assert "request_id" not in line


def test_a_client_cannot_choose_its_request_id(recorded, capture):
    response = recorded.get("/health", headers={"X-Request-ID": "chosen-by-the-client"})
    assert GENERATED_ID.match(response.headers["X-Request-ID"])


@pytest.mark.parametrize(
    ("offered", "kept"),
    [
        ("lb-7f3a.2026-12-07:0042", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("has spaces", False),
        ("semi;colon", False),
        ("", False),
    ],
)
def test_a_trusted_proxys_request_id_is_used_when_sane(
    recorded, app, capture, monkeypatch, offered, kept
):
    monkeypatch.setitem(app.config, "WALLET_TRUSTED_PROXIES", 1)
    response = recorded.get(f"/v1/charges/{UNKNOWN_ID}", headers={"X-Request-ID": offered})
    body = problem(response, 401, "token_missing")
    used = response.headers["X-Request-ID"]
    assert (used == offered) is kept
    if not kept:
        assert GENERATED_ID.match(used)
    assert body["request_id"] == used
    assert {line["request_id"] for line in capture.exchanges[-1].lines} == {used}
