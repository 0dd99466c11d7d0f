"""The wallet as the mobile app uses it: balance, limits, history and sandbox top-ups."""

from __future__ import annotations

import uuid

import pytest

from tests.support.api import problem
from tests.support.wallet import balance, run_threads, spend, store_sales_account, top_up


def test_new_wallet_is_empty_with_limits(api):
    anna = api.register("Anna")
    response = api.get("/v1/wallet", as_=anna)
    assert response.status_code == 200
    assert response.get_json() == {
        "balance": 0,
        "currency": "EUR",
        "limits": {"max_balance": 50_000, "min_top_up": 500, "max_top_up": 25_000},
    }


def test_wallet_needs_a_token(api):
    problem(api.get("/v1/wallet"), 401, "token_missing")
    problem(api.get("/v1/wallet/transactions"), 401, "token_missing")
    problem(api.post("/v1/wallet/top-ups", {"amount": 1000}, idem=True), 401, "token_missing")


def test_sandbox_top_up_credits_at_once(api):
    anna = api.register("Anna")
    body = top_up(api, anna, 2_000)
    assert body["status"] == "succeeded"
    assert body["provider"] == "sandbox"
    assert body["amount"] == 2_000
    assert body["currency"] == "EUR"
    assert body["client_secret"] is None
    assert body["transaction_id"]
    assert balance(api, anna) == 2_000

    shown = api.get(f"/v1/wallet/top-ups/{body['id']}", as_=anna)
    assert shown.status_code == 200
    assert shown.get_json() == body

    (row,) = api.get("/v1/wallet/transactions", as_=anna).get_json()["items"]
    assert row["id"] == body["transaction_id"]
    assert row["kind"] == "top_up"
    assert row["amount"] == 2_000
    assert row["balance_after"] == 2_000
    assert row["memo"] == "Top-up"
    assert row["counterparty"] is None
    assert row["store"] is None
    assert row["items"] == []


def test_sandbox_decline_records_a_failed_top_up_and_credits_nothing(api):
    anna = api.register("Anna")
    body = top_up(api, anna, 1313)
    assert body["status"] == "failed"
    assert body["failure_reason"] == "declined by the sandbox"
    assert body["transaction_id"] is None
    assert balance(api, anna) == 0
    assert api.get("/v1/wallet/transactions", as_=anna).get_json()["items"] == []
    shown = api.get(f"/v1/wallet/top-ups/{body['id']}", as_=anna).get_json()
    assert shown["status"] == "failed"


def test_decline_amounts_come_from_config(api, app, monkeypatch):
    monkeypatch.setitem(app.config, "WALLET_SANDBOX_DECLINE_AMOUNTS", (777_7,))
    anna = api.register("Anna")
    assert top_up(api, anna, 1313)["status"] == "succeeded"
    assert top_up(api, anna, 7777)["status"] == "failed"


@pytest.mark.parametrize(
    ("amount", "code"),
    [(499, "top_up_too_small"), (25_001, "top_up_too_large")],
)
def test_top_up_bounds(api, amount, code):
    anna = api.register("Anna")
    body = problem(
        api.post("/v1/wallet/top-ups", {"amount": amount}, as_=anna, idem=True), 422, code
    )
    assert body["detail"]
    assert balance(api, anna) == 0


def test_top_up_bounds_are_inclusive(api):
    anna = api.register("Anna")
    assert top_up(api, anna, 500)["status"] == "succeeded"
    assert top_up(api, anna, 25_000)["status"] == "succeeded"
    assert balance(api, anna) == 25_500


def test_top_up_over_the_maximum_balance_is_refused(api):
    anna = api.register("Anna")
    top_up(api, anna, 25_000)
    top_up(api, anna, 20_000)
    response = api.post("/v1/wallet/top-ups", {"amount": 5_001}, as_=anna, idem=True)
    body = problem(response, 422, "balance_limit_exceeded")
    assert body["max_balance"] == 50_000
    assert balance(api, anna) == 45_000
    assert top_up(api, anna, 5_000)["status"] == "succeeded"  # exactly full is allowed


