"""Making it right: switcher welcomes, goodwill, apologies; and rewards for blend creators."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta

import pytest

from tests.support.api import problem
from tests.support.loyalty import (
    START,
    STORE,
    add_reward,
    audit_tags,
    hook,
    inbox,
    points_of,
    post_from_many,
    race,
    service,
    sign_in_again,
    uid,
    wallet_of,
)
from wallet_api.clock import clock, utcnow


def _rules(app, monkeypatch, **changes):
    rules = app.config["WALLET_LOYALTY_RULES"]
    monkeypatch.setitem(app.config, "WALLET_LOYALTY_RULES", dataclasses.replace(rules, **changes))


# --- switcher welcome ---------------------------------------------------------------------


def test_the_switcher_bonus_is_granted_once_per_customer_ever(api, app):
    bas, anna = api.register_with_role("staff", "Bas"), api.register("Anna")
    body = {"user_id": anna.id, "chain_name": "Star Coffee"}
    first = api.post("/v1/loyalty/switcher-bonus", body, as_=bas, idem="switch-1")
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["points"] == 500
    assert first.get_json()["granted_by"] == bas.id
    # A retry of the same request replays the answer; it does not grant again.
    replay = api.post("/v1/loyalty/switcher-bonus", body, as_=bas, idem="switch-1")
    assert replay.status_code == 201
    assert replay.get_json() == first.get_json()
    # Another card, another staff member, another day: still once.
    ada = api.admin()
    again = {"user_id": anna.id, "chain_name": "Coffee Corner"}
    problem(
        api.post("/v1/loyalty/switcher-bonus", again, as_=ada, idem=True),
        409,
        "switcher_bonus_already_granted",
    )
    assert points_of(app, anna) == 500
    assert audit_tags(app, anna) == ["loyalty:switcher_bonus:granted"]
    kind, title, body_text = inbox(api, anna)[-1]
    assert (kind, title) == ("switcher_bonus", "Anna, welcome, and thanks for switching!")
    assert "Star Coffee" in body_text


def test_switcher_bonus_errors(api):
    bas, anna = api.register_with_role("staff", "Bas"), api.register("Anna")
    body = {"user_id": anna.id, "chain_name": "Star Coffee"}
    problem(api.post("/v1/loyalty/switcher-bonus", body, as_=anna, idem=True), 403, "forbidden")
    stranger = {"user_id": str(uuid.uuid4()), "chain_name": "Star Coffee"}
    problem(
        api.post("/v1/loyalty/switcher-bonus", stranger, as_=bas, idem=True), 404, "user_not_found"
    )
    problem(
        api.post("/v1/loyalty/switcher-bonus", {"user_id": anna.id}, as_=bas, idem=True),
        422,
        "validation_error",
    )
    problem(api.post("/v1/loyalty/switcher-bonus", body, as_=bas), 400, "idempotency_key_missing")


def test_staff_cannot_give_themselves_the_switcher_bonus(api, app):
    bas, ada = api.register_with_role("staff", "Bas"), api.admin()
    for person in (bas, ada):
        body = {"user_id": person.id, "chain_name": "Star Coffee"}
        response = api.post("/v1/loyalty/switcher-bonus", body, as_=person, idem=True)
        problem(response, 422, "grant_to_self")
        assert points_of(app, person) == 0
        assert audit_tags(app, person) == []
    # Each may still welcome the other: the refusal is about oneself only.
    body = {"user_id": bas.id, "chain_name": "Star Coffee"}
    assert api.post("/v1/loyalty/switcher-bonus", body, as_=ada, idem=True).status_code == 201
    assert points_of(app, bas) == 500


def test_two_tills_granting_the_switcher_bonus_at_once_grant_it_once(api, app):
    bas, anna = api.register_with_role("staff", "Bas"), api.register("Anna")

    codes = post_from_many(
        app,
        bas,
        "/v1/loyalty/switcher-bonus",
        lambda i: {"user_id": anna.id, "chain_name": f"Chain {i}"},
        workers=4,
    )
    assert codes == [201, 409, 409, 409]
    assert points_of(app, anna) == 500


# --- goodwill -----------------------------------------------------------------------------


def test_goodwill_money_with_a_reason_and_a_personal_message(api, app):
    bas, anna = api.register_with_role("staff", "Bas"), api.register("Anna")
    body = {
        "user_id": anna.id,
        "amount": 2_50,
        "reason": "Waited 15 minutes for a flat white",
        "message": "sorry about the wait this morning, the next one is on us",
    }
    response = api.post("/v1/goodwill", body, as_=bas, idem=True)
    assert response.status_code == 201, response.get_json()
    grant = response.get_json()
    assert (grant["amount"], grant["currency"], grant["staff_id"]) == (2_50, "EUR", bas.id)
    assert wallet_of(app, anna) == 2_50
    assert inbox(api, anna)[-1] == (
        "goodwill",
        "Anna, this one's on us",
        "Anna, sorry about the wait this morning, the next one is on us. Bas",
    )
    assert audit_tags(app, anna) == ["loyalty:goodwill:credited"]


def test_goodwill_reward_reaches_the_customer_and_never_the_staff(api, app):
    ada, bas, anna = api.admin(), api.register_with_role("staff", "Bas"), api.register("Anna")
    reward = add_reward(api, ada)
    body = {"user_id": anna.id, "reward_id": reward["id"], "reason": "Spilled drink"}
    response = api.post("/v1/goodwill", body, as_=bas, idem=True)
    assert response.status_code == 201
    assert "code" not in response.get_json()
    code_id = response.get_json()["reward_code_id"]
    assert inbox(api, anna)[-1][2] == "Anna, Free drink is on us: find it in your rewards. Bas"

    mine = api.get("/v1/loyalty/reward-codes", as_=anna).get_json()["items"]
    assert [(c["id"], c["source"], c["points_spent"]) for c in mine] == [(code_id, "goodwill", 0)]
    code = api.post(f"/v1/loyalty/reward-codes/{code_id}/code", as_=anna).get_json()["code"]
    redeemed = hook(app, service().redeem_reward_code, code, store_id=STORE, at=utcnow())
    assert redeemed["reward"]["name"] == "Free drink"
    assert audit_tags(app, anna) == ["loyalty:goodwill:reward"]


def test_goodwill_is_limited_per_staff_member_per_day(api, app):
    clock.freeze(START)
    bas, kim = api.register_with_role("staff", "Bas"), api.register_with_role("staff", "Kim")
    anna = api.register("Anna")

    def give(person, cents):
        body = {"user_id": anna.id, "amount": cents, "reason": "Slow service"}
        return api.post("/v1/goodwill", body, as_=person, idem=True)

    assert give(bas, 20_00).status_code == 201
    over = problem(give(bas, 6_00), 422, "goodwill_limit_exceeded")
    assert over["remaining_cents"] == 5_00
    assert give(kim, 6_00).status_code == 201  # the limit is per person
    assert give(bas, 5_00).status_code == 201
    problem(give(bas, 1), 422, "goodwill_limit_exceeded")
    clock.advance(timedelta(days=1))
    assert give(sign_in_again(api, bas), 10_00).status_code == 201
    assert wallet_of(app, anna) == 41_00


def test_goodwill_counts_grants_too(api, app, monkeypatch):
    _rules(app, monkeypatch, goodwill_daily_grants=2)
    ada, bas, anna = api.admin(), api.register_with_role("staff", "Bas"), api.register("Anna")
    reward = add_reward(api, ada)
    body = {"user_id": anna.id, "reward_id": reward["id"], "reason": "Wrong milk"}
    for _ in range(2):
        assert api.post("/v1/goodwill", body, as_=bas, idem=True).status_code == 201
    over = problem(
        api.post("/v1/goodwill", body, as_=bas, idem=True), 422, "goodwill_limit_exceeded"
    )
    assert over["remaining_grants"] == 0


def test_goodwill_from_one_person_at_many_tills_stays_within_the_limit(api, app):
    bas, anna = api.register_with_role("staff", "Bas"), api.register("Anna")

    body = {"user_id": anna.id, "amount": 10_00, "reason": "Broken machine"}
    codes = post_from_many(app, bas, "/v1/goodwill", lambda i: body, workers=5)
    assert codes == [201, 201, 422, 422, 422]
    assert wallet_of(app, anna) == 20_00


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": 1_00}, "reason"),
        ({"reason": "Because"}, "amount"),
        ({"amount": 1_00, "reward_id": str(uuid.uuid4()), "reason": "Both"}, "amount"),
        ({"amount": 0, "reason": "Nothing"}, "amount"),
        ({"amount": 1.5, "reason": "Fractions"}, "amount"),
        ({"amount": 100_01, "reason": "Too much at once"}, "amount"),
    ],
)
def test_goodwill_validation(api, body, field):
    bas, anna = api.register_with_role("staff", "Bas"), api.register("Anna")
    response = api.post("/v1/goodwill", {"user_id": anna.id, **body}, as_=bas, idem=True)
    assert field in problem(response, 422, "validation_error")["errors"]


def test_goodwill_errors(api, app):
    bas, anna = api.register_with_role("staff", "Bas"), api.register("Anna")
    body = {"user_id": anna.id, "amount": 1_00, "reason": "Sorry"}
    problem(api.post("/v1/goodwill", body, as_=anna, idem=True), 403, "forbidden")
    to_self = {**body, "user_id": bas.id}
    problem(api.post("/v1/goodwill", to_self, as_=bas, idem=True), 422, "goodwill_to_self")
    ada = api.admin()
    to_admin = {**body, "user_id": ada.id}
    problem(api.post("/v1/goodwill", to_admin, as_=ada, idem=True), 422, "goodwill_to_self")
    stranger = {**body, "user_id": str(uuid.uuid4())}
    problem(api.post("/v1/goodwill", stranger, as_=bas, idem=True), 404, "user_not_found")
    unknown = {"user_id": anna.id, "reward_id": str(uuid.uuid4()), "reason": "Sorry"}
    problem(api.post("/v1/goodwill", unknown, as_=bas, idem=True), 404, "reward_not_found")
    assert wallet_of(app, anna) == 0
    assert audit_tags(app, anna) == []


def test_goodwill_respects_the_maximum_wallet_balance(api, app, monkeypatch):
    monkeypatch.setitem(app.config, "WALLET_MAX_BALANCE", 1_00)
    bas, anna = api.register_with_role("staff", "Bas"), api.register("Anna")
    body = {"user_id": anna.id, "amount": 2_00, "reason": "Sorry"}
    problem(api.post("/v1/goodwill", body, as_=bas, idem=True), 422, "balance_limit_exceeded")


# --- apologies ------------------------------------------------------------------------------


def _feedback(app, person, charge_id, stars, paid_cents=5_00):
    return hook(
        app,
        service().apology_for_feedback,
        uid(person),
        charge_id=charge_id,
        stars=stars,
        store_id=STORE,
        paid_cents=paid_cents,
    )


def test_a_bad_rating_produces_exactly_one_apology_credit(api, app):
    anna = api.register("Anna")
    charge_id = uuid.uuid4()
    answer = _feedback(app, anna, charge_id, 1)
    assert answer["credited_cents"] == 2_00
    assert answer["already_apologised"] is False
    assert answer["store_message"].startswith("Anna rated a purchase 1 of 5; we credited €2.00")
    again = _feedback(app, anna, charge_id, 2)
    assert again["already_apologised"] is True
    assert wallet_of(app, anna) == 2_00
    assert [k for k, _, _ in inbox(api, anna)] == ["apology"]
    assert inbox(api, anna)[0][2].startswith("Anna, we're sorry your visit")
    assert audit_tags(app, anna) == ["loyalty:apology:credited"]
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    listed = hook(
        app,
        lambda: [
            a.charge_id
            for a in service().apologies_for_store(STORE, today, today + timedelta(days=1))
        ],
    )
    assert listed == [charge_id]


def test_good_ratings_need_no_apology(api, app):
    anna = api.register("Anna")
    assert [_feedback(app, anna, uuid.uuid4(), stars) for stars in (3, 4, 5)] == [None] * 3
    assert wallet_of(app, anna) == 0
    with pytest.raises(ValueError, match="stars"):
        _feedback(app, anna, uuid.uuid4(), 0)


def test_the_same_bad_rating_sent_twice_at_once_apologises_once(api, app):
    anna = api.register("Anna")
    charge_id = uuid.uuid4()
    answers = race(4, lambda i: _feedback(app, anna, charge_id, 1))
    assert sorted(a["already_apologised"] for a in answers) == [False, True, True, True]
    assert wallet_of(app, anna) == 2_00


def test_an_apology_fits_under_the_maximum_balance(api, app, monkeypatch):
    from wallet_api.ledger import service as ledger
    from wallet_api.ledger.models import AccountKind

    _rules(app, monkeypatch, apology_cooldown_days=0)
    monkeypatch.setitem(app.config, "WALLET_MAX_BALANCE", 5_50)
    anna = api.register("Anna")
    hook(
        app,
        lambda: ledger.transfer(
            "top_up",
            ledger.system_account(AccountKind.TOPUP_CLEARING),
            ledger.wallet_account(uid(anna)),
            5_00,
        ),
    )
    assert _feedback(app, anna, uuid.uuid4(), 2)["credited_cents"] == 50
    full = _feedback(app, anna, uuid.uuid4(), 1)
    assert full["credited_cents"] == 0
    assert "no credit fit" in full["store_message"]
    assert wallet_of(app, anna) == 5_50


def test_the_store_hears_why_an_apology_paid_nothing(api, app):
    anna = api.register("Anna")
    free = _feedback(app, anna, uuid.uuid4(), 1, paid_cents=0)
    assert free["credited_cents"] == 0
    assert "nothing was paid for it, so no credit" in free["store_message"]
    assert _feedback(app, anna, uuid.uuid4(), 2)["credited_cents"] == 2_00
    again = _feedback(app, anna, uuid.uuid4(), 1)
    assert again["credited_cents"] == 0
    assert "they had an apology credit recently" in again["store_message"]
    assert wallet_of(app, anna) == 2_00
    assert [k for k, _, _ in inbox(api, anna)] == ["apology"] * 3


# --- creators -----------------------------------------------------------------------------


def _enjoy(app, creator, blend_id, fan, reason="order", at=None):
    return hook(
        app,
        service().reward_creator,
        uid(creator),
        blend_id=blend_id,
        by_user_id=uid(fan),
        reason=reason,
        at=at or utcnow(),
    )


def test_creators_earn_when_others_enjoy_their_blend_capped_per_day(api, app):
    clock.freeze(START)
    anna, ben, cleo = api.register("Anna"), api.register("Ben"), api.register("Cleo")
    blend = uuid.uuid4()
    assert _enjoy(app, anna, blend, anna) == 0  # my own order earns nothing
    assert _enjoy(app, anna, blend, ben, "copy") == 20
    earned = [_enjoy(app, anna, blend, cleo) for _ in range(10)]
    assert earned == [20] * 9 + [0]  # the daily cap is 200
    assert points_of(app, anna) == 200
    assert _enjoy(app, anna, blend, ben, at=START + timedelta(days=1)) == 20
    assert hook(app, service().blend_enjoyed_by, blend) == 2
    messages = inbox(api, anna)
    assert [kind for kind, _, _ in messages] == ["creator_bonus"] * 11  # none at the cap
    assert (
        "creator_bonus",
        "Anna, Ben enjoyed your blend",
        "Anna, Ben copied your blend: here are 20 points.",
    ) in messages
    with pytest.raises(ValueError, match="reason"):
        _enjoy(app, anna, blend, ben, reason="like")
