"""Gifts and allowances for tests: a store with a scanner, Anna with credit, her friend Ben."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

import pytest
import zxingcpp
from flask import Flask
from PIL import Image
from werkzeug.test import TestResponse

from tests.support.api import ApiClient, Person
from tests.support.catalog import add_product
from tests.support.social import befriend
from tests.support.stores import Scanner, counter_scene

GIFT_CODE = re.compile(r"^G[A-Z2-7]{24}$")
MORNING = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)  # 08:30 in Amsterdam


@dataclass
class GiftScene:
    admin: Person
    store: dict
    scanner: Scanner
    anna: Person  # funded
    ben: Person  # Anna's friend, no credit
    flat_white: dict  # S 350, M 390, L 430


def gift_scene(api: ApiClient, funds: int = 5_000) -> GiftScene:
    counter = counter_scene(api, funds=funds)
    ben = api.register("Ben")
    befriend(api, counter.anna, ben)
    flat_white = add_product(api, counter.admin, "Flat White")
    return GiftScene(counter.admin, counter.store, counter.scanner, counter.anna, ben, flat_white)


@pytest.fixture
def frozen():
    """The service clock, frozen on a Monday morning in Amsterdam."""
    from wallet_api.clock import clock

    clock.freeze(MORNING)
    return clock


@pytest.fixture
def scene(api, frozen):  # type: ignore[no-untyped-def]
    return gift_scene(api)


def drink(product: dict, size: str = "M") -> dict[str, str]:
    return {"product_id": product["id"], "size": size}


def give(api: ApiClient, giver: Person, **body: Any) -> TestResponse:
    idem = body.pop("idem", True)
    return api.post("/v1/gifts", body, as_=giver, idem=idem)


def given(api: ApiClient, giver: Person, **body: Any) -> dict[str, Any]:
    response = give(api, giver, **body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def decode_qr(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(BytesIO(png)))
    assert len(results) == 1, results
    return results[0].text


def gift_code(api: ApiClient, person: Person, gift_id: str) -> str:
    """The code of a received drink, read from its QR image as a phone would show it."""
    response = api.get(f"/v1/gifts/{gift_id}/qr", as_=person)
    assert response.status_code == 200, response.get_data(as_text=True)
    code = decode_qr(response.data)
    assert GIFT_CODE.match(code), code
    return code


def token_of(claim_url: str) -> str:
    return claim_url.rsplit("/g/", 1)[1]


def page_code(api: ApiClient, claim_url: str) -> str:
    """The code in the QR on the link's web page (its inline data: PNG)."""
    html = api.get("/g/" + token_of(claim_url)).get_data(as_text=True)
    match = re.search(r'src="data:image/png;base64,([^"]+)"', html)
    assert match, html
    return decode_qr(base64.b64decode(match.group(1)))


def claim(api: ApiClient, person: Person, claim_url: str, **kwargs: Any) -> TestResponse:
    kwargs.setdefault("idem", True)
    return api.post(f"/v1/gift-claims/{token_of(claim_url)}", as_=person, **kwargs)


def redeem(api: ApiClient, scanner: Scanner, code: str, **body: Any) -> TestResponse:
    return api.post("/v1/charges", {"code": code, **body}, as_=scanner.token, idem=True)


def scan(api: ApiClient, scanner: Scanner, code: str, **body: Any) -> TestResponse:
    return api.post("/v1/scans", {"code": code, **body}, as_=scanner.token)


def act(api: ApiClient, person: Person, gift_id: str, action: str, **kwargs: Any) -> TestResponse:
    """decline / accept (money moves: with an Idempotency-Key) or thanks."""
    if action in ("decline", "accept"):
        kwargs.setdefault("idem", True)
    return api.post(f"/v1/gifts/{gift_id}/{action}", as_=person, **kwargs)


def gift_of(api: ApiClient, person: Person, gift_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/gifts/{gift_id}", as_=person)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def escrow_balance(app: Flask) -> int:
    from wallet_api.ledger import service as ledger
    from wallet_api.ledger.models import AccountKind

    with app.app_context():
        return ledger.balance_of(ledger.system_account(AccountKind.GIFT_ESCROW))


def notes(api: ApiClient, person: Person, kind: str) -> list[dict[str, Any]]:
    response = api.get("/v1/notifications", as_=person)
    assert response.status_code == 200, response.get_json()
    return [n for n in response.get_json()["items"] if n["kind"] == kind]


def expire_gifts(app: Flask) -> str:
    """Run ``wallet-api gifts expire`` and return what it printed."""
    result = app.test_cli_runner().invoke(args=["gifts", "expire"])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output
