"""Anna's loyalty, end to end through the real API on the controllable clock.

Top up, pay at the counter (points grow with the tier), an offer on the receipt, a refund
taking points back, points spent on a reward code redeemed once at the till, a one-star
rating answered with exactly one apology credit, goodwill given by charge id, and the
inbox telling her each time. The autouse fixture then checks the ledger (money and points).
"""

from __future__ import annotations

from datetime import timedelta

from tests.support.api import problem
from tests.support.catalog import add_product
from tests.support.loyalty import START, add_offer, add_reward, inbox
from tests.support.stores import (
    add_scanner,
    add_staff,
    add_store,
    charge,
    pay_code,
    refund,
    sign_in_again,
)
from tests.support.wallet import balance, top_up
from wallet_api.clock import clock


def test_anna_earns_redeems_and_is_made_right(api):
    people = []

    def day(n: float) -> None:
        clock.freeze(START + timedelta(days=n))
        sign_in_again(api, *people)

    clock.freeze(START)  # a Monday, 10:00 in Amsterdam
    ada = api.admin()
    store = add_store(api, ada, "Bean Central")
    till = add_scanner(api, ada, store["id"])
    bas = api.register("Bas")
    add_staff(api, ada, store["id"], bas)
    flat_white = add_product(api, ada, "Flat White")  # M 3.90, L 4.30
    anna = api.register("Anna")
    people += [ada, till, bas, anna]

    assert top_up(api, anna, 200_00)["status"] == "succeeded"

    def pay(size: str, quantity: int) -> dict:
        items = [{"product_id": flat_white["id"], "size": size, "quantity": quantity}]
        response = charge(api, till, pay_code(api, anna)["code"], items=items)
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["greeting"] == "Good morning, Anna!"
        return response.get_json()["charge"]

    def loyalty() -> dict:
        response = api.get("/v1/loyalty", as_=anna)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    # Three office rounds: the third reaches Silver (100.00 in a year) and already earns
    # at Silver's 1.25x.
    earned = []
    for n, (size, quantity) in enumerate([("M", 10), ("M", 10), ("L", 10)]):
        day(n)
        earned.append(pay(size, quantity)["points_earned"])
    assert earned == [390, 390, 537]
    status = loyalty()
    assert (status["tier"], status["points"], status["qualifying_spend_cents"]) == (
        "silver",
        1317,
        121_00,
    )

    # An offer for Silver and up is applied at the next charge and shows on the receipt.
    day(3)
    add_offer(api, ada, "Silver Thursday", min_tier="silver")  # 10% off
    receipt = pay("M", 5)
    assert receipt["subtotal"] == 19_50
    assert receipt["discount"] == 1_95
    assert receipt["amount"] == 17_55
    assert receipt["offers"] == ["Silver Thursday: 10% off, -€1.95"]
    assert receipt["points_earned"] == 218  # 175 for 17.55 paid, times 1.25
    assert api.get(f"/v1/charges/{receipt['id']}", as_=anna).get_json() == receipt
    history = api.get("/v1/wallet/transactions", as_=anna).get_json()["items"]
    assert {k: history[0][k] for k in ("kind", "amount", "discount", "offers", "points")} == {
        "kind": "charge",
        "amount": -17_55,
        "discount": 1_95,
        "offers": ["Silver Thursday: 10% off, -€1.95"],
        "points": 218,
    }

    # Bas refunds 10.00 of the third round: its points go back in proportion.
    third = history[1]["charge_id"]
    refunded = refund(api, bas, third, 10_00, "Two cups were cold")
    assert refunded.status_code == 201, refunded.get_json()
    assert refunded.get_json()["points_reversed"] == 124  # floor(537 x 10.00 / 43.00)
    assert loyalty()["points"] == 1317 + 218 - 124

    # 500 points buy a free drink: a code, redeemed once at the till.
    reward = add_reward(api, ada, "Free drink", points_cost=500)
    issued = api.post(f"/v1/loyalty/rewards/{reward['id']}/redeem", as_=anna, idem=True)
    assert issued.status_code == 201, issued.get_json()
    code = issued.get_json()["code"]
    assert loyalty()["points"] == 1411 - 500
    scanned = api.post("/v1/scans", {"code": code}, as_=till.token)
    assert scanned.status_code == 200, scanned.get_json()
    preview = scanned.get_json()
    assert (preview["kind"], preview["customer"]["first_name"]) == ("reward", "Anna")
    assert preview["details"]["reward"]["name"] == "Free drink"
    before = balance(api, anna)
    items = [{"product_id": flat_white["id"], "size": "L"}]
    free = charge(api, till, code, items=items)
    assert free.status_code == 201, free.get_json()
    redeemed = free.get_json()["charge"]
    assert (redeemed["kind"], redeemed["subtotal"], redeemed["discount"]) == ("reward", 430, 430)
    assert (redeemed["amount"], redeemed["points_earned"]) == (0, 0)
    assert redeemed["offers"] == ["Free drink: reward, -€4.30"]
    problem(charge(api, till, code, items=items), 409, "code_already_used")
    assert balance(api, anna) == before

    # That afternoon, one star for the discounted round: exactly one apology credit.
    day(3.2)
    rated = api.post(
        f"/v1/charges/{receipt['id']}/feedback",
        {"stars": 1, "comment": "Lukewarm again"},
        as_=anna,
        idem=True,
    )
    assert rated.status_code == 201, rated.get_json()
    assert rated.get_json()["message"] == "Sorry, Anna — we've added €2.00 to your wallet."
    assert rated.get_json()["apology"] == {"amount": 2_00, "currency": "EUR"}
    again = api.post(f"/v1/charges/{receipt['id']}/feedback", {"stars": 1}, as_=anna, idem=True)
    problem(again, 409, "feedback_already_given")
    assert balance(api, anna) == before + 2_00

    # Bas makes it right by the charge's id, without looking Anna up.
    day(3.3)
    goodwill = api.post(
        "/v1/goodwill",
        {"charge_id": receipt["id"], "amount": 1_50, "reason": "Lukewarm flat whites"},
        as_=bas,
        idem=True,
    )
    assert goodwill.status_code == 201, goodwill.get_json()
    assert (goodwill.get_json()["user_id"], goodwill.get_json()["charge_id"]) == (
        anna.id,
        receipt["id"],
    )
    assert balance(api, anna) == before + 3_50

    # The store's day, in its own time zone.
    report = api.get(
        f"/v1/stores/{store['id']}/reports/daily",
        as_=bas,
        query_string={"date": (START + timedelta(days=3)).date().isoformat()},
    ).get_json()
    assert report["by_kind"] == [
        {"kind": "pay", "count": 1, "amount": 17_55},
        {"kind": "reward", "count": 1, "amount": 0},
    ]
    assert report["promotions"] == {"count": 2, "amount": 1_95 + 4_30}
    assert report["refunds"] == {"count": 1, "amount": 10_00}
    assert report["feedback"] == {"count": 1, "average_stars": 1.0}
    assert report["apologies"] == {"count": 1, "amount": 2_00}

    # Anna heard about each of these in her inbox, and was asked how her visit was once a
    # day she paid (not again for the free drink on the same day).
    said = inbox(api, anna)
    kinds = [kind for kind, _, _ in said if kind != "rate_visit"]
    assert kinds == ["tier_changed", "apology", "goodwill"]
    asks = [title for kind, title, _ in said if kind == "rate_visit"]
    assert asks == ["Anna, how was your visit to Bean Central?"] * 4
    messages = {kind: (title, body) for kind, title, body in said}
    assert messages["tier_changed"][0] == "Anna, you're Silver now"
    assert messages["apology"][0] == "Anna, we're sorry"
    assert messages["goodwill"][1] == "Anna, we've added €1.50 to your wallet. Bas"
