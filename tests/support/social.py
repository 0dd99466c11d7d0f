"""Helpers for friends, notifications and transfers tests."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask
from werkzeug.test import TestResponse

from tests.support.api import ApiClient, Person
from tests.support.stores import credit_wallet


def befriend(api: ApiClient, a: Person, b: Person) -> None:
    """``a`` asks ``b`` by handle and ``b`` accepts."""
    sent = api.post("/v1/friend-requests", {"handle": b.handle}, as_=a)
    assert sent.status_code == 201, sent.get_json()
    accepted = api.post(f"/v1/friend-requests/{sent.get_json()['id']}/accept", as_=b)
    assert accepted.status_code == 200, accepted.get_json()


def sign_in_again(api: ApiClient, *people: Person) -> None:
    """New access tokens, after a test moved the clock past their expiry."""
    for person in people:
        response = api.post("/v1/auth/refresh", {"refresh_token": person.refresh_token})
        assert response.status_code == 200, response.get_json()
        person.access_token = response.get_json()["access_token"]
        person.refresh_token = response.get_json()["refresh_token"]


def fund(app: Flask, person: Person, amount: int) -> None:
    """Credit ``person``'s wallet from top-up clearing, as a settled top-up would."""
    credit_wallet(app, person, amount)


def balance(app: Flask, person: Person) -> int:
    from wallet_api.ledger import service as ledger

    with app.app_context():
        return ledger.balance_of(ledger.wallet_account(uuid.UUID(person.id)))


def inbox(api: ApiClient, person: Person, **query: Any) -> dict[str, Any]:
    response = api.get("/v1/notifications", as_=person, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def box(api: ApiClient, person: Person, which: str) -> list[dict[str, Any]]:
    response = api.get("/v1/friend-requests", as_=person, query_string={"box": which})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def in_parallel(app: Flask, calls: list[Callable[[ApiClient], TestResponse]]) -> list[TestResponse]:
    """Run each call on its own thread and test client, all released at once."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[ApiClient], TestResponse]) -> TestResponse:
        client = ApiClient(app.test_client())
        start.wait()
        return call(client)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))
