"""Rating blends and "one of what they're having": copies that credit the creator."""

from __future__ import annotations

import threading
import uuid

import pytest

from tests.support.api import ApiClient, problem
from tests.support.blends import compose, make_menu, order, rate, recipe, simple
from tests.support.gifts import gift_code, given, redeem
from tests.support.social import befriend
from tests.support.stores import charge, counter_scene, fund, pay_code
from tests.support.wallet import run_threads


@pytest.fixture
def menu(api):
    return make_menu(api)


def _blend(api, path, person):
    return api.get(path, as_=person).get_json()


def _copies_and_people(api, blend, person):
    shown = _blend(api, f"/v1/blends/{blend['id']}", person)
    return shown["copies_count"], shown["enjoyed_by"]


def test_rating_once_and_again_updates_it(api, menu):
    scene = counter_scene(api, funds=0)
    anna, ben, carl = api.register("Anna"), api.register("Ben"), api.register("Carl")
    blend = compose(api, anna, recipe(menu, visibility="public"))
    path = f"/v1/blends/{blend['id']}"
    for person in (ben, carl):
        order(api, scene.scanner, person, blend)

    first = api.post(f"{path}/ratings", {"stars": 3, "comment": "Bit sweet"}, as_=ben)
    assert first.status_code == 201
    assert first.get_json()["stars"] == 3
    assert first.get_json()["rater"]["handle"] == ben.handle
    assert first.get_json()["by_creator"] is False
    assert first.get_json()["verified"] is True
    assert rate(api, carl, blend, 5).status_code == 201
    assert _blend(api, path, ben)["rating"] == {"average": 4.0, "count": 2}

    again = api.post(f"{path}/ratings", {"stars": 4}, as_=ben)
    assert again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["comment"] == "Bit sweet"  # left out: kept
    shown = _blend(api, path, ben)
    assert shown["rating"] == {"average": 4.5, "count": 2}
    assert shown["my_rating"]["stars"] == 4
    assert _blend(api, path, anna)["my_rating"] is None

    changed = api.post(f"{path}/ratings", {"stars": 4, "comment": ""}, as_=ben).get_json()
    assert changed["comment"] == ""
    listed = api.get(f"{path}/ratings", as_=anna).get_json()
    assert [(r["rater"]["handle"], r["stars"]) for r in listed["items"]] == [
        (ben.handle, 4),
        (carl.handle, 5),
    ]


def test_the_creators_own_rating_is_kept_but_not_counted(api, app, menu):
    scene = counter_scene(api, funds=0)
    anna, ben = api.register("Anna"), api.register("Ben")
    blend = compose(api, anna, recipe(menu, visibility="public"))
    path = f"/v1/blends/{blend['id']}"
    order(api, scene.scanner, ben, blend)
    assert rate(api, anna, blend, 5).status_code == 201
    shown = _blend(api, path, anna)
    assert shown["rating"] == {"average": None, "count": 0}
    assert shown["my_rating"]["stars"] == 5
    rate(api, ben, blend, 2)
    rate(api, anna, blend, 4)
    assert _blend(api, path, ben)["rating"] == {"average": 2.0, "count": 1}
    ratings = api.get(f"{path}/ratings", as_=ben).get_json()["items"]
    assert {r["rater"]["handle"]: r["by_creator"] for r in ratings} == {
        anna.handle: True,
        ben.handle: False,
    }
    with app.app_context():
        from wallet_api.blends.service import verify_rating_totals

        assert verify_rating_totals() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"stars": 0}, "stars"),
        ({"stars": 6}, "stars"),
        ({"stars": 4.5}, "stars"),
        ({"stars": "5"}, "stars"),
        ({}, "stars"),
        ({"stars": 5, "comment": "x" * 501}, "comment"),
    ],
)
def test_invalid_ratings_are_422(api, menu, body, field):
    anna = api.register("Anna")
    blend = compose(api, anna, recipe(menu))
    response = api.post(f"/v1/blends/{blend['id']}/ratings", body, as_=anna)
    assert field in problem(response, 422, "validation_error")["errors"]


def test_a_deleted_blend_cannot_be_rated(api, menu):
    anna, ben = api.register("Anna"), api.register("Ben")
    blend = compose(api, anna, recipe(menu, visibility="public"))
    api.delete(f"/v1/blends/{blend['id']}", as_=anna)
    problem(
        api.post(f"/v1/blends/{blend['id']}/ratings", {"stars": 5}, as_=ben),
        404,
        "blend_not_found",
    )


def _had_by(api, blend, people) -> None:
    scanner = counter_scene(api, funds=0).scanner
    for person in people:
        order(api, scanner, person, blend)


