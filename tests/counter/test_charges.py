"""At the counter: scan a code, charge it, refund it, and read the day's report."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.api import ApiClient, problem
from tests.support.catalog import add_product
from tests.support.stores import (
    add_scanner,
    add_staff,
    add_store,
    balance,
    charge,
    counter_scene,
    fund,
    pay_code,
    sign_in_again,
)

# 08:30 in Amsterdam (CET, UTC+1).
MORNING = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)


@pytest.fixture
def frozen():
    from wallet_api.clock import clock

    clock.freeze(MORNING)
    return clock


def _scan(api, scanner, code, **body):
    return api.post("/v1/scans", {"code": code, **body}, as_=scanner.token)


# --- scans -----------------------------------------------------------------------------------


def test_a_scan_greets_the_customer_and_changes_nothing(api, frozen):
    scene = counter_scene(api, funds=500)
    code = pay_code(api, scene.anna)["code"]
    response = _scan(api, scene.scanner, code, amount=450)
    assert response.status_code == 200, response.get_json()
    preview = response.get_json()
    assert preview["kind"] == "pay"
    assert preview["customer"] == {"first_name": "Anna"}
    assert preview["greeting"] == "Good morning, Anna!"
    assert preview["balance_covers"] is True
    assert preview["the_usual"] is None
    assert "balance" not in preview  # the till learns whether it covers, not how much is left
    assert _scan(api, scene.scanner, code, amount=501).get_json()["balance_covers"] is False
    assert _scan(api, scene.scanner, code).get_json()["balance_covers"] is None
    # Scanning consumed nothing: the code still pays.
    assert charge(api, scene.scanner, code, amount=450).status_code == 201


@pytest.mark.parametrize(
    ("utc_time", "zone", "greeting"),
    [
        (datetime(2026, 3, 2, 11, 30, tzinfo=UTC), "Europe/Amsterdam", "Good afternoon, Anna!"),
        (datetime(2026, 3, 2, 19, 0, tzinfo=UTC), "Europe/Amsterdam", "Good evening, Anna!"),
        (datetime(2026, 3, 2, 7, 30, tzinfo=UTC), "Asia/Tokyo", "Good afternoon, Anna!"),
        (datetime(2026, 3, 2, 13, 0, tzinfo=UTC), "America/New_York", "Good morning, Anna!"),
    ],
)
def test_the_greeting_follows_the_store_clock(api, utc_time, zone, greeting):
    from wallet_api.clock import clock

    clock.freeze(utc_time)
    ada = api.admin()
    store = add_store(api, ada, "Somewhere", timezone=zone)
    scanner = add_scanner(api, ada, store["id"])
    anna = api.register("Anna")
    code = pay_code(api, anna)["code"]
    assert _scan(api, scanner, code).get_json()["greeting"] == greeting


def test_the_usual_is_the_most_ordered_item_of_the_last_90_days(api, frozen):
    scene = counter_scene(api, funds=10_000)
    flat_white = add_product(api, scene.admin, "Flat White")
    cappuccino = add_product(api, scene.admin, "Cappuccino")

    def order(product, size, quantity):
        code = pay_code(api, scene.anna)["code"]
        items = [{"product_id": product["id"], "size": size, "quantity": quantity}]
        assert charge(api, scene.scanner, code, items=items).status_code == 201

    order(cappuccino, "M", 5)  # long ago: forgotten by the time of the scan
    frozen.advance(timedelta(days=91))
    sign_in_again(api, scene.anna, scene.scanner)
    order(flat_white, "M", 2)
    order(cappuccino, "S", 1)
    order(flat_white, "L", 1)
    code = pay_code(api, scene.anna)["code"]
    usual = _scan(api, scene.scanner, code).get_json()["the_usual"]
    assert usual == {
        "kind": "product",
        "item_id": flat_white["id"],
        "name": "Flat White",
        "size": "M",
        "times": 2,
    }


def test_scan_errors_have_their_codes(api, frozen):
    scene = counter_scene(api)
    problem(_scan(api, scene.scanner, "P" + "A" * 24), 404, "code_unknown")
    problem(_scan(api, scene.scanner, "XYZ"), 404, "code_unknown")
    used = pay_code(api, scene.anna)["code"]
    assert charge(api, scene.scanner, used, amount=100).status_code == 201
    problem(_scan(api, scene.scanner, used), 409, "code_already_used")
    stale = pay_code(api, scene.anna)["code"]
    frozen.advance(timedelta(seconds=61))
    problem(_scan(api, scene.scanner, stale), 410, "code_expired")
    # Typed in by hand, in lower case and with spaces, a code is still recognised.
    fresh = pay_code(api, scene.anna)["code"]
    spaced = " ".join(fresh[i : i + 5] for i in range(0, len(fresh), 5)).lower()
    assert _scan(api, scene.scanner, spaced).status_code == 200


def test_scans_and_charges_at_a_closed_store_are_409(api):
    scene = counter_scene(api)
    code = pay_code(api, scene.anna)["code"]
    api.patch(f"/v1/stores/{scene.store['id']}", {"is_open": False}, as_=scene.admin)
    problem(_scan(api, scene.scanner, code), 409, "store_closed")
    problem(charge(api, scene.scanner, code, amount=100), 409, "store_closed")
    api.patch(f"/v1/stores/{scene.store['id']}", {"is_open": True}, as_=scene.admin)
    assert charge(api, scene.scanner, code, amount=100).status_code == 201


def test_a_code_of_a_closed_wallet_is_409(api, app):
    scene = counter_scene(api)
    code = pay_code(api, scene.anna)["code"]
    with app.app_context():
        from wallet_api.extensions import db
        from wallet_api.ledger import service as ledger

        ledger.close_account(ledger.wallet_account(uuid.UUID(scene.anna.id)))
        db.session.commit()
    problem(_scan(api, scene.scanner, code), 409, "account_closed")
    problem(charge(api, scene.scanner, code, amount=100), 409, "account_closed")


def test_a_code_of_a_deactivated_person_is_unknown_at_the_till(api, app):
    # The till reads the person in one fixed statement (counter/scanning.customer_of): a
    # deactivated account's live code pays nothing and says no more than a wrong code.
    scene = counter_scene(api, funds=500)
    code = pay_code(api, scene.anna)["code"]
    with app.app_context():
        from wallet_api.auth.models import User
        from wallet_api.extensions import db

        db.session.get(User, uuid.UUID(scene.anna.id)).is_active = False
        db.session.commit()
    problem(_scan(api, scene.scanner, code, amount=100), 404, "code_unknown")
    problem(charge(api, scene.scanner, code, amount=100), 404, "code_unknown")
    with app.app_context():
        from wallet_api.ledger import service as ledger

        wallet = ledger.wallet_account(uuid.UUID(scene.anna.id))
        assert ledger.balance_of(wallet) == 500


def test_staff_scan_at_their_own_store_only(api):
    scene = counter_scene(api)
    other = add_store(api, scene.admin, "Elsewhere")
    bas = api.register("Bas")
    add_staff(api, scene.admin, scene.store["id"], bas)
    code = pay_code(api, scene.anna)["code"]
    here = api.post("/v1/scans", {"code": code, "store_id": scene.store["id"]}, as_=bas)
    assert here.status_code == 200
    problem(api.post("/v1/scans", {"code": code}, as_=bas), 422, "store_required")
    problem(
        api.post("/v1/scans", {"code": code, "store_id": other["id"]}, as_=bas),
        403,
        "not_store_staff",
    )
    # A device's token names its store; it cannot act for another one.
    problem(_scan(api, scene.scanner, code, store_id=other["id"]), 404, "store_not_found")
    # Customers do not scan.
    problem(api.post("/v1/scans", {"code": code}, as_=scene.anna), 403, "forbidden")


def test_failed_scans_are_rate_limited_per_device(api):
    from wallet_api.extensions import limiter

    scene = counter_scene(api)
    other = add_scanner(api, scene.admin, scene.store["id"], "Till 2")
    code = pay_code(api, scene.anna)["code"]
    limiter.enabled = True
    # Good scans do not count...
    for _ in range(12):
        assert _scan(api, scene.scanner, code).status_code == 200
    # ... failed look-ups do, on scans and charges alike.
    failures = [_scan(api, scene.scanner, f"P{n:024d}").status_code for n in range(6)]
    failures += [charge(api, scene.scanner, f"P{n:024d}", amount=1).status_code for n in range(4)]
    assert failures == [404] * 10
    refused = _scan(api, scene.scanner, code)
    problem(refused, 429, "rate_limited")
    # The per-minute budget is spent: come back within the minute (the store keeps whole
    # seconds, so the window may end one second later).
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    problem(charge(api, scene.scanner, code, amount=100), 429, "rate_limited")
    # Another till of the same store is not affected.
    assert _scan(api, other, code).status_code == 200


# --- charges ---------------------------------------------------------------------------------


def test_charge_items_priced_on_the_server(api, app, frozen):
    scene = counter_scene(api, funds=2000)
    flat_white = add_product(api, scene.admin, "Flat White")
    code = pay_code(api, scene.anna)["code"]
    items = [{"product_id": flat_white["id"], "size": "M", "quantity": 2}]
    response = charge(api, scene.scanner, code, items=items)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["balance"] == 2000 - 780
    assert body["currency"] == "EUR"
    assert body["greeting"] == "Good morning, Anna!"
    receipt = body["charge"]
    assert receipt["amount"] == 780
    assert receipt["store"] == {"id": scene.store["id"], "name": scene.store["name"]}
    assert receipt["items"] == [
        {
            "kind": "product",
            "item_id": flat_white["id"],
            "name": "Flat White",
            "size": "M",
            "quantity": 2,
            "unit_price": 390,
            "total": 780,
        }
    ]
    assert receipt["refunded_amount"] == 0
    assert balance(api, scene.anna) == 1220

    # The ledger row tells a person what happened: where, what, which charge.
    with app.app_context():
        from wallet_api.extensions import db
        from wallet_api.ledger.models import LedgerTransaction

        transaction = db.session.query(LedgerTransaction).filter_by(kind="charge").one()
        assert transaction.meta["store"]["name"] == scene.store["name"]
        assert transaction.meta["charge_id"] == receipt["id"]
        assert transaction.meta["items"][0]["name"] == "Flat White"

    # A menu price change later does not change the receipt.
    api.patch(
        f"/v1/catalog/products/{flat_white['id']}",
        {"prices": [{"size": "M", "price": 999}]},
        as_=scene.admin,
    )
    again = api.get(f"/v1/charges/{receipt['id']}", as_=scene.anna).get_json()
    assert again["items"][0]["unit_price"] == 390
    # The charge's answer is built from the values written, not read back: it says exactly
    # what reading the charge says.
    assert again == receipt


def test_charge_a_till_amount_by_staff(api):
    scene = counter_scene(api, funds=1000)
    bas = api.register("Bas")
    add_staff(api, scene.admin, scene.store["id"], bas)
    code = pay_code(api, scene.anna)["code"]
    response = charge(api, bas, code, amount=455, store_id=scene.store["id"])
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["charge"]["items"] == []
    assert response.get_json()["balance"] == 545


def test_not_enough_credit_is_402_and_the_code_stays_usable(api):
    scene = counter_scene(api, funds=300)
    code = pay_code(api, scene.anna)["code"]
    body = problem(charge(api, scene.scanner, code, amount=301), 402, "insufficient_funds")
    assert body["balance"] == 300
    assert charge(api, scene.scanner, code, amount=300).status_code == 201
    assert balance(api, scene.anna) == 0


def test_a_failed_price_does_not_consume_the_code(api):
    scene = counter_scene(api)
    hidden = add_product(api, scene.admin, "Seasonal", is_available=False)
    code = pay_code(api, scene.anna)["code"]
    items = [{"product_id": hidden["id"], "size": "S"}]
    problem(charge(api, scene.scanner, code, items=items), 422, "item_unavailable")
    assert charge(api, scene.scanner, code, amount=100).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"amount": 100, "items": [{"product_id": str(uuid.uuid4()), "size": "S"}]},
        {"amount": 2.5},
        {"amount": 0},
        {"items": []},
    ],
)
def test_charge_needs_items_or_an_integer_amount(api, body):
    scene = counter_scene(api)
    code = pay_code(api, scene.anna)["code"]
    problem(charge(api, scene.scanner, code, **body), 422, "validation_error")


def test_a_replayed_charge_moves_money_once(api):
    scene = counter_scene(api, funds=1000)
    code = pay_code(api, scene.anna)["code"]
    body = {"code": code, "amount": 250}
    first = api.post("/v1/charges", body, as_=scene.scanner.token, idem="till-1-sale-42")
    again = api.post("/v1/charges", body, as_=scene.scanner.token, idem="till-1-sale-42")
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert balance(api, scene.anna) == 750
    problem(api.post("/v1/charges", body, as_=scene.scanner.token), 400, "idempotency_key_missing")


def test_replaying_a_used_or_expired_code_fails_with_its_code(api, frozen):
    scene = counter_scene(api)
    code = pay_code(api, scene.anna)["code"]
    assert charge(api, scene.scanner, code, amount=100).status_code == 201
    problem(charge(api, scene.scanner, code, amount=100), 409, "code_already_used")
    stale = pay_code(api, scene.anna)["code"]
    frozen.advance(timedelta(seconds=60))
    problem(charge(api, scene.scanner, stale, amount=100), 410, "code_expired")
    problem(charge(api, scene.scanner, "PNOTACODE", amount=100), 404, "code_unknown")
    assert balance(api, scene.anna) == 1900


def test_a_revoked_device_cannot_charge(api):
    scene = counter_scene(api)
    code = pay_code(api, scene.anna)["code"]
    api.delete(f"/v1/stores/{scene.store['id']}/devices/{scene.scanner.device_id}", as_=scene.admin)
    problem(charge(api, scene.scanner, code, amount=100), 401, "device_revoked")


def test_who_can_read_a_charge(api):
    scene = counter_scene(api)
    other_store = add_store(api, scene.admin, "Elsewhere")
    other_scanner = add_scanner(api, scene.admin, other_store["id"])
    bas, ben = api.register("Bas"), api.register("Ben")
    add_staff(api, scene.admin, scene.store["id"], bas)
    code = pay_code(api, scene.anna)["code"]
    charge_id = charge(api, scene.scanner, code, amount=100).get_json()["charge"]["id"]
    path = f"/v1/charges/{charge_id}"
    for reader in (scene.anna, scene.scanner.token, bas, scene.admin):
        assert api.get(path, as_=reader).status_code == 200
    for stranger in (ben, other_scanner.token):
        problem(api.get(path, as_=stranger), 404, "charge_not_found")
    problem(api.get(f"/v1/charges/{uuid.uuid4()}", as_=scene.anna), 404, "charge_not_found")


# --- refunds ---------------------------------------------------------------------------------


def _refund(api, who, charge_id, amount, reason="Wrong milk"):
    return api.post(
        f"/v1/charges/{charge_id}/refunds", {"amount": amount, "reason": reason}, as_=who, idem=True
    )


def test_partial_refunds_up_to_the_charge(api):
    scene = counter_scene(api, funds=1000)
    bas = api.register("Bas")
    add_staff(api, scene.admin, scene.store["id"], bas)
    code = pay_code(api, scene.anna)["code"]
    charge_id = charge(api, scene.scanner, code, amount=600).get_json()["charge"]["id"]

    first = _refund(api, bas, charge_id, 200)
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["amount"] == 200
    assert balance(api, scene.anna) == 600
    body = problem(_refund(api, scene.scanner.token, charge_id, 401), 422, "refund_exceeds_charge")
    assert body["refundable"] == 400
    assert _refund(api, scene.admin, charge_id, 400).status_code == 201
    assert balance(api, scene.anna) == 1000

    read = api.get(f"/v1/charges/{charge_id}", as_=scene.anna).get_json()
    assert read["refunded_amount"] == 600
    assert [r["amount"] for r in read["refunds"]] == [200, 400]
    events = api.get("/v1/audit-events?tag=store:refund", as_=scene.admin).get_json()["items"]
    assert [(e["actor_id"], e["data"]["amount"]) for e in events] == [
        (scene.admin.id, 400),
        (bas.id, 200),
    ]
    assert {e["subject"] for e in events} == {f"charge:{charge_id}"}


def test_another_store_cannot_refund(api):
    scene = counter_scene(api)
    store_b = add_store(api, scene.admin, "B")
    scanner_b = add_scanner(api, scene.admin, store_b["id"])
    staff_b = api.register("Bo")
    add_staff(api, scene.admin, store_b["id"], staff_b)
    code = pay_code(api, scene.anna)["code"]
    charge_id = charge(api, scene.scanner, code, amount=500).get_json()["charge"]["id"]
    problem(_refund(api, scanner_b.token, charge_id, 100), 404, "charge_not_found")
    problem(_refund(api, staff_b, charge_id, 100), 404, "charge_not_found")
    problem(_refund(api, scene.anna, charge_id, 100), 403, "forbidden")
    assert balance(api, scene.anna) == 1500


def test_staff_cannot_refund_their_own_purchase(api):
    """A refund gives money back: like any grant, staff give it to others, never to
    themselves. A colleague (or an admin) refunds the barista's own coffee."""
    scene = counter_scene(api)
    bas, kim = api.register("Bas"), api.register("Kim")
    add_staff(api, scene.admin, scene.store["id"], bas)
    add_staff(api, scene.admin, scene.store["id"], kim)
    for person in (bas, scene.admin):
        fund(api, person, 1000)
        code = pay_code(api, person)["code"]
        charge_id = charge(api, scene.scanner, code, amount=500).get_json()["charge"]["id"]
        problem(_refund(api, person, charge_id, 500), 422, "grant_to_self")
        assert balance(api, person) == 500
        assert _refund(api, kim, charge_id, 500).status_code == 201
        assert balance(api, person) == 1000


