"""Custom blends: composing, the rules of a recipe, prices, who sees what, edits, deletes."""

from __future__ import annotations

import uuid

import pytest

from tests.support.api import problem
from tests.support.blends import compose, make_menu, prices, rate, recipe, simple


@pytest.fixture
def menu(api):
    return make_menu(api)


def test_customer_composes_a_blend_and_the_server_prices_it(api, menu):
    anna = api.register("Anna")
    blend = compose(api, anna, recipe(menu))

    # 220 cup (M) + 2 shots x 60 + beans (60 x 60% + 40 x 40% = 52) + oat 50
    # + vanilla 2 pumps x 30 + whipped cream 50 + decaf 0
    assert blend["price"] == 552
    assert blend["currency"] == "EUR"
    assert blend["prices"] == [
        {"size": "S", "price": 512},
        {"size": "M", "price": 552},
        {"size": "L", "price": 592},
    ]
    assert blend["orderable"] is True
    assert blend["creator"] == {"id": anna.id, "handle": anna.handle, "display_name": "Anna"}
    assert blend["base"]["name"] == "Espresso"
    assert [(b["name"], b["origin"], b["share"]) for b in blend["beans"]] == [
        ("Yirgacheffe", "Ethiopia", 60),
        ("Huila", "Colombia", 40),
    ]
    assert blend["milk"]["name"] == "Oat milk"
    assert [(s["name"], s["pumps"]) for s in blend["syrups"]] == [("Vanilla", 2)]
    assert [t["name"] for t in blend["toppings"]] == ["Whipped cream"]
    assert [e["name"] for e in blend["extras"]] == ["Decaf"]
    assert blend["visibility"] == "private"
    assert blend["rating"] == {"average": None, "count": 0}
    assert blend["my_rating"] is None
    assert (blend["orders_count"], blend["copies_count"], blend["enjoyed_by"]) == (0, 0, 0)
    assert blend["copied_from_id"] is None
    assert blend["original_creator"] is None

    assert api.get(f"/v1/blends/{blend['id']}", as_=anna).get_json() == blend


def test_a_minimal_blend_takes_the_defaults(api, menu):
    anna = api.register("Anna")
    blend = compose(api, anna, simple(menu))
    # 180 cup (S) + 1 shot x 60 + Cerrado 20
    assert blend["price"] == 260
    assert blend["shots"] == 1
    assert blend["milk"] is None
    assert blend["syrups"] == blend["toppings"] == blend["extras"] == []
    assert blend["notes"] == ""
    assert blend["visibility"] == "private"


@pytest.mark.parametrize(
    ("beans", "bean_cents"),
    [
        # 45 x 50% + 40 x 50% = 42.5 -> 43 (half up)
        ([("Antigua", 50), ("Huila", 50)], 43),
        # 60 x 33% + 40 x 33% + 20 x 34% = 39.8 -> 40
        ([("Yirgacheffe", 33), ("Huila", 33), ("Cerrado", 34)], 40),
        ([("Yirgacheffe", 100)], 60),
    ],
)
def test_beans_cost_their_delta_by_share(api, menu, beans, bean_cents):
    anna = api.register("Anna")
    body = simple(menu, beans=[{"ingredient_id": menu[n], "share": s} for n, s in beans])
    assert compose(api, anna, body)["price"] == 180 + 60 + bean_cents


def test_shots_and_pumps_are_priced_per_unit(api, menu):
    anna = api.register("Anna")
    body = simple(
        menu,
        size="L",
        shots=4,
        syrups=[
            {"ingredient_id": menu["Caramel"], "pumps": 3},
            {"ingredient_id": menu["Vanilla"], "pumps": 1},
        ],
    )
    # 260 cup (L) + 4 x 60 + Cerrado 20 + caramel 3 x 35 + vanilla 1 x 30
    assert compose(api, anna, body)["price"] == 260 + 240 + 20 + 105 + 30


def test_a_base_is_only_offered_in_its_sizes(api, menu):
    anna = api.register("Anna")
    cold = compose(api, anna, simple(menu, base_id=menu["Cold Brew"], size="M"))
    # 300 cup (M) + 1 x 50 + Cerrado 20; no S price for cold brew
    assert cold["price"] == 370
    assert [p["size"] for p in cold["prices"]] == ["M", "L"]
    response = api.post("/v1/blends", simple(menu, base_id=menu["Cold Brew"]), as_=anna)
    body = problem(response, 422, "validation_error")
    assert body["errors"] == {"size": ["Cold Brew is not offered in size S."]}


