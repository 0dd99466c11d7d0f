"""Top-ups through Stripe: a pending PaymentIntent, then signed webhooks credit it once.

Stripe cannot be reached from here; ``fake_stripe`` (tests/support/wallet.py) answers on
127.0.0.1 in Stripe's place so that the real ``stripe`` client code runs and we can see
what it sends. Webhooks are signed with a test secret exactly as Stripe signs them.
"""

from __future__ import annotations

import threading
import time

import pytest

from tests.support.api import problem
from tests.support.wallet import (
    STRIPE_SECRET_KEY,
    WEBHOOK_SECRET,
    balance,
    deliver,
    fake_stripe,
    payment_intent_event,
    run_threads,
    stripe_signature,
    top_up,
)


@pytest.fixture
def stripe_api(app, monkeypatch):
    with fake_stripe() as server:
        for name, value in {
            "WALLET_PAYMENT_PROVIDER": "stripe",
            "WALLET_STRIPE_SECRET_KEY": STRIPE_SECRET_KEY,
            "WALLET_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "WALLET_STRIPE_API_BASE": server.url,
        }.items():
            monkeypatch.setitem(app.config, name, value)
        yield server


def succeeded(pending, **kwargs):
    return payment_intent_event(
        "payment_intent.succeeded", pending["provider_reference"], pending["amount"], **kwargs
    )


def test_creating_a_stripe_top_up_asks_stripe_for_a_payment_intent(api, stripe_api):
    anna = api.register("Anna")
    pending = top_up(api, anna, 2_500)
    assert pending["provider"] == "stripe"
    assert pending["status"] == "pending"
    assert pending["provider_reference"] == "pi_test_1"
    assert pending["client_secret"].startswith("pi_test_1_secret_")
    assert pending["transaction_id"] is None
    assert balance(api, anna) == 0  # nothing until Stripe says it is paid

    (sent,) = stripe_api.requests
    assert sent["path"] == "/v1/payment_intents"
    assert sent["params"]["amount"] == "2500"
    assert sent["params"]["currency"] == "eur"
    assert sent["params"]["metadata[top_up_id]"] == pending["id"]
    assert sent["headers"]["Idempotency-Key"] == pending["id"]
    assert sent["headers"]["Authorization"] == f"Bearer {STRIPE_SECRET_KEY}"

    shown = api.get(f"/v1/wallet/top-ups/{pending['id']}", as_=anna).get_json()
    assert shown["status"] == "pending"


def test_stripe_limits_are_checked_before_asking_stripe(api, app, stripe_api):
    anna = api.register("Anna")
    problem(
        api.post("/v1/wallet/top-ups", {"amount": 100}, as_=anna, idem=True),
        422,
        "top_up_too_small",
    )
    assert stripe_api.requests == []


def test_stripe_unreachable_is_503_and_keeps_nothing(api, app, stripe_api, monkeypatch):
    monkeypatch.setitem(app.config, "WALLET_STRIPE_API_BASE", stripe_api.url + "/nowhere")
    anna = api.register("Anna")
    response = api.post("/v1/wallet/top-ups", {"amount": 1_000}, as_=anna, idem="k")
    problem(response, 503, "payment_provider_unavailable")
    # The key was not kept: the same request may be retried once Stripe answers again.
    monkeypatch.setitem(app.config, "WALLET_STRIPE_API_BASE", stripe_api.url)
    assert api.post("/v1/wallet/top-ups", {"amount": 1_000}, as_=anna, idem="k").status_code == 201


def test_a_slow_stripe_is_503_after_the_timeout_and_keeps_nothing(
    api, app, stripe_api, monkeypatch
):
    monkeypatch.setitem(app.config, "WALLET_STRIPE_TIMEOUT_SECONDS", 1)
    anna = api.register("Anna")
    with stripe_api.held():
        # Stripe answers only once the block ends: this answer is our own timeout's.
        response = api.post("/v1/wallet/top-ups", {"amount": 1_000}, as_=anna, idem="k")
        problem(response, 503, "payment_provider_unavailable")
    # Tried once more, with the same Stripe idempotency key (the top-up's id).
    keys = [sent["headers"]["Idempotency-Key"] for sent in stripe_api.requests]
    assert len(keys) == 2
    assert len(set(keys)) == 1
    problem(api.get(f"/v1/wallet/top-ups/{keys[0]}", as_=anna), 404, "top_up_not_found")
    assert balance(api, anna) == 0
    # The key was not kept either. Stripe made the PaymentIntent after all, once the block
    # ended: the retry gets that one, not a second.
    retried = api.post("/v1/wallet/top-ups", {"amount": 1_000}, as_=anna, idem="k")
    assert retried.status_code == 201, retried.get_json()
    assert retried.get_json()["id"] == keys[0]
    assert retried.get_json()["provider_reference"] == "pi_test_1"
    assert {sent["headers"]["Idempotency-Key"] for sent in stripe_api.requests} == {keys[0]}
    assert len(stripe_api.by_key) == 1


