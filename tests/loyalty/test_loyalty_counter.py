"""Loyalty at the counter: offers and points at the charge, points back on refunds, and
reward codes read, previewed and redeemed by the scanner."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.support.api import problem
from tests.support.catalog import add_product
from tests.support.loyalty import (
    START,
    add_offer,
    add_reward,
    charge,
    order,
    paid,
    pay,
    reward_code,
)
from tests.support.social import in_parallel
from tests.support.stores import (
    add_scanner,
    add_staff,
    add_store,
    balance,
    counter_scene,
    refund,
    sign_in_again,
)
from tests.support.stores import charge as charge_code
from wallet_api.clock import clock, utcnow


def _transaction(app, charge_id):
    """The ledger transaction of a charge: its kind, its legs by account kind, its meta."""
    from sqlalchemy import select

    from wallet_api.counter.models import Charge
    from wallet_api.extensions import db
    from wallet_api.ledger.models import Account, LedgerTransaction

    with app.app_context():
        row = db.session.get(Charge, uuid.UUID(charge_id))
        transaction = db.session.scalar(
            select(LedgerTransaction).where(
                LedgerTransaction.public_id == row.ledger_transaction_id
            )
        )
        legs = {
            db.session.get(Account, e.account_id).kind.value: e.amount for e in transaction.entries
        }
        return transaction.kind, legs, dict(transaction.meta)


def _points(api, person):
    response = api.get("/v1/loyalty", as_=person)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["points"]


# --- offers and points at the charge ----------------------------------------------------


def test_offers_apply_at_the_charge_and_promotions_pay_the_store_the_discount(api, app):
    scene = counter_scene(api, funds=50_00)
    flat_white = add_product(api, scene.admin, "Flat White")  # M 3.90
    add_offer(api, scene.admin, "Flat white Friday", product_id=flat_white["id"])  # 10%
    add_offer(api, scene.admin, "Welcome", kind="fixed", value=1_00, is_welcome=True)
    add_offer(api, scene.admin, "Double points", kind="bonus_points", value=50)

    first = paid(api, scene, order(flat_white, quantity=2))
    assert (first["subtotal"], first["discount"], first["amount"]) == (7_80, 1_78, 6_02)
    assert first["offers"] == [
        "Flat white Friday: 10% off, -€0.78",
        "Welcome: -€1.00",
        "Double points: +50 points",
    ]
    assert first["points_earned"] == 60 + 50
    assert balance(api, scene.anna) == 50_00 - 6_02
    # The store sold 7.80 of coffee: the wallet paid 6.02 and the promotions account 1.78.
    kind, legs, meta = _transaction(app, first["id"])
    assert kind == "charge"
    assert legs == {"store_sales": 7_80, "wallet": -6_02, "promotions": -1_78}
    assert (meta["subtotal"], meta["discount"], meta["points_earned"]) == (7_80, 1_78, 110)

    # The welcome offer was once per customer; the others keep applying.
    second = paid(api, scene, order(flat_white))
    assert second["offers"] == ["Flat white Friday: 10% off, -€0.39", "Double points: +50 points"]
    assert second["amount"] == 3_51
    assert _points(api, scene.anna) == 110 + 35 + 50
    offers = api.get("/v1/offers", as_=scene.anna).get_json()["items"]
    assert "Welcome" not in {o["title"] for o in offers}


def test_an_offer_may_pay_the_whole_charge(api, app):
    scene = counter_scene(api, funds=10_00)
    espresso = add_product(api, scene.admin, "Espresso")
    add_offer(api, scene.admin, "On the house", kind="fixed", value=5_00)
    receipt = paid(api, scene, order(espresso, "S"))
    assert (receipt["subtotal"], receipt["discount"], receipt["amount"]) == (3_50, 3_50, 0)
    assert receipt["points_earned"] == 0
    assert balance(api, scene.anna) == 10_00
    _, legs, _ = _transaction(app, receipt["id"])
    assert legs == {"store_sales": 3_50, "promotions": -3_50}
    # Nothing was paid, so nothing can be refunded.
    refunded = refund(api, scene.admin, receipt["id"], 1, "Cold")
    assert problem(refunded, 422, "refund_exceeds_charge")["refundable"] == 0


def test_a_charge_the_wallet_cannot_pay_uses_no_offer_and_earns_nothing(api):
    scene = counter_scene(api, funds=3_00)
    flat_white = add_product(api, scene.admin, "Flat White")
    add_offer(api, scene.admin, "Welcome", kind="fixed", value=1_00, is_welcome=True)
    problem(pay(api, scene, order(flat_white, quantity=2)), 402, "insufficient_funds")
    assert _points(api, scene.anna) == 0
    welcome = api.get("/v1/offers", as_=scene.anna).get_json()["items"]
    assert [o["title"] for o in welcome] == ["Welcome"]
    # With the welcome offer, one flat white fits the 3.00 left.
    receipt = paid(api, scene, order(flat_white))
    assert (receipt["amount"], receipt["offers"]) == (2_90, ["Welcome: -€1.00"])
    assert balance(api, scene.anna) == 10


def test_refunds_take_points_back_in_proportion(api):
    scene = counter_scene(api, funds=50_00)
    bas = api.register("Bas")
    add_staff(api, scene.admin, scene.store["id"], bas)
    receipt = paid(api, scene, amount=20_00)  # a till amount earns points too
    assert receipt["points_earned"] == 200
    path = f"/v1/charges/{receipt['id']}/refunds"
    answers = [
        api.post(path, {"amount": cents, "reason": "Wrong order"}, as_=bas, idem=True)
        for cents in (5_00, 3_33, 11_67)
    ]
    assert [a.get_json()["points_reversed"] for a in answers] == [50, 33, 117]
    assert _points(api, scene.anna) == 0
    read = api.get(f"/v1/charges/{receipt['id']}", as_=scene.anna).get_json()
    assert [r["points_reversed"] for r in read["refunds"]] == [50, 33, 117]
    assert read["points_earned"] == 200  # what it earned stays on the receipt

    history = api.get("/v1/wallet/transactions", as_=scene.anna).get_json()["items"]
    assert [(h["kind"], h["amount"], h["points"]) for h in history] == [
        ("refund", 11_67, -117),
        ("refund", 3_33, -33),
        ("refund", 5_00, -50),
        ("charge", -20_00, 200),
        ("top_up", 50_00, None),
    ]
    assert {h["charge_id"] for h in history[:4]} == {receipt["id"]}
    assert history[3]["subtotal"] == 20_00
    assert (history[4]["charge_id"], history[4]["offers"]) == (None, [])


def test_a_years_membership_earns_its_bonus_at_the_till(api):
    # The counter reads the customer's joining date with the person (counter/scanning.py)
    # and hands it to loyalty: the tenure bonus must come out as loyalty computes it.
    clock.freeze(START)
    scene = counter_scene(api, funds=50_00)
    assert paid(api, scene, amount=10_00)["points_earned"] == 100  # Green, no tenure yet
    clock.freeze(START + timedelta(days=366))
    sign_in_again(api, scene.anna, scene.scanner)
    assert paid(api, scene, amount=10_00)["points_earned"] == 105  # a full year: +5%


def test_points_spent_meanwhile_are_not_taken_below_zero(api, app):
    scene = counter_scene(api, funds=60_00)
    receipt = paid(api, scene, amount=50_00)
    reward_code(api, scene.anna, add_reward(api, scene.admin, points_cost=400))
    refunded = refund(api, scene.admin, receipt["id"], 50_00, "Machine broke")
    assert refunded.get_json()["points_reversed"] == 100  # 400 of the 500 were spent
    assert _points(api, scene.anna) == 0


# --- reward codes at the scanner -----------------------------------------------------------


@pytest.fixture
def rewarded(api, app):
    """Anna, with 500 points from a charge, and a reward code for a large Flat White."""
    scene = counter_scene(api, funds=0)
    flat_white = add_product(api, scene.admin, "Flat White")
    charge(app, scene.anna, 50_00)  # points as a charge elsewhere earned them
    reward = add_reward(
        api, scene.admin, "Large Flat White", points_cost=500, product_id=flat_white["id"], size="L"
    )
    scene.flat_white = flat_white
    scene.reward = reward
    scene.code = reward_code(api, scene.anna, reward)
    return scene


def _scan(api, scene, code):
    return api.post("/v1/scans", {"code": code}, as_=scene.scanner.token)


def test_the_scanner_shows_what_a_reward_code_is_without_using_it(api, rewarded):
    response = _scan(api, rewarded, rewarded.code)
    assert response.status_code == 200, response.get_json()
    preview = response.get_json()
    assert preview["kind"] == "reward"
    assert preview["customer"] == {"first_name": "Anna"}
    assert preview["balance_covers"] is None
    assert preview["details"] == {
        "reward": {
            "id": rewarded.reward["id"],
            "name": "Large Flat White",
            "description": "Any drink, any size",
            "product_id": rewarded.flat_white["id"],
            "size": "L",
        },
        "message": "Large Flat White is on us today.",
    }
    # Typed in by hand, lower case and spaced, it is the same code; still unused.
    spaced = " ".join(rewarded.code[i : i + 4] for i in range(0, 26, 4)).lower()
    assert _scan(api, rewarded, spaced).get_json()["kind"] == "reward"


def test_a_reward_code_pays_for_one_drink_of_its_kind_once(api, app, rewarded):
    code, flat_white = rewarded.code, rewarded.flat_white
    espresso = add_product(api, rewarded.admin, "Espresso")
    scanner = rewarded.scanner
    wrong = [
        ({"items": order(espresso, "L")}, "product_id"),
        ({"items": order(flat_white, "M")}, "size"),
        ({"items": order(flat_white, "L", quantity=2)}, "items"),
        ({"items": order(flat_white, "L") + order(flat_white, "L")}, "items"),
        ({"amount": 4_30}, "items"),
    ]
    for body, field in wrong:
        refused = problem(charge_code(api, scanner, code, **body), 422, "reward_item_mismatch")
        assert field in refused["errors"]
    # None of that used the code up.
    response = charge_code(api, scanner, code, items=order(flat_white, "L"))
    assert response.status_code == 201, response.get_json()
    receipt = response.get_json()["charge"]
    assert receipt["kind"] == "reward"
    assert (receipt["subtotal"], receipt["discount"], receipt["amount"]) == (4_30, 4_30, 0)
    assert receipt["offers"] == ["Large Flat White: reward, -€4.30"]
    assert receipt["items"][0]["name"] == "Flat White"
    assert receipt["customer_id"] == rewarded.anna.id
    assert response.get_json()["greeting"].endswith("Anna!")
    problem(charge_code(api, scanner, code, items=order(flat_white, "L")), 409, "code_already_used")
    problem(_scan(api, rewarded, code), 409, "code_already_used")

    # The store is paid the drink's price by the promotions account; Anna pays nothing.
    kind, legs, meta = _transaction(app, receipt["id"])
    assert kind == "reward_redemption"
    assert legs == {"store_sales": 4_30, "promotions": -4_30}
    assert meta["reward"]["name"] == "Large Flat White"
    assert meta["customer"] == {"id": rewarded.anna.id, "name": "Anna"}
    assert meta["store"] == {"id": rewarded.store["id"], "name": rewarded.store["name"]}
    assert balance(api, rewarded.anna) == 0
    assert api.get(f"/v1/charges/{receipt['id']}", as_=rewarded.anna).status_code == 200
    codes = api.get("/v1/loyalty/reward-codes", as_=rewarded.anna).get_json()["items"]
    assert codes[0]["status"] == "redeemed"


def test_reward_code_errors_at_the_till(api, rewarded):
    items = order(rewarded.flat_white, "L")
    unknown = "RW" + "A" * 24
    for code in (unknown, "RX" + "A" * 24, "R"):
        problem(_scan(api, rewarded, code), 404, "code_unknown")
        problem(charge_code(api, rewarded.scanner, code, items=items), 404, "code_unknown")

    store = rewarded.store
    api.patch(f"/v1/stores/{store['id']}", {"is_open": False}, as_=rewarded.admin)
    problem(charge_code(api, rewarded.scanner, rewarded.code, items=items), 409, "store_closed")
    api.patch(f"/v1/stores/{store['id']}", {"is_open": True}, as_=rewarded.admin)

    clock.freeze(utcnow() + timedelta(days=31))
    sign_in_again(api, rewarded.scanner)
    problem(_scan(api, rewarded, rewarded.code), 410, "code_expired")
    problem(charge_code(api, rewarded.scanner, rewarded.code, items=items), 410, "code_expired")


def test_customers_do_not_redeem_their_own_codes(api, rewarded):
    items = order(rewarded.flat_white, "L")
    response = charge_code(api, rewarded.anna, rewarded.code, items=items)
    problem(response, 403, "forbidden")


def _tills_race_for_one_reward(api, app, rewarded, tills):
    items = order(rewarded.flat_white, "L")
    results = in_parallel(
        app, [lambda a: charge_code(a, rewarded.scanner, rewarded.code, items=items)] * tills
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201] + [409] * (tills - 1), [r.get_json() for r in results]
    with app.app_context():
        from wallet_api.counter.models import Charge
        from wallet_api.extensions import db

        assert db.session.query(Charge).filter_by(kind="reward").count() == 1


def test_tills_racing_with_one_reward_code_redeem_it_once(api, app, rewarded):
    _tills_race_for_one_reward(api, app, rewarded, 4)


@pytest.mark.postgres_only
def test_twelve_tills_racing_with_one_reward_code_redeem_it_once(api, app, rewarded):
    _tills_race_for_one_reward(api, app, rewarded, 12)


def test_each_kind_of_code_owns_its_first_letter(app):
    from wallet_api.counter.registry import CodeKind, register_code_kind, registered_prefixes
    from wallet_api.loyalty.scanner import charge_reward, resolve_reward_code
    from wallet_api.paycodes.service import resolve_pay_code

    kinds = registered_prefixes()
    assert kinds["R"] is resolve_reward_code
    assert kinds["P"] is resolve_pay_code
    assert set(kinds) == {"P", "O", "R", "G"}  # pay, offline, reward, gift
    with pytest.raises(ValueError, match="taken by"):
        register_code_kind(
            CodeKind(kind="reward", prefix="R", resolve=resolve_pay_code, charge=charge_reward)
        )
    # The same owner again: a second app.
    register_code_kind(
        CodeKind(kind="reward", prefix="R", resolve=resolve_reward_code, charge=charge_reward)
    )
    assert registered_prefixes() == kinds


def test_a_reward_charge_of_another_store_is_not_found(api, rewarded):
    other = add_store(api, rewarded.admin, "Elsewhere")
    far = add_scanner(api, rewarded.admin, other["id"])
    receipt = charge_code(
        api, rewarded.scanner, rewarded.code, items=order(rewarded.flat_white, "L")
    ).get_json()["charge"]
    problem(api.get(f"/v1/charges/{receipt['id']}", as_=far.token), 404, "charge_not_found")