def test_admins_price_a_base_per_size_and_blends_follow(api, menu):
    anna = api.register("Anna")
    blend = compose(api, anna, simple(menu))
    espresso = f"/v1/catalog/ingredients/{menu['Espresso']}"
    response = api.patch(espresso, {"prices": prices(S=200, M=240)}, as_=menu.admin)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["prices"] == prices(S=200, M=240)
    shown = api.get(f"/v1/blends/{blend['id']}", as_=anna).get_json()
    assert shown["price"] == 200 + 60 + 20
    assert [p["size"] for p in shown["prices"]] == ["S", "M"]
    listed = api.get("/v1/catalog").get_json()["ingredients"]
    assert next(i for i in listed if i["id"] == menu["Espresso"])["prices"] == prices(S=200, M=240)


def test_a_base_not_yet_sold_in_any_size_cannot_be_ordered_yet(api, menu):
    body = {"kind": "base", "name": "Cold brew"}
    created = api.post("/v1/catalog/ingredients", body, as_=menu.admin)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["prices"] == []
    anna = api.register("Anna")
    response = api.post("/v1/blends", recipe(menu, base_id=created.get_json()["id"]), as_=anna)
    assert problem(response, 422, "validation_error")["errors"] == {
        "size": ["Cold brew is not offered in size M."]
    }


def test_only_a_base_has_prices_per_size(api, menu):
    body = {"kind": "milk", "name": "Goat milk", "prices": prices(S=10)}
    response = api.post("/v1/catalog/ingredients", body, as_=menu.admin)
    assert problem(response, 422, "validation_error")["errors"] == {
        "prices": ["Only a base has a price per size."]
    }
    oat = f"/v1/catalog/ingredients/{menu['Oat milk']}"
    problem(api.patch(oat, {"prices": prices(M=10)}, as_=menu.admin), 422, "validation_error")


# --- the shape of a recipe (marshmallow) ---------------------------------------------------


FOUR_BEANS = ("Yirgacheffe", "Huila", "Cerrado", "Antigua")
ONE_TO_FOUR = "Must be greater than or equal to 1 and less than or equal to 4."


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        (
            lambda m: {"beans": [{"ingredient_id": m[n], "share": 25} for n in FOUR_BEANS]},
            {"beans": ["Choose 1 to 3 bean origins."]},
        ),
        (lambda m: {"beans": []}, {"beans": ["Choose 1 to 3 bean origins."]}),
        (
            lambda m: {"beans": [{"ingredient_id": m["Huila"], "share": 90}]},
            {"beans": ["The shares add up to 90%, not 100%."]},
        ),
        (
            lambda m: {
                "beans": [
                    {"ingredient_id": m["Huila"], "share": 50},
                    {"ingredient_id": m["Huila"], "share": 50},
                ]
            },
            {"beans": {"1": {"ingredient_id": ["This ingredient is already in the blend."]}}},
        ),
        (
            lambda m: {
                "syrups": [
                    {"ingredient_id": m[n], "pumps": 1}
                    for n in ("Vanilla", "Caramel", "Hazelnut", "Cinnamon")
                ]
            },
            {"syrups": ["Choose at most 3 syrups."]},
        ),
        (
            lambda m: {"syrups": [{"ingredient_id": m["Vanilla"], "pumps": 5}]},
            {"syrups": {"0": {"pumps": [ONE_TO_FOUR]}}},
        ),
        (
            lambda m: {"toppings": [m["Cocoa"], m["Cocoa"]]},
            {"toppings": {"1": ["This ingredient is already in the blend."]}},
        ),
        (
            lambda m: {"shots": 5},
            {"shots": [ONE_TO_FOUR]},
        ),
        (lambda m: {"shots": 1.5}, {"shots": ["Not a valid integer."]}),
        (lambda m: {"notes": "x" * 281}, {"notes": ["Longer than maximum length 280."]}),
        (lambda m: {"name": ""}, {"name": ["Length must be between 1 and 80."]}),
        (lambda m: {"size": "XL"}, {"size": ["Must be one of: S, M, L."]}),
        (
            lambda m: {"visibility": "secret"},
            {"visibility": ["Must be one of: private, friends, public."]},
        ),
        (lambda m: {"base_id": "espresso"}, {"base_id": ["Not a valid UUID."]}),
    ],
)
def test_each_shape_rule_has_its_own_error(api, menu, change, errors):
    anna = api.register("Anna")
    response = api.post("/v1/blends", recipe(menu, **change(menu)), as_=anna)
    assert problem(response, 422, "validation_error")["errors"] == errors