def _rate_at_once(app, people, blend_id, stars):
    """Each person rates in their own thread, own client and own committed request."""
    barrier = threading.Barrier(len(people))
    statuses = []

    def run(person, n):
        client = ApiClient(app.test_client())
        barrier.wait()
        response = client.post(f"/v1/blends/{blend_id}/ratings", {"stars": n}, as_=person)
        statuses.append(response.status_code)

    threads = [
        threading.Thread(target=run, args=(p, s)) for p, s in zip(people, stars, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def _check_totals(app, blend_id):
    with app.app_context():
        from wallet_api.blends.models import Blend
        from wallet_api.blends.service import verify_rating_totals
        from wallet_api.extensions import db

        assert verify_rating_totals() == []
        blend = db.session.get(Blend, uuid.UUID(blend_id))
        return blend.rating_count, blend.rating_sum


def test_ratings_at_the_same_moment_are_all_counted_sqlite_too(api, app, menu):
    anna = api.register("Anna")
    raters = [api.register("Rater") for _ in range(4)]
    blend = compose(api, anna, simple(menu, visibility="public"))
    _had_by(api, blend, raters)
    assert _rate_at_once(app, raters, blend["id"], [1, 2, 4, 5]) == [201] * 4
    assert _check_totals(app, blend["id"]) == (4, 12)


@pytest.mark.postgres_only
def test_many_ratings_at_the_same_moment_lose_none(api, app, menu):
    anna = api.register("Anna")
    raters = [api.register("Rater") for _ in range(12)]
    blend = compose(api, anna, simple(menu, visibility="public"))
    _had_by(api, blend, raters)
    stars = [1 + n % 5 for n in range(12)]
    assert _rate_at_once(app, raters, blend["id"], stars) == [201] * 12
    assert _check_totals(app, blend["id"]) == (12, sum(stars))


@pytest.mark.postgres_only
def test_one_person_rating_twice_at_once_leaves_one_rating(api, app, menu):
    anna, ben = api.register("Anna"), api.register("Ben")
    blend = compose(api, anna, simple(menu, visibility="public"))
    _had_by(api, blend, [ben])
    statuses = _rate_at_once(app, [ben] * 6, blend["id"], [5, 5, 5, 5, 5, 5])
    assert statuses == [200] * 5 + [201]
    assert _check_totals(app, blend["id"]) == (1, 5)


# --- verified ratings: only people who had the blend count -----------------------------------


def _verified(api, blend, person):
    items = api.get(f"/v1/blends/{blend['id']}/ratings", as_=person).get_json()["items"]
    return {r["rater"]["handle"]: r["verified"] for r in items}


def test_a_rating_counts_once_the_rater_has_had_the_blend(api, app, menu):
    scene = counter_scene(api, funds=0)
    anna, ben = api.register("Anna"), api.register("Ben")
    blend = compose(api, anna, simple(menu, visibility="public"))
    path = f"/v1/blends/{blend['id']}"
    assert rate(api, ben, blend, 4).get_json()["verified"] is False
    assert _blend(api, path, ben)["rating"] == {"average": None, "count": 0}
    assert _check_totals(app, blend["id"]) == (0, 0)

    order(api, scene.scanner, ben, blend)  # the rating, made before, counts from now on
    assert _verified(api, blend, anna) == {ben.handle: True}
    assert _blend(api, path, ben)["rating"] == {"average": 4.0, "count": 1}
    again = rate(api, ben, blend, 2).get_json()
    assert (again["stars"], again["verified"]) == (2, True)
    order(api, scene.scanner, ben, blend)  # another cup: still one rating
    assert _blend(api, path, ben)["rating"] == {"average": 2.0, "count": 1}
    assert _check_totals(app, blend["id"]) == (1, 2)


def test_a_copy_or_a_gift_of_the_blend_counts_as_having_had_it(api, app, menu):
    scene = counter_scene(api, funds=5_000)
    anna = scene.anna
    ben, carl, dana, eve = (api.register(n) for n in ("Ben", "Carl", "Dana", "Eve"))
    blend = compose(api, anna, simple(menu, visibility="public"))

    # Ben orders his own copy of it; Carl orders a copy of Ben's copy.
    bens = api.post(f"/v1/blends/{blend['id']}/copy", {"visibility": "public"}, as_=ben)
    bens = bens.get_json()
    order(api, scene.scanner, ben, bens)
    carls = api.post(f"/v1/blends/{bens['id']}/copy", as_=carl).get_json()
    order(api, scene.scanner, carl, carls)
    # Dana is given it by Anna and has it made at the counter.
    befriend(api, anna, dana)
    gift = given(api, anna, handle=dana.handle, item={"blend_id": blend["id"]})
    assert redeem(api, scene.scanner, gift_code(api, dana, gift["id"])).status_code == 201
    # Eve only copied it: a copy costs nothing, so it proves nothing.
    assert api.post(f"/v1/blends/{blend['id']}/copy", as_=eve).status_code == 201

    for person in (ben, carl, dana, eve):
        rate(api, person, blend, 5)
    rate(api, carl, bens, 3)  # the blend Carl copied
    assert _verified(api, blend, anna) == {
        ben.handle: True,
        carl.handle: True,
        dana.handle: True,
        eve.handle: False,
    }
    assert _blend(api, f"/v1/blends/{blend['id']}", anna)["rating"]["count"] == 3
    assert _verified(api, bens, ben) == {carl.handle: True}
    assert _check_totals(app, bens["id"]) == (1, 3)


def test_the_creator_who_had_their_own_blend_is_still_not_counted(api, app, menu):
    scene = counter_scene(api, funds=0)
    blend = compose(api, scene.anna, simple(menu, visibility="public"))
    rate(api, scene.anna, blend, 5)
    order(api, scene.scanner, scene.anna, blend)
    rated = rate(api, scene.anna, blend, 4).get_json()
    assert (rated["by_creator"], rated["verified"]) == (True, True)
    shown = _blend(api, f"/v1/blends/{blend['id']}", scene.anna)
    assert shown["rating"] == {"average": None, "count": 0}
    assert _check_totals(app, blend["id"]) == (0, 0)
    assert api.get("/v1/blends/top?window=all").get_json()["items"] == []


@pytest.mark.postgres_only
def test_a_rating_made_while_its_order_goes_through_is_counted(api, app, menu):
    """The rating sees the order, or the order finds the rating: never neither."""
    scene = counter_scene(api, funds=0)
    anna = api.register("Anna")
    blend = compose(api, anna, simple(menu, visibility="public"))
    people = [api.register("Rater") for _ in range(10)]
    codes = []
    for person in people:
        fund(api, person, blend["price"])
        codes.append(pay_code(api, person)["code"])

    def rate_or_order(i: int) -> int:
        client, person = ApiClient(app.test_client()), people[i // 2]
        if i % 2:
            return client.post(
                f"/v1/blends/{blend['id']}/ratings", {"stars": 4}, as_=person
            ).status_code
        items = [{"blend_id": blend["id"]}]
        return charge(client, scene.scanner, codes[i // 2], items=items).status_code

    assert run_threads(2 * len(people), rate_or_order) == [201] * (2 * len(people))
    assert set(_verified(api, blend, anna).values()) == {True}
    assert _check_totals(app, blend["id"]) == (len(people), 4 * len(people))


# --- copies ---------------------------------------------------------------------------------


def test_one_of_what_theyre_having_copies_and_credits_the_creator(api, menu):
    anna, ben = api.register("Anna"), api.register("Ben")
    original = compose(api, anna, recipe(menu, visibility="public"))
    response = api.post(f"/v1/blends/{original['id']}/copy", as_=ben)
    assert response.status_code == 201, response.get_json()
    copy = response.get_json()
    assert copy["id"] != original["id"]
    assert copy["creator"]["handle"] == ben.handle
    assert copy["visibility"] == "private"
    assert copy["copied_from_id"] == original["id"]
    assert copy["original_creator"] == original["creator"]
    recipe_fields = ("name", "size", "base", "shots", "beans", "milk", "syrups", "toppings")
    assert {k: copy[k] for k in recipe_fields} == {k: original[k] for k in recipe_fields}
    assert copy["price"] == original["price"]
    assert [b["id"] for b in api.get("/v1/blends", as_=ben).get_json()["items"]] == [copy["id"]]

    assert _copies_and_people(api, original, anna) == (1, 1)
    # Ben copying again is another copy, but Ben is still one person.
    named = api.post(
        f"/v1/blends/{original['id']}/copy", {"name": "Ben's fog", "visibility": "public"}, as_=ben
    ).get_json()
    assert (named["name"], named["visibility"]) == ("Ben's fog", "public")
    assert _copies_and_people(api, original, anna) == (2, 1)


def test_a_copy_of_a_copy_credits_the_original_creator(api, menu):
    anna, ben, carl = api.register("Anna"), api.register("Ben"), api.register("Carl")
    original = compose(api, anna, recipe(menu, visibility="public"))
    bens = api.post(
        f"/v1/blends/{original['id']}/copy", {"visibility": "public"}, as_=ben
    ).get_json()
    carls = api.post(f"/v1/blends/{bens['id']}/copy", as_=carl).get_json()
    assert carls["copied_from_id"] == bens["id"]
    assert carls["original_creator"]["handle"] == anna.handle
    assert _blend(api, f"/v1/blends/{bens['id']}", ben)["copies_count"] == 1
    assert _copies_and_people(api, original, anna) == (2, 2)


def test_copying_my_own_blend_is_not_counted(api, menu):
    anna = api.register("Anna")
    original = compose(api, anna, recipe(menu))
    copy = api.post(f"/v1/blends/{original['id']}/copy", {"name": "Variant"}, as_=anna)
    assert copy.status_code == 201
    assert _copies_and_people(api, original, anna) == (0, 0)


def test_copy_body_is_checked(api, menu):
    anna = api.register("Anna")
    original = compose(api, anna, recipe(menu))
    response = api.post(f"/v1/blends/{original['id']}/copy", {"visibility": "all"}, as_=anna)
    assert "visibility" in problem(response, 422, "validation_error")["errors"]
