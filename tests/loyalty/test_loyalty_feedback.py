"""Making it right at the counter: ratings of charges (a low one apologises at once, once),
goodwill given by charge id, and what the store's daily report shows of both."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.support import gifts as gift_support
from tests.support.api import problem
from tests.support.catalog import add_product
from tests.support.gifts import drink, gift_code, gift_scene, given, notes, redeem
from tests.support.loyalty import (
    add_reward,
    inbox,
    order,
    paid,
    post_from_many,
    race,
    rate,
    reward_code,
)
from tests.support.loyalty import charge as points
from tests.support.stores import (
    Counter,
    add_scanner,
    add_staff,
    add_store,
    balance,
    charge,
    counter_scene,
    fund,
    refund,
    sign_in_again,
)
from wallet_api.clock import clock

# 10:00 in Amsterdam.
MORNING = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

frozen = gift_support.frozen


def said(api, person):
    """The inbox, less the "how was it?" asked after each visit (loyalty/test_loyalty_asks.py)."""
    return [message for message in inbox(api, person) if message[0] != "rate_visit"]


@pytest.fixture
def bought(api):
    """Anna bought two flat whites at the scene's store."""
    clock.freeze(MORNING)
    scene = counter_scene(api, funds=20_00)
    scene.flat_white = add_product(api, scene.admin, "Flat White")
    scene.receipt = paid(api, scene, order(scene.flat_white, quantity=2))
    return scene


def test_good_ratings_are_thanked_and_move_no_money(api, bought):
    response = rate(api, bought.anna, bought.receipt["id"], 5, comment="Perfect foam")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["stars"], body["comment"], body["charge_id"]) == (
        5,
        "Perfect foam",
        bought.receipt["id"],
    )
    assert body["apology"] is None
    assert body["apology_credited"] is False
    assert body["message"] == "Thank you, Anna!"
    assert balance(api, bought.anna) == 20_00 - 7_80
    assert said(api, bought.anna) == []


@pytest.mark.parametrize("stars", [1, 2])
def test_a_low_rating_is_answered_with_one_apology_credit(api, bought, stars):
    response = rate(api, bought.anna, bought.receipt["id"], stars)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["apology"] == {"amount": 2_00, "currency": "EUR"}
    assert response.get_json()["apology_credited"] is True
    assert response.get_json()["message"] == "Sorry, Anna — we've added €2.00 to your wallet."
    problem(rate(api, bought.anna, bought.receipt["id"], 1), 409, "feedback_already_given")
    problem(rate(api, bought.anna, bought.receipt["id"], 5), 409, "feedback_already_given")
    assert balance(api, bought.anna) == 20_00 - 7_80 + 2_00
    ((kind, title, body),) = said(api, bought.anna)
    assert (kind, title) == ("apology", "Anna, we're sorry")
    assert "we've added €2.00 to your wallet" in body

    history = api.get("/v1/wallet/transactions", as_=bought.anna).get_json()["items"]
    assert (history[0]["kind"], history[0]["amount"]) == ("apology", 2_00)
    assert history[0]["charge_id"] == bought.receipt["id"]


def test_a_retried_rating_replays_its_answer(api, bought):
    first = rate(api, bought.anna, bought.receipt["id"], 1, idem="rating-1")
    again = rate(api, bought.anna, bought.receipt["id"], 1, idem="rating-1")
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert balance(api, bought.anna) == 20_00 - 7_80 + 2_00


def test_one_star_from_two_phones_at_once_apologises_once(api, app, bought):
    path = f"/v1/charges/{bought.receipt['id']}/feedback"
    codes = post_from_many(app, bought.anna, path, lambda i: {"stars": 1}, workers=4)
    assert codes == [201, 409, 409, 409]
    assert balance(api, bought.anna) == 20_00 - 7_80 + 2_00


def test_an_apology_that_does_not_fit_the_wallet_still_says_sorry(api, app, bought, monkeypatch):
    monkeypatch.setitem(app.config, "WALLET_MAX_BALANCE", 20_00 - 7_80)
    response = rate(api, bought.anna, bought.receipt["id"], 2)
    assert response.get_json()["apology"] == {"amount": 0, "currency": "EUR"}
    assert response.get_json()["message"] == "Sorry, Anna — thank you for telling us."
    assert balance(api, bought.anna) == 20_00 - 7_80


