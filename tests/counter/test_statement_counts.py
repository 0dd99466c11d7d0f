"""What the counter's and the wallet's busiest requests send to PostgreSQL, pinned.

Each test makes one request of a kind once to warm the process (account ids, compiled
statements), then counts a second one at the driver (``tests/support/statements.py``) and
asserts the exact number of statements plus commits. A change that adds a round trip
fails here with the list of what was sent; a change that saves one lowers the number.
"""

from __future__ import annotations

import pytest

from tests.support.catalog import add_product
from tests.support.gifts import drink as gift_drink
from tests.support.gifts import gift_code, gift_scene, given, redeem
from tests.support.loyalty import add_offer, order
from tests.support.social import befriend
from tests.support.social import fund as fund_wallet
from tests.support.statements import Sent, counting_statements
from tests.support.stores import charge, counter_scene, pay_code

pytestmark = pytest.mark.postgres_only


def _pinned(sent: Sent, expected: int) -> None:
    assert sent.total == expected, f"expected {expected}, sent {sent.total}\n{sent.describe()}"


def test_a_pay_charge_with_an_offer_and_points(api, monkeypatch):
    scene = counter_scene(api, funds=5_000)
    flat_white = add_product(api, scene.admin)
    add_offer(api, scene.admin, "Autumn", value=10)
    warm = charge(api, scene.scanner, pay_code(api, scene.anna)["code"], items=order(flat_white))
    assert warm.status_code == 201, warm.get_json()
    code = pay_code(api, scene.anna)["code"]
    with counting_statements(monkeypatch) as sent:
        response = charge(api, scene.scanner, code, items=order(flat_white))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["charge"]["discount"] == 39
    assert response.get_json()["charge"]["points_earned"] > 0
    _pinned(sent, 20)


def test_a_scan(api, monkeypatch):
    scene = counter_scene(api, funds=5_000)
    code = pay_code(api, scene.anna)["code"]
    body = {"code": code, "amount": 390}
    assert api.post("/v1/scans", body, as_=scene.scanner.token).status_code == 200
    with counting_statements(monkeypatch) as sent:
        response = api.post("/v1/scans", body, as_=scene.scanner.token)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["balance_covers"] is True
    _pinned(sent, 6)


def test_a_top_up(api, monkeypatch):
    anna = api.register("Anna")
    assert api.post("/v1/wallet/top-ups", {"amount": 1_000}, as_=anna, idem=True).status_code == 201
    with counting_statements(monkeypatch) as sent:
        response = api.post("/v1/wallet/top-ups", {"amount": 1_000}, as_=anna, idem=True)
    assert response.status_code == 201, response.get_json()
    _pinned(sent, 16)


def test_a_transfer(api, app, monkeypatch):
    anna, ben = api.register("Anna"), api.register("Ben")
    befriend(api, anna, ben)
    fund_wallet(app, anna, 5_000)
    body = {"to": ben.id, "amount": 100, "message": "coffee"}
    assert api.post("/v1/wallet/transfers", body, as_=anna, idem=True).status_code == 201
    with counting_statements(monkeypatch) as sent:
        response = api.post("/v1/wallet/transfers", body, as_=anna, idem=True)
    assert response.status_code == 201, response.get_json()
    _pinned(sent, 13)


def test_a_gift_redeemed_at_the_till(api, monkeypatch):
    scene = gift_scene(api)
    codes = []
    for _ in range(2):
        gift = given(api, scene.anna, handle=scene.ben.handle, item=gift_drink(scene.flat_white))
        codes.append(gift_code(api, scene.ben, gift["id"]))
    assert redeem(api, scene.scanner, codes[0]).status_code == 201
    with counting_statements(monkeypatch) as sent:
        response = redeem(api, scene.scanner, codes[1])
    assert response.status_code == 201, response.get_json()
    _pinned(sent, 19)