@pytest.mark.parametrize(
    "body",
    [{}, {"amount": "1000"}, {"amount": 10.5}, {"amount": 0}, {"amount": -500}, {"amount": None}],
)
def test_top_up_amount_must_be_a_positive_integer(api, body):
    anna = api.register("Anna")
    response = api.post("/v1/wallet/top-ups", body, as_=anna, idem=True)
    assert "amount" in problem(response, 422, "validation_error")["errors"]


def test_a_stranger_cannot_see_my_top_up(api):
    anna, ben = api.register("Anna"), api.register("Ben")
    mine = top_up(api, anna, 1_000)
    problem(api.get(f"/v1/wallet/top-ups/{mine['id']}", as_=ben), 404, "top_up_not_found")
    problem(api.get(f"/v1/wallet/top-ups/{uuid.uuid4()}", as_=anna), 404, "top_up_not_found")


def test_history_is_newest_first_with_cursor_pages(api):
    anna = api.register("Anna")
    for amount in (1_000, 2_000, 3_000):
        top_up(api, anna, amount)
    first = api.get("/v1/wallet/transactions?limit=2", as_=anna).get_json()
    assert [r["amount"] for r in first["items"]] == [3_000, 2_000]
    assert [r["balance_after"] for r in first["items"]] == [6_000, 3_000]
    assert first["next_cursor"]
    second = api.get(
        f"/v1/wallet/transactions?limit=2&cursor={first['next_cursor']}", as_=anna
    ).get_json()
    assert [r["amount"] for r in second["items"]] == [1_000]
    assert second["next_cursor"] is None
    everything = api.get("/v1/wallet/transactions", as_=anna).get_json()
    assert len(everything["items"]) == 3
    assert everything["next_cursor"] is None


@pytest.mark.parametrize("query", ["cursor=not-a-cursor", "limit=0", "limit=101"])
def test_history_rejects_bad_paging(api, query):
    anna = api.register("Anna")
    problem(api.get(f"/v1/wallet/transactions?{query}", as_=anna), 422, "validation_error")


def test_history_rows_read_like_a_receipt(api, app):
    """A later domain (charges, transfers) posts with the documented meta keys."""
    anna, ben = api.register("Anna"), api.register("Ben")
    top_up(api, anna, 5_000)
    store_id = uuid.uuid4()
    store_sales_account(app, store_id)
    item = {"name": "Flat white", "size": "medium", "quantity": 2, "unit_price": 350}
    assert spend(
        app,
        anna.id,
        store_id,
        700,
        memo="Bean Central",
        meta={
            "store": {"id": str(store_id), "name": "Bean Central"},
            "items": [item],
        },
    )
    rows = api.get("/v1/wallet/transactions", as_=anna).get_json()["items"]
    assert [r["kind"] for r in rows] == ["charge", "top_up"]
    charge = rows[0]
    assert charge["amount"] == -700
    assert charge["balance_after"] == 4_300
    assert charge["store"] == {"id": str(store_id), "name": "Bean Central"}
    assert charge["counterparty"] is None  # a sale: the store says where
    assert charge["items"] == [item]
    assert charge["memo"] == "Bean Central"
    assert charge["created_at"].endswith("+00:00")
    # Ben sees none of Anna's history.
    assert api.get("/v1/wallet/transactions", as_=ben).get_json()["items"] == []


# --- Idempotency-Key, exercised through top-ups ----------------------------------------


def test_same_key_and_body_replays_and_credits_once(api):
    anna = api.register("Anna")
    first = api.post("/v1/wallet/top-ups", {"amount": 1_000}, as_=anna, idem="key-1")
    again = api.post("/v1/wallet/top-ups", {"amount": 1_000}, as_=anna, idem="key-1")
    assert first.status_code == again.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert balance(api, anna) == 1_000
    assert len(api.get("/v1/wallet/transactions", as_=anna).get_json()["items"]) == 1