def test_every_broken_shape_rule_is_reported_at_once(api, menu):
    anna = api.register("Anna")
    body = recipe(
        menu,
        beans=[{"ingredient_id": menu["Huila"], "share": 30}] * 2,
        syrups=[{"ingredient_id": menu["Vanilla"], "pumps": 1}] * 4,
        shots=0,
        notes="x" * 300,
    )
    errors = problem(api.post("/v1/blends", body, as_=anna), 422, "validation_error")["errors"]
    assert errors == {
        "beans": {
            "1": {"ingredient_id": ["This ingredient is already in the blend."]},
            "_schema": ["The shares add up to 60%, not 100%."],  # the list's own error
        },
        "syrups": ["Choose at most 3 syrups."],
        "shots": [ONE_TO_FOUR],
        "notes": ["Longer than maximum length 280."],
    }


@pytest.mark.parametrize(
    ("bad_part", "errors"),
    [
        (
            lambda m: {"beans": [{"ingredient_id": m["Huila"], "share": "lots"}]},
            {"beans": {"0": {"share": ["Not a valid integer."]}}},
        ),
        (
            lambda m: {"beans": [{"share": 100}]},
            {"beans": {"0": {"ingredient_id": ["Missing data for required field."]}}},
        ),
        (
            lambda m: {"syrups": [{"pumps": 1}, {"pumps": 2}]},
            {
                "syrups": {
                    "0": {"ingredient_id": ["Missing data for required field."]},
                    "1": {"ingredient_id": ["Missing data for required field."]},
                }
            },
        ),
    ],
)
def test_a_refused_part_of_a_bean_or_syrup_is_reported_once(api, menu, bad_part, errors):
    # The whole-recipe rules (shares add up, each ingredient once) still run after a field
    # error; they must skip the part the field refused rather than fail on its absence.
    anna = api.register("Anna")
    created = api.post("/v1/blends", recipe(menu, **bad_part(menu)), as_=anna)
    assert problem(created, 422, "validation_error")["errors"] == errors
    blend = api.post("/v1/blends", recipe(menu), as_=anna).get_json()
    changed = api.patch(f"/v1/blends/{blend['id']}", bad_part(menu), as_=anna)
    assert problem(changed, 422, "validation_error")["errors"] == errors


def test_required_fields(api, menu):
    anna = api.register("Anna")
    errors = problem(api.post("/v1/blends", {}, as_=anna), 422, "validation_error")["errors"]
    assert set(errors) == {"name", "base_id", "size", "beans"}


# --- the recipe against the menu (service) -------------------------------------------------


def test_every_ingredient_that_does_not_fit_its_slot_is_reported_at_once(api, menu):
    anna = api.register("Anna")
    hidden = menu["Caramel"]
    assert api.delete(f"/v1/catalog/ingredients/{hidden}", as_=menu.admin).status_code == 204
    unknown = str(uuid.uuid4())
    body = recipe(
        menu,
        base_id=menu["Yirgacheffe"],
        beans=[
            {"ingredient_id": menu["Huila"], "share": 50},
            {"ingredient_id": menu["Oat milk"], "share": 50},
        ],
        milk_id=unknown,
        syrups=[
            {"ingredient_id": menu["Vanilla"], "pumps": 1},
            {"ingredient_id": hidden, "pumps": 1},
        ],
        toppings=[menu["Cocoa"], menu["Hazelnut"]],
        extras=[menu["Whipped cream"]],
    )
    response = api.post("/v1/blends", body, as_=anna)
    assert problem(response, 422, "validation_error")["errors"] == {
        "base_id": ["Yirgacheffe is a bean origin, not a base."],
        "beans": {"1": {"ingredient_id": ["Oat milk is a milk, not a bean origin."]}},
        "milk_id": ["There is no such ingredient."],
        "syrups": {"1": {"ingredient_id": ["Caramel is not on the menu any more."]}},
        "toppings": {"1": ["Hazelnut is a syrup, not a topping."]},
        "extras": {"0": ["Whipped cream is a topping, not an extra."]},
    }
    assert api.get("/v1/blends", as_=anna).get_json()["items"] == []


