"""A few blends for the demo: shared, rated, copied and ordered, so the top-10 shows.

The orders are real charges at the demo counter (paid from a demo top-up of their price):
only the ratings of people who had a blend rank it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from wallet_api.auth.models import User
from wallet_api.blends import service
from wallet_api.blends.models import Blend
from wallet_api.blends.schemas import BlendCreateSchema
from wallet_api.catalog.models import Ingredient
from wallet_api.extensions import db

# owner's handle, then the recipe by ingredient names
BLENDS: list[tuple[str, dict[str, Any]]] = [
    (
        "anna",
        {
            "name": "Morning Fog",
            "base": "Espresso",
            "size": "M",
            "shots": 2,
            "beans": [("Yirgacheffe", 60), ("Huila", 40)],
            "milk": "Oat milk",
            "syrups": [("Vanilla", 1)],
            "toppings": ["Cocoa dusting"],
            "notes": "Floral on top, chocolate underneath.",
            "visibility": "public",
        },
    ),
    (
        "anna",
        {
            "name": "Deadline Fuel",
            "base": "Ristretto",
            "size": "S",
            "shots": 3,
            "beans": [("Sumatra Mandheling", 100)],
            "extras": ["Extra shot"],
            "visibility": "private",
        },
    ),
    (
        "ben",
        {
            "name": "Kenyan Cold Snap",
            "base": "Cold Brew",
            "size": "L",
            "shots": 2,
            "beans": [("Kirinyaga AA", 70), ("Cerrado Mineiro", 30)],
            "syrups": [("Caramel", 2)],
            "toppings": ["Caramel drizzle"],
            "visibility": "public",
        },
    ),
    (
        "ben",
        {
            "name": "Sunday Filter",
            "base": "Filter",
            "size": "M",
            "shots": 2,
            "beans": [("Antigua", 50), ("Huila", 30), ("Cerrado Mineiro", 20)],
            "milk": "Whole milk",
            "visibility": "friends",
        },
    ),
]
# rater, owner, blend name, stars, comment
RATINGS = [
    ("ben", "anna", "Morning Fog", 5, "Tastes like spring. Ordering it again."),
    ("anna", "ben", "Kenyan Cold Snap", 4, "Great on a hot day; a little sweet for me."),
]
# who had it, owner, blend name, cups (after the ratings: the charges verify them)
ORDERS = [
    ("ben", "anna", "Morning Fog", 2),
    ("anna", "ben", "Kenyan Cold Snap", 1),
]


def _body(recipe: dict[str, Any], ingredients: dict[str, Ingredient]) -> dict[str, Any]:
    def ref(name: str) -> str:
        return str(ingredients[name].id)

    body = {
        "name": recipe["name"],
        "base_id": ref(recipe["base"]),
        "size": recipe["size"],
        "shots": recipe["shots"],
        "beans": [{"ingredient_id": ref(n), "share": s} for n, s in recipe["beans"]],
        "milk_id": ref(recipe["milk"]) if "milk" in recipe else None,
        "syrups": [{"ingredient_id": ref(n), "pumps": p} for n, p in recipe.get("syrups", [])],
        "toppings": [ref(n) for n in recipe.get("toppings", [])],
        "extras": [ref(n) for n in recipe.get("extras", [])],
        "notes": recipe.get("notes", ""),
        "visibility": recipe["visibility"],
    }
    # Through the same checks as a client's blend.
    loaded: dict[str, Any] = BlendCreateSchema().load(body)
    return loaded


# Charges ``cups`` of a blend for a person at the demo counter (``wallet_api/demo.py``:
# ordering goes through pay codes and the till, which build on blends).
Order = Callable[[User, Blend, int], None]


def seed_blends(people: dict[str, User], order: Order) -> None:
    """Needs the demo menu, store and people (by handle); adds only what is missing."""
    ingredients = {i.name: i for i in db.session.scalars(select(Ingredient))}
    existing = {
        (b.owner_id, b.name): b
        for b in db.session.scalars(select(Blend).where(Blend.deleted_at.is_(None)))
    }
    blends: dict[tuple[str, str], Blend] = {}
    new: set[tuple[str, str]] = set()
    for handle, recipe in BLENDS:
        person = people[handle]
        blend = existing.get((person.id, recipe["name"]))
        if blend is None:
            blend = service.create_blend(person.id, _body(recipe, ingredients))
            new.add((handle, recipe["name"]))
        blends[handle, recipe["name"]] = blend
    for rater, owner, name, stars, comment in RATINGS:
        if (owner, name) in new:
            service.rate_blend(blends[owner, name].id, people[rater].id, stars, comment)
    if ("anna", "Morning Fog") in new:
        morning_fog = blends["anna", "Morning Fog"]
        service.copy_blend(morning_fog.id, people["ben"].id, name="Anna's Morning Fog")
    for drinker, owner, name, cups in ORDERS:
        if (owner, name) in new:
            order(people[drinker], blends[owner, name], cups)