def _open_transactions(app) -> list[str]:
    """What of ours holds a database transaction open right now (from another connection)."""
    import sqlite3

    from wallet_api.extensions import db

    with app.app_context():
        url = db.engine.url
        if url.get_backend_name() == "postgresql":
            with db.engine.connect() as connection:
                return list(
                    connection.exec_driver_sql(
                        "SELECT state FROM pg_stat_activity WHERE datname = current_database()"
                        " AND state IN ('idle in transaction', 'idle in transaction (aborted)')"
                        " AND pid <> pg_backend_pid()"
                    ).scalars()
                )
    # SQLite: every request that may write holds the one writer slot from its BEGIN on. Ask
    # for it without waiting: refused at once while any transaction of ours holds it.
    connection = sqlite3.connect(url.database, timeout=0, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        return [str(exc)]
    finally:
        connection.close()
    return []


class _TopUpsInThreads:
    """``count`` top-ups of 25.00 with one Idempotency-Key, each from its own thread."""

    def __init__(self, app, person, key: str, count: int) -> None:
        self.answers: list = []
        headers = {**person.headers, "Idempotency-Key": key}

        def post() -> None:
            client = app.test_client()
            self.answers.append(
                client.post("/v1/wallet/top-ups", json={"amount": 2_500}, headers=headers)
            )

        self.threads = [threading.Thread(target=post) for _ in range(count)]
        for thread in self.threads:
            thread.start()

    def join(self) -> list:
        for thread in self.threads:
            thread.join(timeout=60)
        assert [a.status_code for a in self.answers] == [201] * len(self.threads), [
            a.get_json() for a in self.answers
        ]
        return self.answers


def test_no_database_transaction_is_open_while_stripe_answers(app, api, stripe_api):
    # Stripe may take seconds: a transaction held meanwhile would stop every other writer
    # (SQLite) or keep locks and a connection idle in transaction (PostgreSQL).
    anna = api.register("Anna")
    with stripe_api.held():
        top_ups = _TopUpsInThreads(app, anna, "slow", 1)
        stripe_api.wait_for_requests(1)
        assert _open_transactions(app) == []
    (response,) = top_ups.join()
    assert response.get_json()["status"] == "pending"


def test_two_requests_racing_with_one_key_through_stripe_make_one_top_up(app, api, stripe_api):
    anna = api.register("Anna")
    with stripe_api.held():
        top_ups = _TopUpsInThreads(app, anna, "twice", 2)
        # Both looked the key up before either had an answer, and both asked Stripe.
        stripe_api.wait_for_requests(2)
    answers = top_ups.join()
    first, second = (a.get_json() for a in answers)
    assert first == second
    assert sorted(a.headers.get("Idempotent-Replayed", "") for a in answers) == ["", "true"]
    assert len(stripe_api.by_key) == 1
    event = succeeded(first)
    assert deliver(api, event).get_json()["outcome"] == "succeeded"
    assert balance(api, anna) == 2_500


def test_succeeded_webhook_credits_once_however_often_it_arrives(api, stripe_api):
    anna = api.register("Anna")
    pending = top_up(api, anna, 2_500)
    event = succeeded(pending)

    first = deliver(api, event)
    assert first.status_code == 200
    assert first.get_json() == {"received": True, "outcome": "succeeded"}
    again = deliver(api, event)
    assert again.get_json() == {"received": True, "outcome": "duplicate"}
    # A different event about the same payment finds the top-up settled.
    other = deliver(api, succeeded(pending))
    assert other.get_json()["outcome"] == "already_settled"

    assert balance(api, anna) == 2_500
    shown = api.get(f"/v1/wallet/top-ups/{pending['id']}", as_=anna).get_json()
    assert shown["status"] == "succeeded"
    assert shown["completed_at"]
    (row,) = api.get("/v1/wallet/transactions", as_=anna).get_json()["items"]
    assert row["id"] == shown["transaction_id"]
    assert (row["kind"], row["amount"]) == ("top_up", 2_500)


def test_the_webhook_reads_its_body_whatever_the_media_type(api, stripe_api):
    # Only our JSON API's bodies must be application/json; a provider's signed bytes are
    # taken as they come (Stripe adds a charset).
    anna = api.register("Anna")
    pending = top_up(api, anna, 2_500)
    for content_type in ("application/json; charset=utf-8", "text/plain"):
        response = deliver(api, succeeded(pending), content_type=content_type)
        assert response.status_code == 200, response.get_json()
    assert balance(api, anna) == 2_500


def test_concurrent_deliveries_credit_once(app, api, stripe_api):
    anna = api.register("Anna")
    pending = top_up(api, anna, 3_000)
    events = [succeeded(pending, event_id="evt_same")] * 3 + [succeeded(pending)] * 3

    def post(i: int):
        client = app.test_client()
        response = client.post(
            "/v1/webhooks/payments/stripe",
            data=events[i],
            headers={"Stripe-Signature": stripe_signature(events[i])},
        )
        return response.status_code, response.get_json()["outcome"]

    results = run_threads(len(events), post)
    assert {status for status, _ in results} == {200}
    assert sorted(outcome for _, outcome in results).count("succeeded") == 1
    assert balance(api, anna) == 3_000


def test_failed_payment_marks_failed_and_credits_nothing(api, stripe_api):
    anna = api.register("Anna")
    pending = top_up(api, anna, 2_500)
    event = payment_intent_event(
        "payment_intent.payment_failed",
        pending["provider_reference"],
        2_500,
        error="Your card was declined.",
    )
    assert deliver(api, event).get_json()["outcome"] == "failed"
    shown = api.get(f"/v1/wallet/top-ups/{pending['id']}", as_=anna).get_json()
    assert shown["status"] == "failed"
    assert shown["failure_reason"] == "Your card was declined."
    assert balance(api, anna) == 0


def test_a_retry_with_another_card_after_a_failure_credits(api, stripe_api):
    # Stripe lets the customer retry on the same PaymentIntent after a failed attempt.
    anna = api.register("Anna")
    pending = top_up(api, anna, 2_500)
    failed = payment_intent_event(
        "payment_intent.payment_failed", pending["provider_reference"], 2_500, error="declined"
    )
    assert deliver(api, failed).get_json()["outcome"] == "failed"
    assert deliver(api, succeeded(pending)).get_json()["outcome"] == "succeeded"
    shown = api.get(f"/v1/wallet/top-ups/{pending['id']}", as_=anna).get_json()
    assert shown["status"] == "succeeded"
    assert shown["failure_reason"] is None
    assert balance(api, anna) == 2_500
    # A failure reported late never undoes the success.
    late = payment_intent_event(
        "payment_intent.payment_failed", pending["provider_reference"], 2_500, error="late"
    )
    assert deliver(api, late).get_json()["outcome"] == "already_settled"
    assert api.get(f"/v1/wallet/top-ups/{pending['id']}", as_=anna).get_json()["status"] == (
        "succeeded"
    )
    assert balance(api, anna) == 2_500


def test_unknown_payment_intent_is_acknowledged_and_changes_nothing(api, stripe_api):
    anna = api.register("Anna")
    pending = top_up(api, anna, 2_500)
    event = payment_intent_event("payment_intent.succeeded", "pi_somebody_else", 2_500)
    response = deliver(api, event)
    assert response.status_code == 200
    assert response.get_json()["outcome"] == "unknown_payment"
    assert balance(api, anna) == 0
    assert api.get(f"/v1/wallet/top-ups/{pending['id']}", as_=anna).get_json()["status"] == (
        "pending"
    )


def test_other_event_types_are_acknowledged_and_ignored(api, stripe_api):
    payload = '{"id": "evt_1", "object": "event", "type": "customer.created", "data": {"object": {"id": "cus_1", "object": "customer"}}}'  # noqa: E501  (one literal event)
    assert deliver(api, payload).get_json() == {"received": True, "outcome": "ignored"}


def test_paid_amount_must_match_the_top_up(api, stripe_api):
    anna = api.register("Anna")
    pending = top_up(api, anna, 2_500)
    cheaper = payment_intent_event("payment_intent.succeeded", pending["provider_reference"], 500)
    assert deliver(api, cheaper).get_json()["outcome"] == "amount_mismatch"
    other_currency = succeeded(pending, currency="usd")
    assert deliver(api, other_currency).get_json()["outcome"] == "amount_mismatch"
    assert balance(api, anna) == 0
    assert deliver(api, succeeded(pending)).get_json()["outcome"] == "succeeded"
    assert balance(api, anna) == 2_500


def test_payment_that_would_overfill_the_wallet_is_not_credited(api, stripe_api):
    # Two pending top-ups each fit, but not both: the second to be paid cannot be
    # credited and waits for a refund to the card.
    anna = api.register("Anna")
    first = top_up(api, anna, 25_000)
    second = top_up(api, anna, 25_000)
    third = top_up(api, anna, 20_000)
    assert deliver(api, succeeded(first)).get_json()["outcome"] == "succeeded"
    assert deliver(api, succeeded(third)).get_json()["outcome"] == "succeeded"
    assert deliver(api, succeeded(second)).get_json()["outcome"] == "refund_due"
    assert balance(api, anna) == 45_000
    shown = api.get(f"/v1/wallet/top-ups/{second['id']}", as_=anna).get_json()
    assert shown["status"] == "refund_due"
    assert shown["failure_reason"] == "balance_limit_exceeded"
    assert shown["transaction_id"] is None
    # Creating a top-up checks the balance that is there now.
    problem(
        api.post("/v1/wallet/top-ups", {"amount": 5_001}, as_=anna, idem=True),
        422,
        "balance_limit_exceeded",
    )


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "garbage",
        "t=123",
        "sign-with-wrong-secret",
        "stale",
        "tampered",
    ],
)
def test_bad_signatures_are_400_and_change_nothing(api, stripe_api, signature):
    anna = api.register("Anna")
    pending = top_up(api, anna, 2_500)
    event = succeeded(pending)
    header = {
        "sign-with-wrong-secret": stripe_signature(event, secret="whsec_wrong"),
        "stale": stripe_signature(event, timestamp=int(time.time()) - 301),
        "tampered": stripe_signature(event.replace("2500", "25000")),
    }.get(signature, signature)
    response = deliver(api, event, signature=header)
    problem(response, 400, "webhook_signature_invalid")
    assert balance(api, anna) == 0
    # The genuine event still works afterwards: nothing was recorded for the bad ones.
    assert deliver(api, event).get_json()["outcome"] == "succeeded"


