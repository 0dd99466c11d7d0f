"""Ask, don't wait: after a visit the person who drank is asked how it was, once a day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.support.api import problem
from tests.support.catalog import add_product
from tests.support.gifts import drink, gift_code, gift_scene, given, notes, redeem
from tests.support.loyalty import add_reward, order, paid, pay, rate, reward_code
from tests.support.loyalty import charge as points
from tests.support.social import befriend
from tests.support.stores import charge, counter_scene, pay_code, sign_in_again
from wallet_api.clock import clock

# 10:00 in Amsterdam.
MORNING = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def asks(api, person):
    return notes(api, person, "rate_visit")


def test_a_visit_is_followed_by_one_question_by_first_name(api):
    clock.freeze(MORNING)
    scene = counter_scene(api, funds=20_00)
    flat_white = add_product(api, scene.admin, "Flat White")
    receipt = paid(api, scene, order(flat_white))
    (ask,) = asks(api, scene.anna)
    assert ask["title"] == "Anna, how was your Flat White at Amsterdam Centraal?"
    assert ask["body"] == "Rate it in the app: it takes a second, and the team reads every rating."
    assert ask["data"] == {
        "charge_id": receipt["id"],
        "store": {"id": scene.store["id"], "name": "Amsterdam Centraal"},
    }
    assert ask["read_at"] is None
    # More than one drink (or a till amount): the visit.
    clock.advance(timedelta(days=1))
    sign_in_again(api, scene.anna, scene.scanner)
    paid(api, scene, order(flat_white, quantity=2))
    assert asks(api, scene.anna)[0]["title"] == "Anna, how was your visit to Amsterdam Centraal?"


def test_at_most_one_question_a_day_by_the_stores_clock(api):
    # 23:30 in Amsterdam on Monday, 22:30 UTC.
    clock.freeze(datetime(2026, 3, 2, 22, 30, tzinfo=UTC))
    scene = counter_scene(api, funds=20_00)
    first = paid(api, scene, amount=1_00)
    paid(api, scene, amount=1_00)  # the same evening: no second question
    assert [a["data"]["charge_id"] for a in asks(api, scene.anna)] == [first["id"]]
    # 00:30 on Tuesday in Amsterdam, still Monday in UTC: a new day at this store.
    clock.advance(timedelta(hours=1))
    sign_in_again(api, scene.anna, scene.scanner)
    tuesday = paid(api, scene, amount=1_00)
    assert [a["data"]["charge_id"] for a in asks(api, scene.anna)] == [tuesday["id"], first["id"]]


def test_no_question_for_a_charge_that_failed_or_was_replayed(api):
    clock.freeze(MORNING)
    scene = counter_scene(api, funds=5_00)
    problem(pay(api, scene, amount=6_00), 402, "insufficient_funds")
    assert asks(api, scene.anna) == []
    body = {"code": pay_code(api, scene.anna)["code"], "amount": 2_00}
    first = api.post("/v1/charges", body, as_=scene.scanner.token, idem="till-1-sale-7")
    assert first.status_code == 201, first.get_json()
    charge_id = first.get_json()["charge"]["id"]
    assert rate(api, scene.anna, charge_id, 5).status_code == 201
    # The next day the till sends the same sale again: its answer, no second question.
    clock.advance(timedelta(days=1))
    sign_in_again(api, scene.anna, scene.scanner)
    again = api.post("/v1/charges", body, as_=scene.scanner.token, idem="till-1-sale-7")
    assert again.headers["Idempotent-Replayed"] == "true"
    assert [a["data"]["charge_id"] for a in asks(api, scene.anna)] == [charge_id]


def test_the_person_who_drank_is_asked_not_the_one_who_paid(api):
    clock.freeze(MORNING)
    scene = gift_scene(api)
    gift = given(api, scene.anna, handle=scene.ben.handle, item=drink(scene.flat_white))
    redeemed = redeem(api, scene.scanner, gift_code(api, scene.ben, gift["id"]))
    assert redeemed.status_code == 201, redeemed.get_json()
    (ask,) = asks(api, scene.ben)
    assert ask["title"] == "Ben, how was your Flat White at Amsterdam Centraal?"
    assert ask["data"]["charge_id"] == redeemed.get_json()["charge"]["id"]
    assert asks(api, scene.anna) == []

    # Cleo picks up a coffee on Anna's allowance the next day: Cleo is asked.
    clock.advance(timedelta(days=1))
    sign_in_again(api, scene.anna, scene.ben, scene.scanner)
    cleo = api.register("Cleo")
    befriend(api, scene.anna, cleo)
    body = {"grantee": cleo.handle, "amount": 1_000, "period": "week"}
    allowance = api.post("/v1/allowances", body, as_=scene.anna).get_json()
    code = api.post("/v1/wallet/pay-codes", {"allowance_id": allowance["id"]}, as_=cleo)
    picked_up = redeem(api, scene.scanner, code.get_json()["code"], items=[drink(scene.flat_white)])
    assert picked_up.status_code == 201, picked_up.get_json()
    assert [a["title"] for a in asks(api, cleo)] == [
        "Cleo, how was your Flat White at Amsterdam Centraal?"
    ]
    assert asks(api, scene.anna) == []


def test_a_free_reward_drink_is_asked_about_too(api, app):
    clock.freeze(MORNING)
    scene = gift_scene(api, funds=0)
    points(app, scene.anna, 50_00)
    code = reward_code(api, scene.anna, add_reward(api, scene.admin))
    response = charge(api, scene.scanner, code, items=[drink(scene.flat_white)])
    assert response.status_code == 201, response.get_json()
    (ask,) = asks(api, scene.anna)
    assert ask["data"]["charge_id"] == response.get_json()["charge"]["id"]