def _broken_everywhere(menu):
    """A base that is a bean, shares adding up to 90 with a milk among the beans, and a
    topping that is no id followed by one that is a syrup: schema and menu rules at once."""
    return {
        "base_id": menu["Huila"],
        "beans": [
            {"ingredient_id": menu["Cerrado"], "share": 50},
            {"ingredient_id": menu["Oat milk"], "share": 40},
        ],
        "toppings": ["cocoa", menu["Hazelnut"]],
    }


BROKEN_EVERYWHERE = {
    "base_id": ["Huila is a bean origin, not a base."],
    "beans": {
        "1": {"ingredient_id": ["Oat milk is a milk, not a bean origin."]},
        "_schema": ["The shares add up to 90%, not 100%."],
    },
    # The menu's say lands on the topping it is about, not one place early.
    "toppings": {"0": ["Not a valid UUID."], "1": ["Hazelnut is a syrup, not a topping."]},
}


def test_schema_and_menu_errors_come_in_one_422(api, menu):
    anna = api.register("Anna")
    body = recipe(menu, **_broken_everywhere(menu), notes="x" * 300)
    response = api.post("/v1/blends", body, as_=anna)
    assert problem(response, 422, "validation_error")["errors"] == {
        **BROKEN_EVERYWHERE,
        "notes": ["Longer than maximum length 280."],
    }
    assert api.get("/v1/blends", as_=anna).get_json()["items"] == []


def test_an_edit_hears_of_schema_and_menu_errors_in_one_422(api, menu):
    anna = api.register("Anna")
    blend = compose(api, anna, recipe(menu))
    path = f"/v1/blends/{blend['id']}"
    response = api.patch(path, _broken_everywhere(menu), as_=anna)
    assert problem(response, 422, "validation_error")["errors"] == BROKEN_EVERYWHERE
    assert api.get(path, as_=anna).get_json() == blend
    # Someone who may not change the blend learns nothing of its recipe from the attempt.
    eve = api.register("Eve")
    problem(api.patch(path, _broken_everywhere(menu), as_=eve), 404, "blend_not_found")


# --- who sees what ------------------------------------------------------------------------


def test_a_stranger_gets_404_for_a_private_blend_never_403(api, menu):
    anna, eve = api.register("Anna"), api.register("Eve")
    for visibility in ("private", "friends"):
        blend = compose(api, anna, recipe(menu, visibility=visibility))
        path = f"/v1/blends/{blend['id']}"
        problem(api.get(path, as_=eve), 404, "blend_not_found")
        problem(api.patch(path, {"name": "Mine now"}, as_=eve), 404, "blend_not_found")
        problem(api.delete(path, as_=eve), 404, "blend_not_found")
        problem(api.post(f"{path}/ratings", {"stars": 1}, as_=eve), 404, "blend_not_found")
        problem(api.get(f"{path}/ratings", as_=eve), 404, "blend_not_found")
        problem(api.post(f"{path}/copy", {}, as_=eve), 404, "blend_not_found")
        # ... exactly what an id that never existed gets.
        problem(api.get(f"/v1/blends/{uuid.uuid4()}", as_=eve), 404, "blend_not_found")
        assert api.get(path, as_=anna).status_code == 200


def test_anyone_signed_in_sees_a_public_blend_but_only_its_creator_changes_it(api, menu):
    anna, eve = api.register("Anna"), api.register("Eve")
    blend = compose(api, anna, recipe(menu, visibility="public"))
    path = f"/v1/blends/{blend['id']}"
    assert api.get(path, as_=eve).get_json()["name"] == "Morning Fog"
    problem(api.patch(path, {"name": "Mine now"}, as_=eve), 403, "not_blend_owner")
    problem(api.delete(path, as_=eve), 403, "not_blend_owner")
    problem(api.get(path), 401, "token_missing")


