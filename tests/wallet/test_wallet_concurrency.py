"""No double spend: many purchases and top-ups at once on one wallet end exact.

Every thread has its own app context, session and database transaction and commits for
real. The PostgreSQL tests use the issue's numbers (50 spenders); the SQLite variants run
fewer threads through the single-writer lock and must not corrupt anything either.
"""

from __future__ import annotations

import uuid

import pytest

from tests.support.wallet import (
    balance,
    ledger_verify_command,
    run_threads,
    spend,
    store_sales_account,
    top_up,
)


def history(api, person) -> list[dict]:
    rows, cursor = [], None
    while True:
        query = "limit=100" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(f"/v1/wallet/transactions?{query}", as_=person).get_json()
        rows.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return rows[::-1]  # oldest first


def assert_history_is_a_chain(api, person, final: int) -> None:
    """Each entry's balance_after is the one before plus its amount, never below zero."""
    running = 0
    for row in history(api, person):
        running += row["amount"]
        assert row["balance_after"] == running, row
        assert running >= 0
    assert running == final


def spend_race(app, api, *, threads: int, start: int, price: int) -> None:
    anna = api.register("Anna")
    top_up(api, anna, start)
    store = uuid.uuid4()
    store_sales_account(app, store)

    results = run_threads(threads, lambda _: spend(app, anna.id, store, price))

    affordable = min(threads, start // price)
    assert sum(results) == affordable
    assert balance(api, anna) == start - affordable * price
    assert_history_is_a_chain(api, anna, start - affordable * price)
    code, output = ledger_verify_command(app)
    assert code == 0, output


def mixed_race(app, api, *, top_ups: int, spends: int) -> None:
    anna = api.register("Anna")
    top_up(api, anna, 1_000)
    store = uuid.uuid4()
    store_sales_account(app, store)
    price, amount = 700, 1_000

    def work(i: int):
        if i < top_ups:
            client = app.test_client()
            response = client.post(
                "/v1/wallet/top-ups",
                json={"amount": amount},
                headers={**anna.headers, "Idempotency-Key": f"top-up-{i}"},
            )
            assert response.status_code == 201, response.get_json()
            return ("top_up", response.get_json()["status"] == "succeeded")
        return ("spend", spend(app, anna.id, store, price))

    results = run_threads(top_ups + spends, work)
    credited = sum(ok for kind, ok in results if kind == "top_up")
    spent = sum(ok for kind, ok in results if kind == "spend")
    assert credited == top_ups
    expected = 1_000 + credited * amount - spent * price
    assert expected >= 0
    assert balance(api, anna) == expected
    assert_history_is_a_chain(api, anna, expected)
    code, output = ledger_verify_command(app)
    assert code == 0, output


@pytest.mark.postgres_only
def test_fifty_spenders_on_one_wallet_never_overdraw_it(app, api):
    spend_race(app, api, threads=50, start=5_000, price=300)  # 16 can be paid


@pytest.mark.postgres_only
def test_concurrent_top_ups_and_spends_end_exact(app, api):
    mixed_race(app, api, top_ups=12, spends=38)


def test_spenders_on_sqlite_never_overdraw(app, api):
    spend_race(app, api, threads=8, start=2_000, price=450)  # 4 can be paid


def test_top_ups_and_spends_on_sqlite_end_exact(app, api):
    mixed_race(app, api, top_ups=3, spends=6)
