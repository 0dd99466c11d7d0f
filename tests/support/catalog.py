"""Menu items for tests, created through the admin API."""

from __future__ import annotations

from typing import Any

from tests.support.api import ApiClient, Person


def add_product(api: ApiClient, admin: Person, name: str = "Flat White", **overrides: Any) -> dict:
    body = {
        "name": name,
        "prices": [
            {"size": "S", "price": 350},
            {"size": "M", "price": 390},
            {"size": "L", "price": 430},
        ],
        **overrides,
    }
    response = api.post("/v1/catalog/products", body, as_=admin)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def add_ingredient(
    api: ApiClient, admin: Person, kind: str, name: str, price_delta: int = 0, **extra: Any
) -> dict:
    body = {"kind": kind, "name": name, "price_delta": price_delta, **extra}
    response = api.post("/v1/catalog/ingredients", body, as_=admin)
    assert response.status_code == 201, response.get_json()
    return response.get_json()
