"""Wallet test helpers: top-ups, spends through the ledger, signed Stripe events and a
local stand-in for Stripe's API (this machine cannot reach the network; the stand-in only
answers what the stripe package sends, so the real client code runs end to end)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from flask import Flask

from tests.support.api import ApiClient, Person

STRIPE_SECRET_KEY = "sk_test_bean_wallet_local"
WEBHOOK_SECRET = "whsec_test_bean_wallet_0123456789"
_ids = itertools.count(1)


def top_up(api: ApiClient, person: Person, amount: int, key: str | None = None) -> dict[str, Any]:
    response = api.post("/v1/wallet/top-ups", {"amount": amount}, as_=person, idem=key or True)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def balance(api: ApiClient, person: Person) -> int:
    response = api.get("/v1/wallet", as_=person)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["balance"]


# --- the ledger, as later domains (charges) will use it -------------------------------


def store_sales_account(app: Flask, store_id: uuid.UUID) -> int:
    from wallet_api.extensions import db
    from wallet_api.ledger import service as ledger
    from wallet_api.ledger.models import AccountKind

    with app.app_context():
        account_id = ledger.system_account(AccountKind.STORE_SALES, store_id).id
        db.session.commit()
    return account_id


def spend(app: Flask, user_id: str, store_id: uuid.UUID, amount: int, **kwargs: Any) -> bool:
    """One purchase in its own app context and database transaction; False if refused."""
    from wallet_api.extensions import db
    from wallet_api.ledger import service as ledger
    from wallet_api.ledger.errors import InsufficientFunds
    from wallet_api.ledger.models import AccountKind

    with app.app_context():
        try:
            ledger.transfer(
                "charge",
                ledger.wallet_account(uuid.UUID(user_id)),
                ledger.system_account(AccountKind.STORE_SALES, store_id),
                amount,
                **kwargs,
            )
            db.session.commit()
        except InsufficientFunds:
            db.session.rollback()
            return False
    return True


def ledger_verify_command(app: Flask) -> tuple[int, str]:
    """``wallet-api ledger verify`` as an operator runs it, against the test database (the
    app fixture put its URL and secret into the environment). Returns (exit code, output)."""
    command = [str(Path(sys.executable).parent / "wallet-api"), "ledger", "verify"]
    # S603: our own console script with fixed arguments.
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
    return done.returncode, done.stdout + done.stderr


def run_threads(count: int, target: Any) -> list[Any]:
    """Run ``target(i)`` in ``count`` threads released together; return their results."""
    results: list[Any] = [None] * count
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = target(i)
        except BaseException as exc:  # surfaced below; a thread cannot fail the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


# --- Stripe webhooks ------------------------------------------------------------------


def stripe_signature(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None):
    """The ``Stripe-Signature`` header as Stripe documents it: HMAC-SHA256 over
    ``"<timestamp>.<payload>"`` with the endpoint secret, hex, as the ``v1`` scheme."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def payment_intent_event(
    event_type: str,
    payment_intent: str,
    amount: int,
    *,
    currency: str = "eur",
    event_id: str | None = None,
    error: str | None = None,
) -> str:
    event = {
        "id": event_id or f"evt_test_{next(_ids)}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "type": event_type,
        "data": {
            "object": {
                "id": payment_intent,
                "object": "payment_intent",
                "amount": amount,
                "amount_received": amount if event_type == "payment_intent.succeeded" else 0,
                "currency": currency,
                "status": "succeeded" if event_type == "payment_intent.succeeded" else "failed",
                "last_payment_error": {"code": "card_declined", "message": error}
                if error
                else None,
            }
        },
    }
    return json.dumps(event)


def deliver(
    api: ApiClient,
    payload: str,
    signature: str | None = "sign",
    content_type: str = "application/json",
    **kwargs: Any,
):
    headers = {"Content-Type": content_type}
    if signature == "sign":
        signature = stripe_signature(payload)
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return api.client.post("/v1/webhooks/payments/stripe", data=payload, headers=headers, **kwargs)


# --- a local stand-in for api.stripe.com ----------------------------------------------


# However long a held stand-in keeps a request waiting, at most: a safety net for a test
# that fails, never a figure a test relies on.
HOLD_AT_MOST = 30


@dataclass
class FakeStripe:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    by_key: dict[str, dict[str, Any]] = field(default_factory=dict)
    arrived: threading.Condition = field(default_factory=threading.Condition)
    gate: threading.Event | None = None

    @contextmanager
    def held(self) -> Iterator[None]:
        """Requests wait for their answer until the block ends (a slow Stripe)."""
        self.gate = threading.Event()
        try:
            yield
        finally:
            self.gate.set()
            self.gate = None

    def wait_for_requests(self, count: int) -> None:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.requests) >= count, HOLD_AT_MOST)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A held answer goes to a client that gave up waiting (its timeout): expected.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def fake_stripe() -> Iterator[FakeStripe]:
    """Answers ``POST /v1/payment_intents`` as Stripe does (idempotency key included)."""
    state = FakeStripe(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            params = dict(parse_qsl(body))
            with state.arrived:
                state.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "params": params}
                )
                state.arrived.notify_all()
            gate = state.gate
            if gate is not None:
                gate.wait(HOLD_AT_MOST)
            with lock:
                key = self.headers.get("Idempotency-Key", "")
                if self.path != "/v1/payment_intents":
                    self._send(404, {"error": {"type": "invalid_request_error"}})
                    return
                if key not in state.by_key:
                    n = len(state.by_key) + 1
                    state.by_key[key] = {
                        "id": f"pi_test_{n}",
                        "object": "payment_intent",
                        "amount": int(params["amount"]),
                        "currency": params["currency"],
                        "client_secret": f"pi_test_{n}_secret_{uuid.uuid4().hex[:12]}",
                        "status": "requires_payment_method",
                        "metadata": {
                            k[len("metadata[") : -1]: v
                            for k, v in params.items()
                            if k.startswith("metadata[")
                        },
                        "livemode": False,
                    }
                self._send(200, state.by_key[key])

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Request-Id", f"req_{uuid.uuid4().hex[:8]}")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    server = _QuietServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
