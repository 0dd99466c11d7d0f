"""Gifts at the till and after their time: redeemed exactly once, never after expiry,
refunded to the giver exactly once however often (and however concurrently) the job runs."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from tests.support import gifts as gift_support
from tests.support.api import problem
from tests.support.gifts import (
    act,
    claim,
    drink,
    escrow_balance,
    expire_gifts,
    gift_code,
    gift_of,
    given,
    notes,
    page_code,
    redeem,
    scan,
)
from tests.support.social import in_parallel
from tests.support.stores import add_staff, balance, fund, pay_code, refund, sign_in_again

# Shared fixtures: the frozen Monday morning and the usual gift scene.
frozen = gift_support.frozen
scene = gift_support.scene


def _charges(app):
    from sqlalchemy import func, select

    from wallet_api.counter.models import Charge
    from wallet_api.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count(Charge.id)))


# --- at the till ------------------------------------------------------------------------------


def _tills_racing(api, app, scene, tills):
    gift = given(api, scene.anna, handle=scene.ben.handle, item=drink(scene.flat_white))
    code = gift_code(api, scene.ben, gift["id"])
    results = in_parallel(app, [lambda a: redeem(a, scene.scanner, code)] * tills)
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201] + [409] * (tills - 1), [r.get_json() for r in results]
    assert {r.get_json()["code"] for r in results if r.status_code == 409} == {"gift_redeemed"}
    assert _charges(app) == 1
    assert escrow_balance(app) == 0
    assert len(notes(api, scene.anna, "gift_redeemed")) == 1


@pytest.mark.postgres_only
def test_twenty_tills_racing_with_one_gift_redeem_it_once(api, app, scene):
    _tills_racing(api, app, scene, 20)


def test_tills_racing_with_one_gift_redeem_it_once(api, app, scene):
    _tills_racing(api, app, scene, 4)


def test_a_redemption_and_a_decline_at_once_settle_the_gift_once(api, app, scene):
    gift = given(api, scene.anna, handle=scene.ben.handle, item=drink(scene.flat_white))
    code = gift_code(api, scene.ben, gift["id"])
    results = in_parallel(
        app,
        [
            lambda a: redeem(a, scene.scanner, code),
            lambda a: act(a, scene.ben, gift["id"], "decline"),
        ],
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses in ([200, 409], [201, 409]), [r.get_json() for r in results]
    status = gift_of(api, scene.anna, gift["id"])["status"]
    # Either the drink was made, or the money is back: never both.
    if status == "redeemed":
        assert balance(api, scene.anna) == 5_000 - 390
    else:
        assert status == "declined"
        assert balance(api, scene.anna) == 5_000
    assert escrow_balance(app) == 0


def test_a_link_claimed_while_its_code_is_scanned_ends_one_way(api, app, scene):
    gift = given(api, scene.anna, email="carl@example.com", item=drink(scene.flat_white))
    code = page_code(api, gift["claim_url"])
    carl = api.register("Carl")
    claimed, redeemed = in_parallel(
        app,
        [
            lambda a: claim(a, carl, gift["claim_url"]),
            lambda a: redeem(a, scene.scanner, code),
        ],
    )
    if redeemed.status_code == 201:  # the till first: the claim finds the drink enjoyed
        problem(claimed, 409, "gift_redeemed")
    else:  # the claim first: the page's code is dead, Carl's app has the gift
        assert claimed.status_code == 200, claimed.get_json()
        problem(redeemed, 409, "gift_claimed")
        assert gift_of(api, carl, gift["id"])["status"] == "pending"
    assert _charges(app) == (1 if redeemed.status_code == 201 else 0)


def test_a_gift_is_redeemed_with_the_code_alone(api, scene):
    gift = given(api, scene.anna, handle=scene.ben.handle, item=drink(scene.flat_white))
    code = gift_code(api, scene.ben, gift["id"])
    items = [{"product_id": scene.flat_white["id"], "size": "L"}]
    body = problem(redeem(api, scene.scanner, code, items=items), 422, "validation_error")
    assert "items" in body["errors"]
    problem(redeem(api, scene.scanner, code, amount=100), 422, "validation_error")
    problem(redeem(api, scene.scanner, code, items=items, amount=100), 422, "validation_error")
    assert redeem(api, scene.scanner, code).status_code == 201


def test_a_pay_code_still_needs_items_or_an_amount(api, scene):
    pay = api.post("/v1/wallet/pay-codes", as_=scene.anna).get_json()["code"]
    body = problem(redeem(api, scene.scanner, pay), 422, "validation_error")
    assert "items" in body["errors"]


def test_staff_redeem_at_their_own_store(api, scene):
    bas = api.register_with_role("staff", "Bas")
    add_staff(api, scene.admin, scene.store["id"], bas)
    gift = given(api, scene.anna, handle=scene.ben.handle, item=drink(scene.flat_white))
    code = gift_code(api, scene.ben, gift["id"])
    response = api.post(
        "/v1/charges", {"code": code, "store_id": scene.store["id"]}, as_=bas, idem=True
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["charge"]["kind"] == "gift"


def test_a_refund_of_a_gift_redemption_goes_to_the_giver(api, scene):
    gift = given(api, scene.anna, handle=scene.ben.handle, item=drink(scene.flat_white))
    code = gift_code(api, scene.ben, gift["id"])
    charge = redeem(api, scene.scanner, code).get_json()["charge"]
    refunded = refund(api, scene.scanner, charge["id"], 390, "Spilled it")
    assert refunded.status_code == 201, refunded.get_json()
    assert balance(api, scene.anna) == 5_000  # the wallet that paid for it
    assert balance(api, scene.ben) == 0
    # The giver may read the receipt her money paid for; the recipient has the gift itself.
    assert api.get(f"/v1/charges/{charge['id']}", as_=scene.anna).status_code == 200


def test_the_daily_report_counts_gift_redemptions(api, scene):
    gift = given(api, scene.anna, handle=scene.ben.handle, item=drink(scene.flat_white))
    redeem(api, scene.scanner, gift_code(api, scene.ben, gift["id"]))
    report = api.get(f"/v1/stores/{scene.store['id']}/reports/daily", as_=scene.admin).get_json()
    assert report["by_kind"] == [{"kind": "gift", "count": 1, "amount": 390}]
    assert report["top_items"][0]["name"] == "Flat White"


def test_an_unknown_gift_code_is_unknown(api, scene):
    problem(scan(api, scene.scanner, "G" + "A" * 24), 404, "code_unknown")
    problem(redeem(api, scene.scanner, "G" + "A" * 24), 404, "code_unknown")


# --- expiry -----------------------------------------------------------------------------------


def test_a_gift_past_its_expiry_is_refused_before_the_job_runs(api, app, scene, frozen):
    drink_gift = given(api, scene.anna, handle=scene.ben.handle, item=drink(scene.flat_white))
    credit = given(api, scene.anna, handle=scene.ben.handle, amount=500)
    link = given(api, scene.anna, email="carl@example.com", item=drink(scene.flat_white))
    code = gift_code(api, scene.ben, drink_gift["id"])
    link_code = page_code(api, link["claim_url"])
    frozen.advance(timedelta(days=90))
    sign_in_again(api, scene.ben, scene.anna, scene.scanner)
    carl = api.register("Carl")

    problem(scan(api, scene.scanner, code), 410, "gift_expired")
    problem(redeem(api, scene.scanner, code), 410, "gift_expired")
    problem(redeem(api, scene.scanner, link_code), 410, "gift_expired")
    problem(api.get(f"/v1/gifts/{drink_gift['id']}/qr", as_=scene.ben), 410, "gift_expired")
    problem(act(api, scene.ben, drink_gift["id"], "decline"), 410, "gift_expired")
    problem(act(api, scene.ben, credit["id"], "accept"), 410, "gift_expired")
    problem(claim(api, carl, link["claim_url"]), 410, "gift_expired")
    assert gift_of(api, scene.anna, drink_gift["id"])["status"] == "expired"
    assert balance(api, scene.ben) == 0
    assert escrow_balance(app) == 390 * 2 + 500  # until the job runs


def test_the_expiry_job_refunds_each_gift_once_however_often_it_runs(api, app, scene, frozen):
    early = given(api, scene.anna, handle=scene.ben.handle, item=drink(scene.flat_white, "S"))
    credit = given(api, scene.anna, email="carl@example.com", amount=1_000)
    enjoyed = given(api, scene.anna, handle=scene.ben.handle, item=drink(scene.flat_white))
    redeem(api, scene.scanner, gift_code(api, scene.ben, enjoyed["id"]))
    frozen.advance(timedelta(days=30))
    sign_in_again(api, scene.anna)
    late = given(api, scene.anna, handle=scene.ben.handle, item=drink(scene.flat_white, "L"))
    assert balance(api, scene.anna) == 5_000 - 350 - 1_000 - 390 - 430

    frozen.advance(timedelta(days=61))  # the first three are past 90 days, `late` is not
    sign_in_again(api, scene.anna)
    output = expire_gifts(app)
    assert f"refunded gift {early['id']}: €3.50 to Anna" in output
    assert f"refunded gift {credit['id']}: €10.00 to Anna" in output
    assert enjoyed["id"] not in output
    assert late["id"] not in output
    assert "gifts expire: 2 refunded (1350 cents), 0 settled meanwhile, 0 failed" in output
    assert balance(api, scene.anna) == 5_000 - 390 - 430

    again = expire_gifts(app)
    assert "gifts expire: 0 refunded (0 cents)" in again
    assert balance(api, scene.anna) == 5_000 - 390 - 430
    assert escrow_balance(app) == 430
    returned = notes(api, scene.anna, "gift_returned")
    assert sorted(n["data"]["gift_id"] for n in returned) == sorted([early["id"], credit["id"]])
    assert returned[0]["title"].startswith("Anna, your gift to ")
    assert "expired unused" in returned[0]["title"]
    assert gift_of(api, scene.anna, early["id"])["status"] == "expired"
    assert gift_of(api, scene.anna, late["id"])["status"] == "pending"


def _jobs_racing(api, app, scene, frozen, runs):
    """The expiry job's loop, run by several workers at once (as two cron hosts would)."""
    from wallet_api.gifts.cli import run_expiry

    gifts = [
        given(api, scene.anna, handle=scene.ben.handle, item=drink(scene.flat_white))
        for _ in range(3)
    ]
    frozen.advance(timedelta(days=91))
    barrier = threading.Barrier(runs)
    lines: list[str] = []

    def run():
        with app.app_context():
            barrier.wait()
            run_expiry(frozen.now(), lines.append)

    threads = [threading.Thread(target=run) for _ in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refunded = sorted(line.split()[2].rstrip(":") for line in lines)
    assert refunded == sorted(g["id"] for g in gifts), lines
    assert balance(api, scene.anna) == 5_000
    assert escrow_balance(app) == 0
    sign_in_again(api, scene.anna)
    assert len(notes(api, scene.anna, "gift_returned")) == 3


@pytest.mark.postgres_only
def test_expiry_jobs_running_at_once_refund_each_gift_once(api, app, scene, frozen):
    _jobs_racing(api, app, scene, frozen, 6)


def test_two_expiry_jobs_at_once_refund_each_gift_once(api, app, scene, frozen):
    _jobs_racing(api, app, scene, frozen, 2)


def test_a_closed_wallet_is_reported_and_left_for_later(api, app, scene, frozen):
    gift = given(api, scene.anna, handle=scene.ben.handle, item=drink(scene.flat_white))
    with app.app_context():
        import uuid

        from wallet_api.extensions import db
        from wallet_api.ledger import service as ledger

        ledger.close_account(ledger.wallet_account(uuid.UUID(scene.anna.id)))
        db.session.commit()
    frozen.advance(timedelta(days=91))
    sign_in_again(api, scene.anna)
    output = expire_gifts(app)
    assert f"could not refund gift {gift['id']}" in output
    assert "1 failed" in output
    with app.app_context():
        from wallet_api.extensions import db
        from wallet_api.ledger import service as ledger

        ledger.wallet_account(uuid.UUID(scene.anna.id)).is_closed = False
        db.session.commit()
    assert "1 refunded" in expire_gifts(app)
    assert balance(api, scene.anna) == 5_000


def test_a_redeemed_gift_is_the_recipients_usual_not_the_givers(api, scene):
    gift = given(api, scene.anna, handle=scene.ben.handle, item=drink(scene.flat_white, "S"))
    assert redeem(api, scene.scanner, gift_code(api, scene.ben, gift["id"])).status_code == 201

    fund(api, scene.ben, 1_000)
    bens = scan(api, scene.scanner, pay_code(api, scene.ben)["code"]).get_json()
    assert (bens["the_usual"]["name"], bens["the_usual"]["size"]) == ("Flat White", "S")
    annas = scan(api, scene.scanner, pay_code(api, scene.anna)["code"]).get_json()
    assert annas["the_usual"] is None
