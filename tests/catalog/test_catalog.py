"""The menu, as admins keep it and the app reads it."""

from __future__ import annotations

import uuid

import pytest

from tests.support.api import problem
from tests.support.catalog import add_ingredient, add_product


def test_admin_builds_the_menu_and_anyone_reads_it(api):
    ada = api.admin()
    flat_white = add_product(api, ada, description="Double ristretto, microfoam")
    oat = add_ingredient(api, ada, "milk", "Oat milk", 50)
    bean = add_ingredient(api, ada, "bean", "Yirgacheffe", 60, origin="Ethiopia")

    menu = api.get("/v1/catalog")
    assert menu.status_code == 200
    body = menu.get_json()
    assert body["currency"] == "EUR"
    assert body["sizes"] == ["S", "M", "L"]
    assert [p["name"] for p in body["products"]] == ["Flat White"]
    assert body["products"][0]["prices"] == flat_white["prices"]
    assert {i["id"] for i in body["ingredients"]} == {oat["id"], bean["id"]}
    assert next(i for i in body["ingredients"] if i["id"] == bean["id"])["origin"] == "Ethiopia"


def test_hiding_takes_items_off_the_menu_but_keeps_them(api):
    ada = api.admin()
    product = add_product(api, ada)
    syrup = add_ingredient(api, ada, "syrup", "Vanilla", 30)
    assert api.delete(f"/v1/catalog/products/{product['id']}", as_=ada).status_code == 204
    assert api.delete(f"/v1/catalog/ingredients/{syrup['id']}", as_=ada).status_code == 204
    body = api.get("/v1/catalog").get_json()
    assert body["products"] == []
    assert body["ingredients"] == []
    # Hidden, not gone: an admin can bring it back.
    back = api.patch(f"/v1/catalog/products/{product['id']}", {"is_available": True}, as_=ada)
    assert back.status_code == 200
    assert [p["id"] for p in api.get("/v1/catalog").get_json()["products"]] == [product["id"]]


def test_admin_changes_prices(api):
    ada = api.admin()
    product = add_product(api, ada)
    response = api.patch(
        f"/v1/catalog/products/{product['id']}",
        {"prices": [{"size": "M", "price": 400}]},
        as_=ada,
    )
    assert response.status_code == 200
    assert response.get_json()["prices"] == [{"size": "M", "price": 400}]


def test_duplicate_names_are_409(api):
    ada = api.admin()
    add_product(api, ada, "Cortado")
    problem(
        api.post(
            "/v1/catalog/products",
            {"name": "Cortado", "prices": [{"size": "S", "price": 300}]},
            as_=ada,
        ),
        409,
        "name_taken",
    )
    add_ingredient(api, ada, "milk", "Oat milk")
    problem(
        api.post("/v1/catalog/ingredients", {"kind": "milk", "name": "Oat milk"}, as_=ada),
        409,
        "name_taken",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "prices": []}, "prices"),
        ({"name": "X", "prices": [{"size": "XL", "price": 300}]}, "prices"),
        ({"name": "X", "prices": [{"size": "S", "price": 0}]}, "prices"),
        ({"name": "X", "prices": [{"size": "S", "price": 1}, {"size": "S", "price": 2}]}, "prices"),
        ({"prices": [{"size": "S", "price": 300}]}, "name"),
        ({"name": "X", "prices": [{"size": "S", "price": 2.5}]}, "prices"),
    ],
)
def test_invalid_products_are_422(api, body, field):
    ada = api.admin()
    response = api.post("/v1/catalog/products", body, as_=ada)
    assert field in problem(response, 422, "validation_error")["errors"]


def test_invalid_ingredient_kind_is_422(api):
    ada = api.admin()
    response = api.post("/v1/catalog/ingredients", {"kind": "sprinkles", "name": "X"}, as_=ada)
    assert "kind" in problem(response, 422, "validation_error")["errors"]


def test_customers_cannot_change_the_menu(api):
    anna = api.register("Anna")
    problem(
        api.post("/v1/catalog/products", {"name": "X", "prices": []}, as_=anna), 403, "forbidden"
    )
    problem(api.post("/v1/catalog/ingredients", {}, as_=anna), 403, "forbidden")


def test_unknown_items_are_404(api):
    ada = api.admin()
    missing = uuid.uuid4()
    problem(
        api.patch(f"/v1/catalog/products/{missing}", {"name": "Y"}, as_=ada),
        404,
        "product_not_found",
    )
    problem(api.delete(f"/v1/catalog/ingredients/{missing}", as_=ada), 404, "ingredient_not_found")


def test_price_lines_prices_standard_drinks_per_size(api, app):
    from wallet_api.catalog.errors import ItemUnavailable, SizeUnavailable
    from wallet_api.catalog.service import price_lines

    ada = api.admin()
    latte = add_product(
        api, ada, "Latte", prices=[{"size": "S", "price": 340}, {"size": "L", "price": 420}]
    )
    with app.app_context():
        lines = price_lines(
            [
                {"product_id": uuid.UUID(latte["id"]), "size": "L", "quantity": 2},
                {"product_id": uuid.UUID(latte["id"]), "size": "S"},
            ],
            viewer_id=None,
        )
        assert [(line.unit_price, line.total) for line in lines] == [(420, 840), (340, 340)]
        assert lines[0].receipt()["name"] == "Latte"
        with pytest.raises(SizeUnavailable):
            price_lines([{"product_id": uuid.UUID(latte["id"]), "size": "M"}], viewer_id=None)
        with pytest.raises(ItemUnavailable):
            price_lines([{"product_id": uuid.uuid4(), "size": "M"}], viewer_id=None)


def test_seed_demo_loads_a_realistic_menu_once(app):
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["seed-demo"])
        assert result.exit_code == 0, result.output
    with app.app_context():
        from wallet_api.catalog.service import list_ingredients, list_products

        products = list_products()
        ingredients = list_ingredients()
    assert len(products) == 9
    assert {"Cappuccino", "Flat White", "Cold Brew"} <= {p.name for p in products}
    assert all(len(p.prices) == 3 for p in products)
    origins = {i.origin for i in ingredients if i.kind == "bean"}
    assert {"Ethiopia", "Colombia", "Kenya"} <= origins
