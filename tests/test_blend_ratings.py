"""Rating blends and "one of what they're having": copies that credit the creator."""

from __future__ import annotations

import threading
import uuid

import pytest

from tests.blends_helpers import compose, make_menu, rate, recipe, simple
from tests.helpers import ApiClient, problem


@pytest.fixture
def menu(api):
    return make_menu(api)


def _blend(api, path, person):
    return api.get(path, as_=person).get_json()


def _copies_and_people(api, blend, person):
    shown = _blend(api, f"/v1/blends/{blend['id']}", person)
    return shown["copies_count"], shown["enjoyed_by"]


def test_rating_once_and_again_updates_it(api, menu):
    anna, ben, carl = api.register("Anna"), api.register("Ben"), api.register("Carl")
    blend = compose(api, anna, recipe(menu, visibility="public"))
    path = f"/v1/blends/{blend['id']}"

    first = api.post(f"{path}/ratings", {"stars": 3, "comment": "Bit sweet"}, as_=ben)
    assert first.status_code == 201
    assert first.get_json()["stars"] == 3
    assert first.get_json()["rater"]["handle"] == ben.handle
    assert first.get_json()["by_creator"] is False
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
    anna, ben = api.register("Anna"), api.register("Ben")
    blend = compose(api, anna, recipe(menu, visibility="public"))
    path = f"/v1/blends/{blend['id']}"
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
    assert _rate_at_once(app, raters, blend["id"], [1, 2, 4, 5]) == [201] * 4
    assert _check_totals(app, blend["id"]) == (4, 12)


@pytest.mark.postgres_only
def test_many_ratings_at_the_same_moment_lose_none(api, app, menu):
    anna = api.register("Anna")
    raters = [api.register("Rater") for _ in range(12)]
    blend = compose(api, anna, simple(menu, visibility="public"))
    stars = [1 + n % 5 for n in range(12)]
    assert _rate_at_once(app, raters, blend["id"], stars) == [201] * 12
    assert _check_totals(app, blend["id"]) == (12, sum(stars))


@pytest.mark.postgres_only
def test_one_person_rating_twice_at_once_leaves_one_rating(api, app, menu):
    anna, ben = api.register("Anna"), api.register("Ben")
    blend = compose(api, anna, simple(menu, visibility="public"))
    statuses = _rate_at_once(app, [ben] * 6, blend["id"], [5, 5, 5, 5, 5, 5])
    assert statuses == [200] * 5 + [201]
    assert _check_totals(app, blend["id"]) == (1, 5)


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