def test_a_blend_shared_with_friends_is_hidden_from_strangers(api, menu):
    anna, eve = api.register("Anna"), api.register("Eve")
    blend = compose(api, anna, recipe(menu, visibility="friends"))
    problem(api.get(f"/v1/blends/{blend['id']}", as_=eve), 404, "blend_not_found")
    mine = api.get(f"/v1/users/{anna.handle}/blends", as_=anna).get_json()["items"]
    assert [b["id"] for b in mine] == [blend["id"]]
    assert api.get(f"/v1/users/{anna.handle}/blends", as_=eve).get_json()["items"] == []


def test_friends_see_friends_blends(api, menu):
    anna, ben, eve = api.register("Anna"), api.register("Ben"), api.register("Eve")
    shared = compose(api, anna, recipe(menu, name="For friends", visibility="friends"))
    secret = compose(api, anna, recipe(menu, name="Secret", visibility="private"))
    request = api.post("/v1/friend-requests", {"handle": anna.handle}, as_=ben)
    assert request.status_code == 201, request.get_json()
    accepted = api.post(f"/v1/friend-requests/{request.get_json()['id']}/accept", as_=anna)
    assert accepted.status_code in (200, 204), accepted.get_json()

    assert api.get(f"/v1/blends/{shared['id']}", as_=ben).status_code == 200
    listed = api.get(f"/v1/users/{anna.handle}/blends", as_=ben).get_json()["items"]
    assert [b["name"] for b in listed] == ["For friends"]
    problem(api.get(f"/v1/blends/{secret['id']}", as_=ben), 404, "blend_not_found")
    problem(api.get(f"/v1/blends/{shared['id']}", as_=eve), 404, "blend_not_found")
    assert rate(api, ben, shared, 5).status_code == 201
    assert api.post(f"/v1/blends/{shared['id']}/copy", {}, as_=ben).status_code == 201


# --- lists ---------------------------------------------------------------------------------