def test_same_key_other_body_is_422(api):
    anna = api.register("Anna")
    top_up(api, anna, 1_000, key="key-1")
    response = api.post("/v1/wallet/top-ups", {"amount": 2_000}, as_=anna, idem="key-1")
    problem(response, 422, "idempotency_key_reused")
    assert balance(api, anna) == 1_000


def test_missing_key_is_400_and_moves_nothing(api):
    anna = api.register("Anna")
    problem(
        api.post("/v1/wallet/top-ups", {"amount": 1_000}, as_=anna), 400, "idempotency_key_missing"
    )
    problem(
        api.post(
            "/v1/wallet/top-ups", {"amount": 1_000}, as_=anna, headers={"Idempotency-Key": " "}
        ),
        400,
        "idempotency_key_missing",
    )
    assert balance(api, anna) == 0


def test_keys_are_per_person(api):
    anna, ben = api.register("Anna"), api.register("Ben")
    a = api.post("/v1/wallet/top-ups", {"amount": 1_000}, as_=anna, idem="shared")
    b = api.post("/v1/wallet/top-ups", {"amount": 1_000}, as_=ben, idem="shared")
    assert a.status_code == b.status_code == 201
    assert "Idempotent-Replayed" not in b.headers
    assert a.get_json()["id"] != b.get_json()["id"]
    assert balance(api, anna) == balance(api, ben) == 1_000


def test_a_refused_request_frees_its_key(api):
    # A 4xx commits nothing, the key included, so the corrected request may reuse it.
    anna = api.register("Anna")
    problem(
        api.post("/v1/wallet/top-ups", {"amount": 100}, as_=anna, idem="k"), 422, "top_up_too_small"
    )
    assert api.post("/v1/wallet/top-ups", {"amount": 600}, as_=anna, idem="k").status_code == 201
    assert balance(api, anna) == 600


def test_a_declined_top_up_replays_as_declined(api):
    anna = api.register("Anna")
    first = top_up(api, anna, 1313, key="k")
    again = api.post("/v1/wallet/top-ups", {"amount": 1313}, as_=anna, idem="k")
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first


def test_the_same_request_after_its_key_was_purged_is_the_same_top_up(app, api):
    # A top-up's id is derived from the principal, key and body (Stripe's idempotency key
    # is that id): a client that repeats a request days later gets that top-up again.
    from datetime import timedelta

    from wallet_api.clock import utcnow
    from wallet_api.extensions import db
    from wallet_api.extensions.idempotency import purge_expired_keys

    anna = api.register("Anna")
    first = top_up(api, anna, 1_000, key="k")
    with app.app_context():
        assert purge_expired_keys(utcnow() + timedelta(hours=49)) == 1
        db.session.commit()
    again = api.post("/v1/wallet/top-ups", {"amount": 1_000}, as_=anna, idem="k")
    assert again.status_code == 201, again.get_json()
    assert "Idempotent-Replayed" not in again.headers
    assert again.get_json() == first
    assert balance(api, anna) == 1_000


def test_racing_requests_with_one_key_credit_once(app, api):
    anna = api.register("Anna")

    def post(_: int):
        client = app.test_client()
        response = client.post(
            "/v1/wallet/top-ups",
            json={"amount": 1_500},
            headers={**anna.headers, "Idempotency-Key": "race"},
        )
        return response.status_code, response.get_json()["id"], response.headers

    results = run_threads(
        2 if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") else 6, post
    )
    assert {status for status, _, _ in results} == {201}
    assert len({top_up_id for _, top_up_id, _ in results}) == 1
    assert sum("Idempotent-Replayed" in headers for _, _, headers in results) == len(results) - 1
    assert balance(api, anna) == 1_500
