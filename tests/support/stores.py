"""Stores, scanners, funded wallets and pay codes for tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from flask import Flask

from tests.support.api import ApiClient, Person


@dataclass
class Scanner:
    """A device of a store, signed in: pass it as ``as_=scanner.token``."""

    store_id: str
    device_id: str
    secret: str
    token: str


def add_store(api: ApiClient, admin: Person, name: str = "Amsterdam Centraal", **extra: Any):
    body = {"name": name, "address": "Stationsplein 1", "timezone": "Europe/Amsterdam", **extra}
    response = api.post("/v1/stores", body, as_=admin)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def add_scanner(api: ApiClient, admin: Person, store_id: str, name: str = "Till 1") -> Scanner:
    created = api.post(f"/v1/stores/{store_id}/devices", {"name": name}, as_=admin)
    assert created.status_code == 201, created.get_json()
    device = created.get_json()
    token = device_token(api, device["device_id"], device["device_secret"])
    return Scanner(store_id, device["device_id"], device["device_secret"], token)


def device_token(api: ApiClient, device_id: str, secret: str) -> str:
    response = api.post("/v1/auth/device-token", {"device_id": device_id, "device_secret": secret})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"]


def add_staff(api: ApiClient, admin: Person, store_id: str, person: Person) -> None:
    response = api.post(f"/v1/stores/{store_id}/staff", {"user_id": person.id}, as_=admin)
    assert response.status_code == 201, response.get_json()


def fund(api: ApiClient, person: Person, amount: int) -> None:
    """Credit a wallet as a completed top-up would: from the top-up clearing account."""
    credit_wallet(api.client.application, person, amount)


def credit_wallet(app: Flask, person: Person, amount: int) -> None:
    """``fund`` for tests that hold the app rather than the API client."""
    with app.app_context():
        from wallet_api.extensions import db
        from wallet_api.ledger import service as ledger
        from wallet_api.ledger.models import AccountKind

        ledger.transfer(
            "top_up",
            ledger.system_account(AccountKind.TOPUP_CLEARING),
            ledger.wallet_account(uuid.UUID(person.id)),
            amount,
            meta={"test": "funded"},
        )
        db.session.commit()


def balance(api: ApiClient, person: Person) -> int:
    with api.client.application.app_context():
        from wallet_api.ledger import service as ledger

        return ledger.balance_of(ledger.wallet_account(uuid.UUID(person.id)))


def pay_code(api: ApiClient, person: Person) -> dict:
    response = api.post("/v1/wallet/pay-codes", as_=person)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def charge(api: ApiClient, scanner: Scanner | Person, code: str, **body: Any):
    auth = scanner.token if isinstance(scanner, Scanner) else scanner
    return api.post("/v1/charges", {"code": code, **body}, as_=auth, idem=True)


def refund(api: ApiClient, actor: Scanner | Person, charge_id: str, amount: int, reason: str):
    """``POST /v1/charges/{id}/refunds`` by a till (or staff), with a fresh Idempotency-Key."""
    auth = actor.token if isinstance(actor, Scanner) else actor
    body = {"amount": amount, "reason": reason}
    return api.post(f"/v1/charges/{charge_id}/refunds", body, as_=auth, idem=True)


@dataclass
class Counter:
    """A store with a scanner, its admin and a funded customer: the usual test scene."""

    admin: Person
    store: dict
    scanner: Scanner
    anna: Person


def counter_scene(api: ApiClient, funds: int = 2000) -> Counter:
    admin = api.admin()
    store = add_store(api, admin)
    scanner = add_scanner(api, admin, store["id"])
    anna = api.register("Anna")
    if funds:
        fund(api, anna, funds)
    return Counter(admin, store, scanner, anna)


def sign_in_again(api: ApiClient, *people: Person | Scanner) -> None:
    """Fresh tokens after the test clock moved past their expiry."""
    from tests.support.api import PASSWORD

    for who in people:
        if isinstance(who, Scanner):
            who.token = device_token(api, who.device_id, who.secret)
            continue
        response = api.post("/v1/auth/login", {"email": who.email, "password": PASSWORD})
        assert response.status_code == 200, response.get_json()
        who.access_token = response.get_json()["access_token"]