# --- the daily report ------------------------------------------------------------------------


def test_daily_report_in_the_store_time_zone(api):
    from wallet_api.clock import clock

    clock.freeze(datetime(2026, 3, 1, 22, 0, tzinfo=UTC))  # 23:00 in Amsterdam on March 1
    scene = counter_scene(api, funds=5000)
    flat_white = add_product(api, scene.admin, "Flat White")
    espresso = add_product(api, scene.admin, "Espresso")
    bas = api.register("Bas")
    add_staff(api, scene.admin, scene.store["id"], bas)

    def sell(items):
        code = pay_code(api, scene.anna)["code"]
        response = charge(api, scene.scanner, code, items=items)
        assert response.status_code == 201
        return response.get_json()["charge"]

    sell([{"product_id": espresso["id"], "size": "S", "quantity": 4}])  # March 1, local
    clock.advance(timedelta(hours=1, minutes=30))  # 00:30 on March 2 in Amsterdam
    sign_in_again(api, scene.anna, scene.admin, bas)
    first = sell([{"product_id": flat_white["id"], "size": "M", "quantity": 2}])
    sell([{"product_id": espresso["id"], "size": "S"}])
    _refund(api, bas, first["id"], 100)

    report = api.get(
        f"/v1/stores/{scene.store['id']}/reports/daily?date=2026-03-02", as_=bas
    ).get_json()
    assert report["start"] == "2026-03-01T23:00:00+00:00"
    assert report["charges"] == {"count": 2, "amount": 780 + 350}
    assert report["refunds"] == {"count": 1, "amount": 100}
    assert report["net"] == 780 + 350 - 100
    assert report["by_kind"] == [{"kind": "pay", "count": 2, "amount": 1130}]
    assert [(i["name"], i["quantity"], i["amount"]) for i in report["top_items"]] == [
        ("Flat White", 2, 780),
        ("Espresso", 1, 350),
    ]
    # Without a date: today in Amsterdam, which is March 2 by now.
    today = api.get(f"/v1/stores/{scene.store['id']}/reports/daily", as_=scene.admin).get_json()
    assert today["date"] == "2026-03-02"
    assert today["charges"]["count"] == 2
    previous = api.get(
        f"/v1/stores/{scene.store['id']}/reports/daily?date=2026-03-01", as_=bas
    ).get_json()
    assert previous["charges"] == {"count": 1, "amount": 1400}


