"""Charging a blend at the counter: priced now, counted for its creator, who earns points."""

from __future__ import annotations

import threading

import pytest

from tests.support.api import problem
from tests.support.blends import compose, make_menu, simple
from tests.support.loyalty import points_of
from tests.support.social import befriend
from tests.support.stores import charge, counter_scene, fund, pay_code


@pytest.fixture
def menu(api):
    return make_menu(api)


def _blend_line(blend, quantity=1):
    """One cup of the blend in its own size."""
    return [{"blend_id": blend["id"], "quantity": quantity}]


def test_ordering_someone_elses_public_blend_rewards_its_creator(api, app, menu):
    scene = counter_scene(api, funds=5000)
    ben = api.register("Ben")
    blend = compose(api, ben, simple(menu, name="Ben's Fog", visibility="public"))

    response = charge(
        api, scene.scanner, pay_code(api, scene.anna)["code"], items=_blend_line(blend)
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["charge"]["items"][0]["name"] == "Ben's Fog"
    assert body["charge"]["amount"] == blend["price"]

    shown = api.get(f"/v1/blends/{blend['id']}", as_=ben).get_json()
    assert shown["orders_count"] == 1
    assert points_of(app, ben) == 20  # WALLET_LOYALTY_CREATOR_BONUS_POINTS
    # The customer earned their own points on what they paid, as for any charge.
    assert points_of(app, scene.anna) == body["charge"]["points_earned"] > 0


def test_ordering_my_own_or_a_private_blend_rewards_nobody_extra(api, app, menu):
    scene = counter_scene(api, funds=5000)
    mine = compose(api, scene.anna, simple(menu, name="Mine", visibility="public"))
    charge(api, scene.scanner, pay_code(api, scene.anna)["code"], items=_blend_line(mine))
    assert api.get(f"/v1/blends/{mine['id']}", as_=scene.anna).get_json()["orders_count"] == 0

    ben = api.register("Ben")
    befriend(api, ben, scene.anna)
    private = compose(api, ben, simple(menu, name="Friends only", visibility="friends"))
    response = charge(
        api, scene.scanner, pay_code(api, scene.anna)["code"], items=_blend_line(private)
    )
    assert response.status_code == 201, response.get_json()
    assert points_of(app, ben) == 0  # only public blends earn their creator points


def test_a_blend_the_customer_cannot_see_cannot_be_ordered(api, menu):
    scene = counter_scene(api, funds=5000)
    ben = api.register("Ben")
    secret = compose(api, ben, simple(menu, name="Secret", visibility="private"))
    response = charge(
        api, scene.scanner, pay_code(api, scene.anna)["code"], items=_blend_line(secret)
    )
    problem(response, 422, "item_unavailable")


def test_copying_a_public_blend_rewards_its_creator(api, app, menu):
    anna, ben = api.register("Anna"), api.register("Ben")
    blend = compose(api, ben, simple(menu, visibility="public"))
    assert api.post(f"/v1/blends/{blend['id']}/copy", {}, as_=anna).status_code == 201
    assert points_of(app, ben) == 20
    # A retried (or repeated) copy makes another copy but moves no more points.
    assert api.post(f"/v1/blends/{blend['id']}/copy", {}, as_=anna).status_code == 201
    assert points_of(app, ben) == 20


@pytest.mark.postgres_only
def test_two_creators_ordering_each_others_blends_at_once_do_not_deadlock(api, app, menu):
    scene = counter_scene(api, funds=0)
    anna, ben = scene.anna, api.register("Ben")
    fund(api, anna, 20000)
    fund(api, ben, 20000)
    annas = compose(api, anna, simple(menu, name="Anna's", visibility="public"))
    bens = compose(api, ben, simple(menu, name="Ben's", visibility="public"))
    rounds = 6
    codes = {
        "anna": [pay_code(api, anna)["code"] for _ in range(3)],
        "ben": [pay_code(api, ben)["code"] for _ in range(3)],
    }
    statuses: list[int] = []
    lock = threading.Lock()

    def order(who: str, blend: dict) -> None:
        client = app.test_client()
        from tests.support.api import ApiClient

        local = ApiClient(client)
        for code in codes[who]:
            status = charge(local, scene.scanner, code, items=_blend_line(blend)).status_code
            with lock:
                statuses.append(status)

    threads = [
        threading.Thread(target=order, args=("anna", bens)),
        threading.Thread(target=order, args=("ben", annas)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * rounds
    assert points_of(app, anna) >= 3 * 20
    assert points_of(app, ben) >= 3 * 20
