"""A realistic menu for the demo: real bean origins, milks, syrups, sizes S/M/L."""

from __future__ import annotations

from sqlalchemy import select

from wallet_api.catalog.models import (
    Ingredient,
    IngredientKind,
    IngredientPrice,
    Product,
    ProductPrice,
    Size,
)
from wallet_api.extensions import db

PRODUCTS = [
    # name, category, description, (S, M, L) in cents
    ("Espresso", "coffee", "A double shot of our house blend", (220, 260, 300)),
    ("Americano", "coffee", "Espresso lengthened with hot water", (280, 320, 360)),
    ("Cappuccino", "coffee", "Espresso, steamed milk and a thick layer of foam", (330, 370, 410)),
    ("Flat White", "coffee", "A double ristretto with velvety microfoam", (350, 390, 430)),
    ("Caffè Latte", "coffee", "Espresso with plenty of steamed milk", (340, 380, 420)),
    ("Filter Coffee", "coffee", "Batch brew of the bean of the week", (250, 290, 330)),
    ("Cold Brew", "coffee", "Steeped for 18 hours, served over ice", (360, 400, 440)),
    ("Chai Latte", "tea", "Spiced black tea with steamed milk", (340, 380, 420)),
    ("Hot Chocolate", "chocolate", "Belgian chocolate and steamed milk", (320, 360, 400)),
]

INGREDIENTS = [
    # kind, name, price delta (cents), origin
    (IngredientKind.BEAN, "Yirgacheffe", 60, "Ethiopia"),
    (IngredientKind.BEAN, "Huila", 40, "Colombia"),
    (IngredientKind.BEAN, "Cerrado Mineiro", 20, "Brazil"),
    (IngredientKind.BEAN, "Antigua", 50, "Guatemala"),
    (IngredientKind.BEAN, "Kirinyaga AA", 80, "Kenya"),
    (IngredientKind.BEAN, "Sumatra Mandheling", 60, "Indonesia"),
    # A base's delta is its price per shot (for filter and cold brew: per strength step).
    (IngredientKind.BASE, "Espresso", 60, None),
    (IngredientKind.BASE, "Ristretto", 60, None),
    (IngredientKind.BASE, "Filter", 30, None),
    (IngredientKind.BASE, "Cold Brew", 50, None),
    (IngredientKind.MILK, "Whole milk", 0, None),
    (IngredientKind.MILK, "Skimmed milk", 0, None),
    (IngredientKind.MILK, "Oat milk", 50, None),
    (IngredientKind.MILK, "Almond milk", 50, None),
    (IngredientKind.MILK, "Soy milk", 40, None),
    (IngredientKind.SYRUP, "Vanilla", 30, None),
    (IngredientKind.SYRUP, "Caramel", 30, None),
    (IngredientKind.SYRUP, "Hazelnut", 30, None),
    (IngredientKind.SYRUP, "Cinnamon", 30, None),
    (IngredientKind.TOPPING, "Cocoa dusting", 0, None),
    (IngredientKind.TOPPING, "Whipped cream", 50, None),
    (IngredientKind.TOPPING, "Caramel drizzle", 40, None),
    (IngredientKind.EXTRA, "Extra shot", 60, None),
    (IngredientKind.EXTRA, "Decaf", 0, None),
]


# The cup of a blend per size (S, M, L) in cents, before shots and other ingredients.
BASE_PRICES = {
    "Espresso": (180, 220, 260),
    "Ristretto": (180, 220, 260),
    "Filter": (200, 240, 280),
    "Cold Brew": (260, 300, 340),
}


def seed_menu() -> None:
    existing = set(db.session.scalars(select(Product.name)))
    for name, category, description, prices in PRODUCTS:
        if name in existing:
            continue
        db.session.add(
            Product(
                name=name,
                category=category,
                description=description,
                prices=[
                    ProductPrice(size=size, price=price)
                    for size, price in zip(Size, prices, strict=True)
                ],
            )
        )
    known = {(k, n) for k, n in db.session.execute(select(Ingredient.kind, Ingredient.name))}
    for kind, name, delta, origin in INGREDIENTS:
        if (kind, name) not in known:
            cup_prices = [
                IngredientPrice(size=size, price=price)
                for size, price in zip(Size, BASE_PRICES.get(name, ()), strict=False)
            ]
            db.session.add(
                Ingredient(
                    kind=kind, name=name, price_delta=delta, origin=origin, prices=cup_prices
                )
            )
    db.session.flush()