def test_signature_inside_the_tolerance_is_accepted(api, stripe_api):
    anna = api.register("Anna")
    pending = top_up(api, anna, 2_500)
    event = succeeded(pending)
    late = stripe_signature(event, timestamp=int(time.time()) - 240)
    assert deliver(api, event, signature=late).get_json()["outcome"] == "succeeded"


def test_without_a_webhook_secret_nothing_verifies(api, app, stripe_api, monkeypatch):
    anna = api.register("Anna")
    pending = top_up(api, anna, 2_500)
    monkeypatch.setitem(app.config, "WALLET_STRIPE_WEBHOOK_SECRET", None)
    problem(deliver(api, succeeded(pending)), 400, "webhook_signature_invalid")
    assert balance(api, anna) == 0


def test_unsigned_garbage_body_is_400(api, stripe_api):
    problem(deliver(api, "{not json", signature="t=1,v1=00"), 400, "webhook_signature_invalid")


def test_signed_non_json_is_400(api, stripe_api):
    problem(deliver(api, "{not json"), 400, "webhook_signature_invalid")


def test_unknown_provider_webhook_is_404(api):
    problem(api.post("/v1/webhooks/payments/paypal", {"id": "x"}), 404, "unknown_payment_provider")
    problem(api.post("/v1/webhooks/payments/sandbox", {"id": "x"}), 404, "unknown_payment_provider")
