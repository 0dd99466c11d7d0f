"""Loyalty test helpers: the hooks the charging code will call, called here directly.

Each hook runs in its own app context and commits, as the request that will call it does.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import Flask

from tests.support.api import PASSWORD, ApiClient, Person

T = TypeVar("T")

STORE = uuid.UUID("00000000-0000-4000-8000-00000000a001")
OTHER_STORE = uuid.UUID("00000000-0000-4000-8000-00000000a002")
START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def uid(person: Person | str) -> uuid.UUID:
    return uuid.UUID(person.id if isinstance(person, Person) else person)


def hook(app: Flask, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one service call as a request would: in its own transaction, committed."""
    from wallet_api.extensions import db

    with app.app_context():
        try:
            result = call(*args, **kwargs)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        return result


def service():  # type: ignore[no-untyped-def]
    from wallet_api.loyalty import service

    return service


def charge(
    app: Flask,
    person: Person,
    cents: int,
    *,
    at: datetime | None = None,
    store_id: uuid.UUID | None = STORE,
    charge_id: uuid.UUID | None = None,
    offer_bonus_points: int = 0,
) -> tuple[uuid.UUID, int]:
    """A paid charge as the charging code reports it; returns (charge id, points earned)."""
    from wallet_api.clock import utcnow

    charge_id = charge_id or uuid.uuid4()
    points = hook(
        app,
        service().award_points_for_charge,
        uid(person),
        charge_id=charge_id,
        amount_cents=cents,
        store_id=store_id,
        at=at or utcnow(),
        offer_bonus_points=offer_bonus_points,
    )
    return charge_id, points


def points_of(app: Flask, person: Person) -> int:
    return hook(app, service().points_balance, uid(person))


def wallet_of(app: Flask, person: Person) -> int:
    from wallet_api.ledger import service as ledger

    return hook(app, lambda: ledger.balance_of(ledger.wallet_account(uid(person))))


def inbox(api: ApiClient, person: Person) -> list[tuple[str, str, str]]:
    """The person's inbox as the app reads it (GET /v1/notifications): (kind, title,
    body), oldest first. Signs in again first, as the clock may have moved."""
    sign_in_again(api, person)
    items: list[dict[str, Any]] = []
    query: dict[str, Any] = {"limit": 100}
    while True:
        response = api.get("/v1/notifications", as_=person, query_string=query)
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        items += page["items"]
        if not page["next_cursor"]:
            break
        query["cursor"] = page["next_cursor"]
    return [(n["kind"], n["title"], n["body"]) for n in reversed(items)]


def audit_tags(app: Flask, person: Person) -> list[str]:
    from wallet_api.audit.service import list_events

    return hook(
        app,
        lambda: [
            e.tag
            for e in reversed(
                list_events(tag=None, subject=f"user:{person.id}", limit=100, cursor=None)["items"]
            )
        ],
    )


def sign_in_again(api: ApiClient, person: Person) -> Person:
    """Access tokens live 15 minutes of the (frozen) clock; after a jump, sign in again."""
    response = api.post("/v1/auth/login", {"email": person.email, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    person.access_token = response.get_json()["access_token"]
    return person


def add_reward(api: ApiClient, admin: Person, name: str = "Free drink", **overrides: Any) -> dict:
    body = {"name": name, "points_cost": 500, "description": "Any drink, any size", **overrides}
    response = api.post("/v1/loyalty/rewards", body, as_=admin)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def offer_body(title: str = "Autumn treat", **overrides: Any) -> dict:
    from wallet_api.clock import utcnow

    now = utcnow()
    return {
        "title": title,
        "kind": "percentage",
        "value": 10,
        "starts_at": now.replace(year=now.year - 1).isoformat(),
        "ends_at": now.replace(year=now.year + 1).isoformat(),
        **overrides,
    }


def add_offer(api: ApiClient, admin: Person, title: str = "Autumn treat", **overrides: Any) -> dict:
    response = api.post("/v1/offers", offer_body(title, **overrides), as_=admin)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def race(workers: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in threads released together; their results or exceptions."""
    barrier = threading.Barrier(workers)
    results: list[Any] = [None] * workers

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def post_from_many(
    app: Flask, person: Person, path: str, body: Callable[[int], Any], workers: int
) -> list[int]:
    """The same person POSTs from ``workers`` tills or phones at once; the status codes."""

    def post(i: int) -> int:
        headers = {**person.headers, "Idempotency-Key": f"till-{i}"}
        return app.test_client().post(path, json=body(i), headers=headers).status_code

    return sorted(race(workers, post))


# --- at the counter: loyalty through the charges API --------------------------------------


def order(product: dict, size: str = "M", quantity: int = 1) -> list[dict[str, Any]]:
    return [{"product_id": product["id"], "size": size, "quantity": quantity}]


def pay(api: ApiClient, scene: Any, items: list[dict[str, Any]] | None = None, **body: Any):
    """``scene.anna`` pays at ``scene.scanner`` with a fresh pay code; the response."""
    from tests.support.stores import charge, pay_code

    code = pay_code(api, scene.anna)["code"]
    if items is not None:
        body["items"] = items
    return charge(api, scene.scanner, code, **body)


def paid(api: ApiClient, scene: Any, items: list[dict[str, Any]] | None = None, **body: Any):
    """As :func:`pay`, expecting success: the charge (the receipt)."""
    response = pay(api, scene, items, **body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["charge"]


def reward_code(api: ApiClient, person: Person, reward: dict) -> str:
    """Spend ``person``'s points on ``reward``; the code to show at the till."""
    response = api.post(f"/v1/loyalty/rewards/{reward['id']}/redeem", as_=person, idem=True)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["code"]


def rate(
    api: ApiClient, person: Person, charge_id: str, stars: Any, idem: bool | str = True, **body: Any
):
    return api.post(
        f"/v1/charges/{charge_id}/feedback", {"stars": stars, **body}, as_=person, idem=idem
    )