def test_my_blends_newest_first_in_pages(api, menu):
    anna, ben = api.register("Anna"), api.register("Ben")
    names = [f"Blend {n}" for n in range(5)]
    for name in names:
        compose(api, anna, simple(menu, name=name))
    compose(api, ben, simple(menu, name="Ben's"))

    seen, cursor = [], None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(f"/v1/blends{query}", as_=anna).get_json()
        seen += [b["name"] for b in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == names[::-1]
    problem(api.get("/v1/blends?cursor=garbage", as_=anna), 422, "validation_error")


def test_a_users_blends_are_those_visible_to_me(api, menu):
    anna, eve = api.register("Anna"), api.register("Eve")
    public = compose(api, anna, simple(menu, name="Public", visibility="public"))
    compose(api, anna, simple(menu, name="Private"))
    compose(api, anna, simple(menu, name="Friends", visibility="friends"))
    listed = api.get(f"/v1/users/@{anna.handle.upper()}/blends", as_=eve).get_json()
    assert [b["id"] for b in listed["items"]] == [public["id"]]
    own = api.get(f"/v1/users/{anna.handle}/blends", as_=anna).get_json()["items"]
    assert [b["name"] for b in own] == ["Friends", "Private", "Public"]
    problem(api.get("/v1/users/nobody_here/blends", as_=eve), 404, "user_not_found")


# --- edits and deletes ---------------------------------------------------------------------


def test_the_creator_edits_a_blend_and_it_is_priced_again(api, menu):
    anna = api.register("Anna")
    blend = compose(api, anna, recipe(menu))
    path = f"/v1/blends/{blend['id']}"
    response = api.patch(
        path,
        {"name": "Evening Fog", "milk_id": menu["Whole milk"], "size": "L", "visibility": "public"},
        as_=anna,
    )
    assert response.status_code == 200, response.get_json()
    changed = response.get_json()
    assert changed["name"] == "Evening Fog"
    assert changed["milk"]["name"] == "Whole milk"
    assert changed["price"] == 592 - 50  # L, whole milk instead of oat
    assert changed["beans"] == blend["beans"]
    assert changed["visibility"] == "public"
    assert changed["updated_at"] >= blend["updated_at"]

    # A list replaces the whole list; null removes the milk.
    beans = [{"ingredient_id": menu["Cerrado"], "share": 100}]
    changed = api.patch(path, {"beans": beans, "milk_id": None, "syrups": []}, as_=anna).get_json()
    assert [b["name"] for b in changed["beans"]] == ["Cerrado"]
    assert changed["milk"] is None
    assert changed["syrups"] == []
    assert changed["price"] == 260 + 120 + 20 + 50  # L cup, 2 shots, Cerrado, whipped cream


def test_an_edit_that_breaks_a_rule_changes_nothing(api, menu):
    anna = api.register("Anna")
    blend = compose(api, anna, recipe(menu))
    path = f"/v1/blends/{blend['id']}"
    bad_shape = api.patch(
        path, {"beans": [{"ingredient_id": menu["Huila"], "share": 50}]}, as_=anna
    )
    assert "beans" in problem(bad_shape, 422, "validation_error")["errors"]
    bad_menu = api.patch(path, {"milk_id": menu["Vanilla"], "name": "Changed"}, as_=anna)
    assert problem(bad_menu, 422, "validation_error")["errors"] == {
        "milk_id": ["Vanilla is a syrup, not a milk."]
    }
    assert api.get(path, as_=anna).get_json() == blend


def test_an_ingredient_taken_off_the_menu_stays_in_the_blend_until_it_is_replaced(api, menu):
    anna = api.register("Anna")
    blend = compose(api, anna, recipe(menu))
    path = f"/v1/blends/{blend['id']}"
    api.delete(f"/v1/catalog/ingredients/{menu['Oat milk']}", as_=menu.admin)

    shown = api.get(path, as_=anna).get_json()
    assert shown["milk"] == {
        "ingredient_id": menu["Oat milk"],
        "name": "Oat milk",
        "on_menu": False,
    }
    assert shown["orderable"] is False
    assert shown["price"] == 552
    # Renaming still works ...
    assert api.patch(path, {"name": "Renamed"}, as_=anna).status_code == 200
    # ... adding another dropped ingredient does not.
    api.delete(f"/v1/catalog/ingredients/{menu['Cocoa']}", as_=menu.admin)
    response = api.patch(path, {"toppings": [menu["Cocoa"]]}, as_=anna)
    assert problem(response, 422, "validation_error")["errors"] == {
        "toppings": {"0": ["Cocoa is not on the menu any more."]}
    }
    fixed = api.patch(path, {"milk_id": menu["Whole milk"]}, as_=anna).get_json()
    assert fixed["orderable"] is True


def test_deleting_is_soft_and_the_blend_leaves_every_list(api, app, menu):
    anna, ben = api.register("Anna"), api.register("Ben")
    blend = compose(api, anna, recipe(menu, visibility="public"))
    copy = api.post(f"/v1/blends/{blend['id']}/copy", {}, as_=ben).get_json()
    rate(api, ben, blend, 4)
    path = f"/v1/blends/{blend['id']}"

    assert api.delete(path, as_=anna).status_code == 204
    problem(api.get(path, as_=anna), 404, "blend_not_found")
    problem(api.delete(path, as_=anna), 404, "blend_not_found")
    assert api.get("/v1/blends", as_=anna).get_json()["items"] == []
    assert api.get(f"/v1/users/{anna.handle}/blends", as_=ben).get_json()["items"] == []
    # The copy keeps its recipe and its credit.
    kept = api.get(f"/v1/blends/{copy['id']}", as_=ben).get_json()
    assert kept["copied_from_id"] == blend["id"]
    assert kept["original_creator"]["handle"] == anna.handle
    assert kept["beans"] == copy["beans"]
    with app.app_context():
        from wallet_api.blends.models import Blend, BlendRating
        from wallet_api.extensions import db

        row = db.session.get(Blend, uuid.UUID(blend["id"]))
        assert row.deleted_at is not None
        assert row.name == "Morning Fog"
        assert db.session.query(BlendRating).filter_by(blend_id=row.id).count() == 1


def test_customers_need_to_sign_in(api, menu):
    problem(api.post("/v1/blends", recipe(menu)), 401, "token_missing")
    problem(api.get("/v1/blends"), 401, "token_missing")
    problem(api.get("/v1/users/anna/blends"), 401, "token_missing")