def test_a_day_with_a_dst_change_has_23_hours(api):
    ada = api.admin()
    store = add_store(api, ada)
    report = api.get(f"/v1/stores/{store['id']}/reports/daily?date=2026-03-29", as_=ada).get_json()
    start, end = (datetime.fromisoformat(report[k]) for k in ("start", "end"))
    assert end - start == timedelta(hours=23)
    assert report["charges"] == {"count": 0, "amount": 0}
    assert report["top_items"] == []


def test_reports_are_for_the_store_staff_and_admins(api):
    scene = counter_scene(api)
    other = api.register("Olga")
    other_store = add_store(api, scene.admin, "Elsewhere")
    add_staff(api, scene.admin, other_store["id"], other)
    path = f"/v1/stores/{scene.store['id']}/reports/daily"
    problem(api.get(path, as_=other), 403, "not_store_staff")
    problem(api.get(path, as_=scene.anna), 403, "forbidden")
    problem(api.get(path, as_=scene.scanner.token), 403, "forbidden")
    problem(api.get(path + "?date=yesterday", as_=scene.admin), 422, "validation_error")


# --- concurrency -------------------------------------------------------------------------------


def _race(app, calls):
    """Run ``calls`` (each ``f(api) -> response``) at once, one client per thread."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        api = ApiClient(app.test_client())
        barrier.wait()
        results[index] = call(api)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _one_code_many_tills(api, app, tills):
    scene = counter_scene(api, funds=10_000)
    code = pay_code(api, scene.anna)["code"]
    results = _race(
        app, [lambda a: charge(a, scene.scanner, code, amount=100) for _ in range(tills)]
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201] + [409] * (tills - 1), [r.get_json() for r in results]
    assert all(r.get_json()["code"] == "code_already_used" for r in results if r.status_code == 409)
    assert balance(api, scene.anna) == 9_900
    with app.app_context():
        from wallet_api.counter.models import Charge
        from wallet_api.extensions import db

        assert db.session.query(Charge).count() == 1


@pytest.mark.postgres_only
def test_twenty_tills_racing_with_one_code_make_one_charge(api, app):
    _one_code_many_tills(api, app, 20)


def test_tills_racing_with_one_code_make_one_charge(api, app):
    _one_code_many_tills(api, app, 5)


def test_two_codes_of_one_wallet_at_once_cannot_overspend(api, app):
    scene = counter_scene(api, funds=500)
    codes = [pay_code(api, scene.anna)["code"] for _ in range(2)]
    results = _race(app, [lambda a, c=c: charge(a, scene.scanner, c, amount=400) for c in codes])
    assert sorted(r.status_code for r in results) == [201, 402]
    assert balance(api, scene.anna) == 100


def test_concurrent_refunds_never_exceed_the_charge(api, app):
    scene = counter_scene(api, funds=1000)
    code = pay_code(api, scene.anna)["code"]
    charge_id = charge(api, scene.scanner, code, amount=1000).get_json()["charge"]["id"]
    results = _race(app, [lambda a: _refund(a, scene.scanner.token, charge_id, 300)] * 10)
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201] * 3 + [422] * 7
    assert balance(api, scene.anna) == 900