def test_only_the_person_who_drank_rates_a_charge(api, bought):
    ben, bas = api.register("Ben"), api.register("Bas")
    add_staff(api, bought.admin, bought.store["id"], bas)
    charge_id = bought.receipt["id"]
    for stranger in (ben, bas, bought.admin):  # the store's own staff did not pay either
        problem(rate(api, stranger, charge_id, 1), 404, "charge_not_found")
    problem(rate(api, bought.anna, str(uuid.uuid4()), 1), 404, "charge_not_found")
    problem(rate(api, bought.scanner.token, charge_id, 5), 403, "forbidden")
    problem(api.post(f"/v1/charges/{charge_id}/feedback", {"stars": 5}), 401, "token_missing")
    assert balance(api, bought.anna) == 20_00 - 7_80


# --- what an apology pays ------------------------------------------------------------------


def _rated(api, person, charge_id, stars=1):
    response = rate(api, person, charge_id, stars)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _no_credit(answer):
    assert answer["apology"] == {"amount": 0, "currency": "EUR"}
    assert answer["apology_credited"] is False
    assert answer["message"] == "Sorry, Anna — thank you for telling us."


def test_an_apology_never_pays_more_than_the_visit_cost(api, bought):
    cent = paid(api, bought, amount=1)
    answer = _rated(api, bought.anna, cent["id"])
    assert answer["apology"] == {"amount": 1, "currency": "EUR"}
    assert answer["apology_credited"] is True
    assert answer["message"] == "Sorry, Anna — we've added €0.01 to your wallet."
    assert balance(api, bought.anna) == 20_00 - 7_80


def test_an_apology_counts_what_was_refunded(api, bought):
    coffee, tea = paid(api, bought, amount=3_00), paid(api, bought, amount=2_50)
    assert refund(api, bought.scanner, coffee["id"], 2_40, "Cold").status_code == 201
    assert refund(api, bought.scanner, tea["id"], 2_50, "Wrong order").status_code == 201
    _no_credit(_rated(api, bought.anna, tea["id"]))  # fully refunded: it cost nothing
    assert _rated(api, bought.anna, coffee["id"])["apology"]["amount"] == 60
    # The coffee cost Anna 0.60 after its refund: that is all the apology pays.
    assert balance(api, bought.anna) == 20_00 - 7_80 - (3_00 - 2_40) + 60


def test_a_free_reward_drink_brings_a_sorry_but_no_money(api, app, bought):
    points(app, bought.anna, 50_00)
    reward = add_reward(api, bought.admin, "Any drink")
    code = reward_code(api, bought.anna, reward)
    response = charge(api, bought.scanner, code, items=order(bought.flat_white))
    assert response.status_code == 201, response.get_json()
    free = response.get_json()["charge"]
    assert free["amount"] == 0
    _no_credit(_rated(api, bought.anna, free["id"]))
    assert balance(api, bought.anna) == 20_00 - 7_80
    assert [k for k, _, _ in said(api, bought.anna)] == ["apology"]


def test_one_apology_credit_per_cooldown_however_many_bad_ratings(api, bought):
    visits = [paid(api, bought, amount=3_00) for _ in range(3)]
    assert _rated(api, bought.anna, bought.receipt["id"], 2)["apology_credited"] is True
    _no_credit(_rated(api, bought.anna, visits[0]["id"]))
    assert _rated(api, bought.anna, visits[1]["id"], 5)["apology"] is None
    clock.advance(timedelta(days=30) - timedelta(seconds=1))
    sign_in_again(api, bought.anna, bought.scanner)
    _no_credit(_rated(api, bought.anna, visits[2]["id"]))
    clock.advance(timedelta(seconds=2))
    sign_in_again(api, bought.anna, bought.scanner)
    later = paid(api, bought, amount=3_00)
    assert _rated(api, bought.anna, later["id"])["apology"]["amount"] == 2_00
    assert balance(api, bought.anna) == 20_00 - 7_80 - 4 * 3_00 + 2 * 2_00
    # Every bad rating was recorded and answered with a sorry.
    assert [k for k, _, _ in inbox(api, bought.anna) if k == "apology"] == ["apology"] * 4


def test_the_cooldown_is_configuration():
    from wallet_api.loyalty.rules import LoyaltyRules

    rules = LoyaltyRules.from_env({"WALLET_LOYALTY_APOLOGY_COOLDOWN_DAYS": "7"})
    assert rules.apology_cooldown_days == 7
    assert LoyaltyRules.from_env({}).apology_cooldown_days == 30


@pytest.mark.postgres_only
def test_two_bad_ratings_of_two_visits_at_once_credit_one_apology(api, app, bought):
    second = paid(api, bought, amount=3_00)
    charges = [bought.receipt["id"], second["id"]]

    def rate_one(i):
        headers = {**bought.anna.headers, "Idempotency-Key": f"rating-{i}"}
        path = f"/v1/charges/{charges[i]}/feedback"
        return app.test_client().post(path, json={"stars": 1}, headers=headers).get_json()

    answers = race(2, rate_one)
    assert sorted(a["apology_credited"] for a in answers) == [False, True]
    assert balance(api, bought.anna) == 20_00 - 7_80 - 3_00 + 2_00


