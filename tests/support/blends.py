"""A small menu and blends for tests, made through the API as clients would."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.api import ApiClient, Person
from tests.support.catalog import add_ingredient
from tests.support.stores import Scanner, charge, fund, pay_code


def prices(**by_size: int) -> list[dict[str, Any]]:
    return [{"size": size, "price": price} for size, price in by_size.items()]


# kind, name, price delta, extra fields
MENU = [
    ("base", "Espresso", 60, {"prices": prices(S=180, M=220, L=260)}),
    ("base", "Cold Brew", 50, {"prices": prices(M=300, L=340)}),
    ("bean", "Yirgacheffe", 60, {"origin": "Ethiopia"}),
    ("bean", "Huila", 40, {"origin": "Colombia"}),
    ("bean", "Cerrado", 20, {"origin": "Brazil"}),
    ("bean", "Antigua", 45, {"origin": "Guatemala"}),
    ("milk", "Oat milk", 50, {}),
    ("milk", "Whole milk", 0, {}),
    ("syrup", "Vanilla", 30, {}),
    ("syrup", "Caramel", 35, {}),
    ("syrup", "Hazelnut", 30, {}),
    ("syrup", "Cinnamon", 30, {}),
    ("topping", "Whipped cream", 50, {}),
    ("topping", "Cocoa", 0, {}),
    ("extra", "Decaf", 0, {}),
]


class Menu(dict[str, str]):
    """Ingredient ids by name, and the admin who keeps the menu."""

    admin: Person


def make_menu(api: ApiClient) -> Menu:
    admin = api.admin("Menu")
    menu = Menu()
    menu.admin = admin
    for kind, name, delta, extra in MENU:
        menu[name] = add_ingredient(api, admin, kind, name, delta, **extra)["id"]
    return menu


def recipe(menu: Menu, **overrides: Any) -> dict[str, Any]:
    """A valid blend body: Espresso M, 2 shots, 60/40 Yirgacheffe/Huila, oat milk,
    2 pumps of vanilla, whipped cream, decaf. Priced at 552 cents (see test_blends)."""
    body: dict[str, Any] = {
        "name": "Morning Fog",
        "base_id": menu["Espresso"],
        "size": "M",
        "shots": 2,
        "beans": [
            {"ingredient_id": menu["Yirgacheffe"], "share": 60},
            {"ingredient_id": menu["Huila"], "share": 40},
        ],
        "milk_id": menu["Oat milk"],
        "syrups": [{"ingredient_id": menu["Vanilla"], "pumps": 2}],
        "toppings": [menu["Whipped cream"]],
        "extras": [menu["Decaf"]],
        "notes": "Extra hot, please",
        "visibility": "private",
    }
    body.update(overrides)
    return body


def simple(menu: Menu, **overrides: Any) -> dict[str, Any]:
    """The plainest blend: one shot of 100% Cerrado espresso, size S (180 + 60 + 20)."""
    body: dict[str, Any] = {
        "name": "Plain",
        "base_id": menu["Espresso"],
        "size": "S",
        "beans": [{"ingredient_id": menu["Cerrado"], "share": 100}],
    }
    body.update(overrides)
    return body


def compose(api: ApiClient, person: Person, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/v1/blends", body, as_=person)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def rate(api: ApiClient, person: Person, blend: dict[str, Any], stars: int, **extra: Any):  # type: ignore[no-untyped-def]
    response = api.post(f"/v1/blends/{blend['id']}/ratings", {"stars": stars, **extra}, as_=person)
    assert response.status_code in (200, 201), response.get_json()
    return response


def order(api: ApiClient, scanner: Scanner, person: Person, *blends: dict[str, Any]) -> dict:
    """``person`` has a cup of each blend at the counter, in one charge paid by pay code:
    after it their ratings of these blends are verified."""
    fund(api, person, sum(blend["price"] for blend in blends))
    items = [{"blend_id": blend["id"]} for blend in blends]
    response = charge(api, scanner, pay_code(api, person)["code"], items=items)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def as_uuid(value: str) -> uuid.UUID:
    return uuid.UUID(value)
