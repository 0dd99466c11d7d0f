"""Rewards: points buy a single-use code, redeemed once at the till (the scanner's hooks)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest

from tests.support.api import problem
from tests.support.catalog import add_product
from tests.support.loyalty import (
    START,
    STORE,
    add_reward,
    charge,
    hook,
    inbox,
    points_of,
    post_from_many,
    race,
    service,
    sign_in_again,
)
from wallet_api.clock import clock, utcnow

CODE = re.compile(r"^RW[A-Z2-7]{24}$")  # 24 base32 characters: 120 random bits


def _redeem(api, person, reward, **kwargs):
    return api.post(
        f"/v1/loyalty/rewards/{reward['id']}/redeem", as_=person, idem=kwargs.pop("idem", True)
    )


def _scan(app, code, store_id=STORE):
    return hook(app, service().redeem_reward_code, code, store_id=store_id, at=utcnow())


def _errors():
    # Reward codes fail with the scanner's errors, shared by every kind of code.
    from wallet_api.counter import errors

    return errors


@pytest.fixture
def anna_with_a_code(api, app):
    clock.freeze(START)
    ada = api.admin()
    reward = add_reward(api, ada, points_cost=400)
    anna = api.register("Anna")
    charge(app, anna, 50_00)
    response = _redeem(api, anna, reward)
    assert response.status_code == 201, response.get_json()
    return anna, reward, response.get_json()


def test_admin_builds_the_rewards_catalog(api):
    ada = api.admin()
    flat_white = add_product(api, ada)
    add_reward(api, ada, "Free drink")
    add_reward(api, ada, "Large Flat White", points_cost=300, product_id=flat_white["id"], size="L")
    anna = api.register("Anna")
    listed = api.get("/v1/loyalty/rewards", as_=anna)
    assert listed.status_code == 200
    items = listed.get_json()["items"]
    assert [(r["name"], r["points_cost"], r["size"]) for r in items] == [
        ("Large Flat White", 300, "L"),
        ("Free drink", 500, None),
    ]


def test_rewards_catalog_errors(api):
    ada, anna = api.admin(), api.register("Anna")
    add_reward(api, ada, "Free drink")
    problem(
        api.post("/v1/loyalty/rewards", {"name": "X", "points_cost": 1}, as_=anna), 403, "forbidden"
    )
    problem(
        api.post("/v1/loyalty/rewards", {"name": "Free drink", "points_cost": 9}, as_=ada),
        409,
        "reward_name_taken",
    )
    body = {"name": "Y", "points_cost": 9, "product_id": str(uuid.uuid4())}
    problem(api.post("/v1/loyalty/rewards", body, as_=ada), 422, "product_unknown")
    problem(
        api.post("/v1/loyalty/rewards", {"name": "Z", "points_cost": 2.5}, as_=ada),
        422,
        "validation_error",
    )


def test_redeeming_spends_points_and_issues_a_code_shown_once(api, app, anna_with_a_code):
    anna, reward, issued = anna_with_a_code
    assert CODE.match(issued["code"])
    assert issued["reward"]["id"] == reward["id"]
    assert issued["points_spent"] == 400
    assert issued["status"] == "valid"
    assert issued["expires_at"] == (utcnow() + timedelta(days=30)).isoformat()
    assert points_of(app, anna) == 100

    mine = api.get("/v1/loyalty/reward-codes", as_=anna).get_json()["items"]
    assert [c["id"] for c in mine] == [issued["id"]]
    assert "code" not in mine[0]
    assert mine[0]["code_hint"] == issued["code"][-4:]

    # Only a hash is kept.
    from sqlalchemy import select

    from wallet_api.extensions import db
    from wallet_api.loyalty.models import RewardCode

    stored = hook(app, lambda: db.session.scalar(select(RewardCode.code_hash)))
    assert issued["code"] not in stored


def test_a_retry_with_the_same_key_returns_the_same_code_and_spends_once(api, app):
    ada, anna = api.admin(), api.register("Anna")
    reward = add_reward(api, ada, points_cost=100)
    charge(app, anna, 50_00)
    first = _redeem(api, anna, reward, idem="redeem-1")
    again = _redeem(api, anna, reward, idem="redeem-1")
    assert first.status_code == again.status_code == 201
    assert again.get_json()["code"] == first.get_json()["code"]
    assert points_of(app, anna) == 400


def test_not_enough_points_is_402(api, app):
    ada, anna = api.admin(), api.register("Anna")
    reward = add_reward(api, ada, points_cost=500)
    charge(app, anna, 49_00)
    problem(_redeem(api, anna, reward), 402, "insufficient_points")
    assert points_of(app, anna) == 490
    assert api.get("/v1/loyalty/reward-codes", as_=anna).get_json()["items"] == []


def test_unknown_or_retired_rewards_are_404(api, app):
    from wallet_api.extensions import db
    from wallet_api.loyalty.models import Reward

    ada, anna = api.admin(), api.register("Anna")
    problem(_redeem(api, anna, {"id": uuid.uuid4()}), 404, "reward_not_found")
    retired = add_reward(api, ada, is_active=False)
    problem(_redeem(api, anna, retired), 404, "reward_not_found")
    assert hook(app, lambda: db.session.get(Reward, uuid.UUID(retired["id"])).name)


def test_redeem_needs_an_idempotency_key(api, anna_with_a_code):
    anna, reward, _ = anna_with_a_code
    problem(_redeem(api, anna, reward, idem=False), 400, "idempotency_key_missing")


def test_the_scanner_previews_then_redeems_a_code_exactly_once(api, app, anna_with_a_code):
    anna, reward, issued = anna_with_a_code
    code = issued["code"].lower()
    spaced = " ".join(code[i : i + 4] for i in range(0, len(code), 4))  # as a person types it
    preview = hook(app, service().preview_reward_code, spaced)
    assert preview["kind"] == "reward"
    assert preview["customer"]["first_name"] == "Anna"
    assert preview["greeting"].startswith("Hi Anna!")
    assert preview["reward"]["name"] == reward["name"]
    assert preview["status"] == "valid"

    redeemed = _scan(app, issued["code"])
    assert redeemed["status"] == "redeemed"
    assert redeemed["redeemed_store_id"] == STORE

    with pytest.raises(_errors().CodeAlreadyUsed):
        _scan(app, issued["code"])
    with pytest.raises(_errors().CodeAlreadyUsed):
        hook(app, service().preview_reward_code, issued["code"])
    listed = api.get("/v1/loyalty/reward-codes", as_=anna).get_json()["items"]
    assert listed[0]["status"] == "redeemed"


def test_unknown_codes(app):
    with pytest.raises(_errors().CodeUnknown):
        _scan(app, "RW" + "A" * 24)
    with pytest.raises(_errors().CodeUnknown):
        hook(app, service().preview_reward_code, "not a code")
    assert service().looks_like_reward_code(" rw abcd ")
    assert not service().looks_like_reward_code("PAY-123")


def test_expired_codes_fail_and_their_points_come_back_once(api, app):
    clock.freeze(START)
    ada, anna = api.admin(), api.register("Anna")
    reward = add_reward(api, ada, points_cost=400)
    charge(app, anna, 50_00)
    issued = _redeem(api, anna, reward).get_json()
    assert points_of(app, anna) == 100

    clock.advance(timedelta(days=30))
    with pytest.raises(_errors().CodeExpired):
        _scan(app, issued["code"])
    listed = api.get("/v1/loyalty/reward-codes", as_=sign_in_again(api, anna)).get_json()
    assert listed["items"][0]["status"] == "expired"

    runner = app.test_cli_runner()
    assert (
        "returned points of 1 expired codes" in runner.invoke(args=["loyalty", "evaluate"]).output
    )
    assert (
        "returned points of 0 expired codes" in runner.invoke(args=["loyalty", "evaluate"]).output
    )
    assert points_of(app, anna) == 500
    assert inbox(api, anna)[-1][2] == (
        "Anna, your Free drink code expired before you used it, so the 400 points are back "
        "in your account."
    )
    with pytest.raises(_errors().CodeExpired):
        _scan(app, issued["code"])


def test_a_lost_code_is_replaced_and_the_old_one_stops_working(api, app, anna_with_a_code):
    anna, _, issued = anna_with_a_code
    response = api.post(f"/v1/loyalty/reward-codes/{issued['id']}/code", as_=anna)
    assert response.status_code == 200
    fresh = response.get_json()["code"]
    assert CODE.match(fresh)
    assert fresh != issued["code"]
    with pytest.raises(_errors().CodeUnknown):
        _scan(app, issued["code"])
    assert _scan(app, fresh)["status"] == "redeemed"
    problem(
        api.post(f"/v1/loyalty/reward-codes/{issued['id']}/code", as_=anna),
        409,
        "code_already_used",
    )


def test_someone_elses_code_is_404(api, anna_with_a_code):
    _, _, issued = anna_with_a_code
    ben = api.register("Ben")
    problem(
        api.post(f"/v1/loyalty/reward-codes/{issued['id']}/code", as_=ben),
        404,
        "reward_code_not_found",
    )
    assert api.get("/v1/loyalty/reward-codes", as_=ben).get_json()["items"] == []


def test_an_expired_code_cannot_be_replaced(api, app, anna_with_a_code):
    anna, _, issued = anna_with_a_code
    clock.freeze(utcnow() + timedelta(days=31))
    problem(
        api.post(f"/v1/loyalty/reward-codes/{issued['id']}/code", as_=sign_in_again(api, anna)),
        410,
        "code_expired",
    )


def test_two_tills_scanning_one_code_at_once_redeem_it_once(api, app, anna_with_a_code):
    _, _, issued = anna_with_a_code
    results = race(6, lambda i: _scan(app, issued["code"], store_id=uuid.uuid4()))
    wins = [r for r in results if isinstance(r, dict)]
    assert len(wins) == 1
    assert all(isinstance(r, _errors().CodeAlreadyUsed) for r in results if r not in wins)


def test_redeeming_with_points_for_one_from_two_phones_gives_one_code(api, app):
    ada, anna = api.admin(), api.register("Anna")
    reward = add_reward(api, ada, points_cost=500)
    charge(app, anna, 50_00)

    path = f"/v1/loyalty/rewards/{reward['id']}/redeem"
    assert post_from_many(app, anna, path, lambda i: None, workers=4) == [201, 402, 402, 402]
    assert points_of(app, anna) == 0


def test_retiring_a_reward_keeps_the_codes_already_bought(api, app, anna_with_a_code):
    anna, reward, issued = anna_with_a_code
    ada = api.admin()
    path = f"/v1/loyalty/rewards/{reward['id']}"
    problem(api.patch(path, {"is_active": False}, as_=anna), 403, "forbidden")
    retired = api.patch(path, {"is_active": False, "points_cost": 450}, as_=ada)
    assert retired.status_code == 200
    assert (retired.get_json()["is_active"], retired.get_json()["points_cost"]) == (False, 450)
    assert api.get("/v1/loyalty/rewards", as_=anna).get_json()["items"] == []
    problem(_redeem(api, anna, reward), 404, "reward_not_found")
    assert _scan(app, issued["code"])["status"] == "redeemed"

    add_reward(api, ada, "Cake")
    problem(api.patch(path, {"name": "Cake"}, as_=ada), 409, "reward_name_taken")
    problem(
        api.patch(f"/v1/loyalty/rewards/{uuid.uuid4()}", {"is_active": True}, as_=ada),
        404,
        "reward_not_found",
    )


def test_the_demo_has_rewards_and_a_welcome_offer_once(api, app):
    runner = app.test_cli_runner()
    for _ in range(2):
        assert runner.invoke(args=["seed-demo"]).exit_code == 0
    anna = api.register("Anna")
    rewards = api.get("/v1/loyalty/rewards", as_=anna).get_json()["items"]
    assert sorted(r["name"] for r in rewards) == ["Free drink, any size", "Free small drink"]
    offers = api.get("/v1/offers", as_=anna).get_json()["items"]
    assert [(o["title"], o["is_welcome"]) for o in offers] == [("Welcome", True)]