# --- who rates a visit ----------------------------------------------------------------------


def test_the_recipient_rates_a_gift_and_the_giver_cannot(api, frozen):
    scene = gift_scene(api)
    gift = given(api, scene.anna, handle=scene.ben.handle, item=drink(scene.flat_white))
    code = gift_code(api, scene.ben, gift["id"])
    redeemed = redeem(api, scene.scanner, code)
    assert redeemed.status_code == 201, redeemed.get_json()
    charge_id = redeemed.get_json()["charge"]["id"]
    assert api.get(f"/v1/charges/{charge_id}", as_=scene.anna).status_code == 200
    refused = problem(rate(api, scene.anna, charge_id, 1), 403, "feedback_not_drinker")
    assert "had this drink" in refused["detail"]
    answer = _rated(api, scene.ben, charge_id)
    # Ben paid nothing for it: a sorry, no money; Anna's wallet does not hear of it.
    assert answer["apology"] == {"amount": 0, "currency": "EUR"}
    assert answer["message"] == "Sorry, Ben — thank you for telling us."
    assert balance(api, scene.ben) == 0
    assert balance(api, scene.anna) == 5_000 - 3_90
    assert [n["kind"] for n in notes(api, scene.ben, "apology")] == ["apology"]
    assert notes(api, scene.anna, "apology") == []


def test_the_friend_rates_a_coffee_on_an_allowance_and_the_owner_cannot(api, frozen):
    scene = gift_scene(api)
    body = {"grantee": scene.ben.handle, "amount": 1_000, "period": "week"}
    allowance = api.post("/v1/allowances", body, as_=scene.anna).get_json()
    code = api.post(
        "/v1/wallet/pay-codes", {"allowance_id": allowance["id"]}, as_=scene.ben
    ).get_json()["code"]
    picked_up = redeem(api, scene.scanner, code, items=[drink(scene.flat_white)])
    assert picked_up.status_code == 201, picked_up.get_json()
    charge_id = picked_up.get_json()["charge"]["id"]
    problem(rate(api, scene.anna, charge_id, 1), 403, "feedback_not_drinker")
    answer = _rated(api, scene.ben, charge_id)
    assert (answer["apology"]["amount"], answer["apology_credited"]) == (0, False)
    assert (balance(api, scene.ben), balance(api, scene.anna)) == (0, 5_000 - 3_90)
    # The rating is Ben's, on the store's report like any other.
    report = api.get(f"/v1/stores/{scene.store['id']}/reports/daily", as_=scene.admin).get_json()
    assert report["feedback"] == {"count": 1, "average_stars": 1.0}
    assert report["apologies"] == {"count": 1, "amount": 0}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"stars": 0}, "stars"),
        ({"stars": 6}, "stars"),
        ({"stars": 2.5}, "stars"),
        ({"stars": "1"}, "stars"),
        ({"comment": "Cold"}, "stars"),
        ({"stars": 3, "comment": "x" * 501}, "comment"),
        ({"stars": 3, "tip": 1}, "tip"),
    ],
)
def test_rating_validation(api, bought, body, field):
    path = f"/v1/charges/{bought.receipt['id']}/feedback"
    response = api.post(path, body, as_=bought.anna, idem=True)
    assert field in problem(response, 422, "validation_error")["errors"]


def test_a_rating_needs_an_idempotency_key(api, bought):
    response = rate(api, bought.anna, bought.receipt["id"], 1, idem=False)
    problem(response, 400, "idempotency_key_missing")


def test_the_daily_report_counts_ratings_and_apologies_of_its_store(api, app, bought):
    scene = bought
    other = add_store(api, scene.admin, "Elsewhere")
    elsewhere = add_scanner(api, scene.admin, other["id"])
    ben = api.register("Ben")
    fund(api, ben, 20_00)
    ben_receipt = paid(api, Counter(scene.admin, scene.store, scene.scanner, ben), amount=5_00)
    far = paid(api, Counter(scene.admin, other, elsewhere, scene.anna), amount=1_00)
    assert rate(api, scene.anna, scene.receipt["id"], 2).status_code == 201
    assert rate(api, ben, ben_receipt["id"], 5).status_code == 201
    assert rate(api, scene.anna, far["id"], 1).status_code == 201  # another store's
    second = paid(api, scene, amount=1_00)
    clock.advance(timedelta(days=1))  # rated the next day: the next day's report
    sign_in_again(api, scene.anna, scene.admin)
    assert rate(api, scene.anna, second["id"], 1).status_code == 201

    path = f"/v1/stores/{scene.store['id']}/reports/daily"
    today = api.get(path, as_=scene.admin, query_string={"date": "2026-03-02"}).get_json()
    assert today["feedback"] == {"count": 2, "average_stars": 3.5}
    assert today["apologies"] == {"count": 1, "amount": 2_00}
    tomorrow = api.get(path, as_=scene.admin, query_string={"date": "2026-03-03"}).get_json()
    assert tomorrow["feedback"] == {"count": 1, "average_stars": 1.0}
    # Anna had her apology credit yesterday: the store sees the sorry, without money.
    assert tomorrow["apologies"] == {"count": 1, "amount": 0}
    quiet = api.get(path, as_=scene.admin, query_string={"date": "2026-03-04"}).get_json()
    assert quiet["feedback"] == {"count": 0, "average_stars": None}
    assert quiet["apologies"] == {"count": 0, "amount": 0}


# --- goodwill by charge ---------------------------------------------------------------------


def _goodwill(api, who, **body):
    body = {"reason": "Long wait", **body}
    return api.post("/v1/goodwill", body, as_=who, idem=True)


def test_goodwill_by_charge_goes_to_the_customer_who_paid(api, app, bought):
    bas = api.register("Bas")
    add_staff(api, bought.admin, bought.store["id"], bas)
    response = _goodwill(api, bas, charge_id=bought.receipt["id"], amount=1_50)
    assert response.status_code == 201, response.get_json()
    grant = response.get_json()
    assert (grant["user_id"], grant["charge_id"], grant["amount"]) == (
        bought.anna.id,
        bought.receipt["id"],
        1_50,
    )
    assert balance(api, bought.anna) == 20_00 - 7_80 + 1_50
    history = api.get("/v1/wallet/transactions", as_=bought.anna).get_json()["items"]
    assert history[0]["kind"] == "goodwill"
    assert history[0]["charge_id"] == bought.receipt["id"]
    assert history[0]["store"] == {"id": bought.store["id"], "name": bought.store["name"]}
    ((kind, title, _),) = said(api, bought.anna)
    assert (kind, title) == ("goodwill", "Anna, this one's on us")
    notes = api.get("/v1/notifications", as_=bought.anna).get_json()["items"]
    assert notes[0]["data"]["charge_id"] == bought.receipt["id"]

    # Admins may give it for any store's charge; goodwill by user id works as before.
    assert _goodwill(api, bought.admin, charge_id=bought.receipt["id"], amount=1).status_code == 201
    assert _goodwill(api, bas, user_id=bought.anna.id, amount=1).status_code == 201


def test_goodwill_by_charge_of_ones_own_purchase_is_refused(api, app, bought):
    """Staff who paid at their own store cannot make that visit right for themselves; a
    colleague can."""
    bas, kim = api.register("Bas"), api.register("Kim")
    for person in (bas, kim):
        add_staff(api, bought.admin, bought.store["id"], person)
    fund(api, bas, 10_00)
    receipt = paid(api, Counter(bought.admin, bought.store, bought.scanner, bas), amount=3_00)
    reward = add_reward(api, bought.admin)
    for gift in ({"amount": 1_00}, {"reward_id": reward["id"]}):
        response = _goodwill(api, bas, charge_id=receipt["id"], **gift)
        problem(response, 422, "goodwill_to_self")
    assert balance(api, bas) == 7_00
    assert api.get("/v1/loyalty/reward-codes", as_=bas).get_json()["items"] == []
    assert _goodwill(api, kim, charge_id=receipt["id"], amount=1_00).status_code == 201
    assert balance(api, bas) == 8_00


def test_goodwill_by_charge_errors(api, bought):
    other = add_store(api, bought.admin, "Elsewhere")
    olga = api.register("Olga")
    add_staff(api, bought.admin, other["id"], olga)
    charge_id = bought.receipt["id"]
    # Staff of another store cannot tell the charge exists.
    problem(_goodwill(api, olga, charge_id=charge_id, amount=1_00), 404, "charge_not_found")
    unknown = str(uuid.uuid4())
    problem(_goodwill(api, bought.admin, charge_id=unknown, amount=1_00), 404, "charge_not_found")
    problem(_goodwill(api, bought.anna, charge_id=charge_id, amount=1_00), 403, "forbidden")
    both = {"charge_id": charge_id, "user_id": bought.anna.id, "amount": 1_00}
    assert "user_id" in problem(_goodwill(api, olga, **both), 422, "validation_error")["errors"]
    neither = problem(_goodwill(api, olga, amount=1_00), 422, "validation_error")
    assert "user_id" in neither["errors"]
    assert balance(api, bought.anna) == 20_00 - 7_80
