"""Allowances: Ben picks up coffee on Anna's credit, within what she allows per period."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.support import gifts as gift_support
from tests.support.api import problem
from tests.support.gifts import drink, notes, redeem, scan
from tests.support.social import in_parallel
from tests.support.stores import balance, fund, pay_code, refund, sign_in_again

frozen = gift_support.frozen
scene = gift_support.scene

URL = "/v1/allowances"


def _grant(api, owner, grantee, amount=1_000, period="week", **extra):
    body = {"grantee": grantee.handle, "amount": amount, "period": period, **extra}
    return api.post(URL, body, as_=owner)


def _granted(api, owner, grantee, **kwargs):
    response = _grant(api, owner, grantee, **kwargs)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _code(api, grantee, allowance_id):
    response = api.post("/v1/wallet/pay-codes", {"allowance_id": allowance_id}, as_=grantee)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _mine(api, person):
    response = api.get(URL, as_=person)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_ben_picks_up_a_coffee_on_annas_allowance(api, app, scene):
    allowance = _granted(api, scene.anna, scene.ben, amount=1_000, period="week")
    assert allowance["owner"]["id"] == scene.anna.id
    assert allowance["grantee"]["id"] == scene.ben.id
    assert (allowance["amount"], allowance["period"], allowance["left"]) == (1_000, "week", 1_000)
    # 2026-03-02 is a Monday: the week runs from its midnight (UTC) to the next Monday's.
    assert allowance["period_start"] == "2026-03-02T00:00:00+00:00"
    assert allowance["period_end"] == "2026-03-09T00:00:00+00:00"

    code = _code(api, scene.ben, allowance["id"])
    assert code["allowance_id"] == allowance["id"]
    preview = scan(api, scene.scanner, code["code"], amount=390).get_json()
    assert preview["kind"] == "allowance"
    assert preview["customer"] == {"first_name": "Ben"}
    assert preview["greeting"] == "Good morning, Ben!"
    assert preview["balance_covers"] is True
    assert preview["details"] == {"paid_by": {"first_name": "Anna"}}
    assert scan(api, scene.scanner, code["code"], amount=1_001).get_json()["balance_covers"] is (
        False
    )

    items = [drink(scene.flat_white, "M")]
    charged = redeem(api, scene.scanner, code["code"], items=items)
    assert charged.status_code == 201, charged.get_json()
    body = charged.get_json()
    assert body["charge"]["kind"] == "allowance"
    assert body["charge"]["amount"] == 390
    assert body["balance"] == 610  # what is left of the allowance this week
    assert body["greeting"] == "Good morning, Ben!"
    assert balance(api, scene.anna) == 5_000 - 390
    assert balance(api, scene.ben) == 0

    with app.app_context():
        from sqlalchemy import select

        from wallet_api.extensions import db
        from wallet_api.ledger.models import LedgerTransaction

        posted = db.session.scalars(
            select(LedgerTransaction).where(LedgerTransaction.kind == "allowance_charge")
        ).one()
        assert posted.memo == "Ben picked up a Flat White on your allowance"
        assert posted.meta["allowance"]["owner"]["id"] == scene.anna.id
        assert posted.meta["allowance"]["grantee"]["id"] == scene.ben.id
        assert posted.meta["charge_id"] == body["charge"]["id"]
        assert posted.meta["items"][0]["name"] == "Flat White"

    (note,) = notes(api, scene.anna, "allowance_used")
    assert note["title"] == "Anna, Ben picked up a Flat White on your allowance"
    assert note["body"] == "€3.90 at Amsterdam Centraal; €6.10 left this week."
    assert note["data"]["left"] == 610

    given = _mine(api, scene.anna)["given"]
    assert [(a["id"], a["used"], a["left"]) for a in given] == [(allowance["id"], 390, 610)]
    (use,) = given[0]["uses"]
    assert use["charge_id"] == body["charge"]["id"]
    assert use["store"] == {"id": scene.store["id"], "name": "Amsterdam Centraal"}
    assert use["amount"] == 390
    received = _mine(api, scene.ben)["received"]
    assert [(a["id"], a["left"]) for a in received] == [(allowance["id"], 610)]
    assert _mine(api, scene.ben)["given"] == []
    # The pay code was used once, like any other.
    problem(redeem(api, scene.scanner, code["code"], amount=100), 409, "code_already_used")


def test_never_more_than_what_is_left_of_the_period(api, scene, frozen):
    allowance = _granted(api, scene.anna, scene.ben, amount=500, period="day")
    first = _code(api, scene.ben, allowance["id"])
    assert redeem(api, scene.scanner, first["code"], amount=400).status_code == 201
    second = _code(api, scene.ben, allowance["id"])
    body = problem(
        redeem(api, scene.scanner, second["code"], amount=101), 422, "allowance_exceeded"
    )
    assert body["left"] == 100
    assert "€1.00 is left of Anna's allowance today" in body["detail"]
    # The failed charge consumed nothing: the code pays what fits.
    assert redeem(api, scene.scanner, second["code"], amount=100).status_code == 201
    assert balance(api, scene.anna) == 4_500

    frozen.advance(timedelta(days=1))  # a new UTC day: the allowance is whole again
    sign_in_again(api, scene.ben, scene.scanner)
    third = _code(api, scene.ben, allowance["id"])
    assert redeem(api, scene.scanner, third["code"], amount=500).status_code == 201


def test_never_more_than_the_owners_balance(api, scene):
    allowance = _granted(api, scene.anna, scene.ben, amount=10_000, period="month")
    code = _code(api, scene.ben, allowance["id"])
    preview = scan(api, scene.scanner, code["code"], amount=5_001).get_json()
    assert preview["balance_covers"] is False
    problem(redeem(api, scene.scanner, code["code"], amount=5_001), 402, "insufficient_funds")
    assert balance(api, scene.anna) == 5_000


def test_the_owner_revokes_at_once(api, scene):
    allowance = _granted(api, scene.anna, scene.ben)
    code = _code(api, scene.ben, allowance["id"])
    problem(api.delete(f"{URL}/{allowance['id']}", as_=scene.ben), 404, "allowance_not_found")
    problem(
        api.delete(f"{URL}/{allowance['id']}", as_=api.register("Olga")), 404, "allowance_not_found"
    )
    assert api.delete(f"{URL}/{allowance['id']}", as_=scene.anna).status_code == 204
    problem(scan(api, scene.scanner, code["code"]), 409, "allowance_revoked")
    problem(redeem(api, scene.scanner, code["code"], amount=100), 409, "allowance_revoked")
    response = api.post("/v1/wallet/pay-codes", {"allowance_id": allowance["id"]}, as_=scene.ben)
    problem(response, 404, "allowance_not_found")
    assert _mine(api, scene.anna) == {"given": [], "received": []}
    assert _mine(api, scene.ben) == {"given": [], "received": []}
    problem(api.delete(f"{URL}/{allowance['id']}", as_=scene.anna), 404, "allowance_not_found")
    # A new one may be given after the old one is gone.
    assert _grant(api, scene.anna, scene.ben).status_code == 201
    assert balance(api, scene.anna) == 5_000


def test_only_the_grantee_can_pay_with_it(api, scene):
    allowance = _granted(api, scene.anna, scene.ben)
    for who in (scene.anna, api.register("Olga")):
        response = api.post("/v1/wallet/pay-codes", {"allowance_id": allowance["id"]}, as_=who)
        problem(response, 404, "allowance_not_found")
    response = api.post("/v1/wallet/pay-codes", {"allowance_id": str(uuid.uuid4())}, as_=scene.ben)
    problem(response, 404, "allowance_not_found")


def test_an_unfriended_grantee_can_no_longer_use_it(api, scene):
    allowance = _granted(api, scene.anna, scene.ben)
    code = _code(api, scene.ben, allowance["id"])
    assert api.delete(f"/v1/friends/{scene.anna.id}", as_=scene.ben).status_code == 204
    problem(redeem(api, scene.scanner, code["code"], amount=100), 422, "not_a_friend")
    response = api.post("/v1/wallet/pay-codes", {"allowance_id": allowance["id"]}, as_=scene.ben)
    problem(response, 422, "not_a_friend")
    assert balance(api, scene.anna) == 5_000


def test_an_allowance_ends_when_it_expires(api, scene, frozen):
    ends = (gift_support.MORNING + timedelta(seconds=30)).isoformat()
    allowance = _granted(api, scene.anna, scene.ben, expires_at=ends)
    assert allowance["expires_at"] == ends
    code = _code(api, scene.ben, allowance["id"])
    frozen.advance(timedelta(seconds=30))  # the pay code lives on; the allowance does not
    problem(scan(api, scene.scanner, code["code"]), 410, "allowance_expired")
    problem(redeem(api, scene.scanner, code["code"], amount=100), 410, "allowance_expired")
    response = api.post("/v1/wallet/pay-codes", {"allowance_id": allowance["id"]}, as_=scene.ben)
    problem(response, 410, "allowance_expired")
    assert _mine(api, scene.anna)["given"] == []
    # An expired one does not block a new one for the same friend.
    assert _grant(api, scene.anna, scene.ben).status_code == 201


def test_grant_rules(api, scene):
    olga = api.register("Olga")
    problem(_grant(api, scene.anna, olga), 422, "not_a_friend")
    problem(_grant(api, scene.anna, scene.anna), 422, "allowance_to_self")
    body = {"grantee": "nobody_here", "amount": 100, "period": "day"}
    problem(api.post(URL, body, as_=scene.anna), 404, "user_not_found")
    assert _grant(api, scene.anna, scene.ben).status_code == 201
    problem(_grant(api, scene.anna, scene.ben, amount=200), 409, "allowance_exists")
    # Both ways is fine: Ben may give Anna one too.
    assert _grant(api, scene.ben, scene.anna).status_code == 201


@pytest.mark.parametrize(
    "change",
    [
        {"period": "year"},
        {"amount": 0},
        {"amount": 2.5},
        {"amount": "100"},
        {"expires_at": "2026-03-01T00:00:00+00:00"},  # in the past
        {"expires_at": "2026-04-01T00:00:00"},  # no time zone
        {"grantee": ""},
        {"surprise": 1},
    ],
)
def test_invalid_allowances_are_422(api, scene, change):
    body = {"grantee": scene.ben.handle, "amount": 500, "period": "week", **change}
    problem(api.post(URL, body, as_=scene.anna), 422, "validation_error")


def test_allowances_need_a_signed_in_customer(api, scene):
    problem(api.get(URL), 401, "token_missing")
    problem(api.post(URL, {"grantee": "x", "amount": 1, "period": "day"}), 401, "token_missing")
    problem(api.delete(f"{URL}/{uuid.uuid4()}"), 401, "token_missing")


def test_a_refund_of_an_allowance_charge_goes_back_to_the_owner(api, scene):
    allowance = _granted(api, scene.anna, scene.ben)
    code = _code(api, scene.ben, allowance["id"])
    charge = redeem(api, scene.scanner, code["code"], amount=300).get_json()["charge"]
    refunded = refund(api, scene.scanner, charge["id"], 300, "Wrong order")
    assert refunded.status_code == 201, refunded.get_json()
    assert balance(api, scene.anna) == 5_000
    assert balance(api, scene.ben) == 0


def test_a_refunded_allowance_charge_gives_its_room_back(api, scene):
    # 5.00 a week; a 3.00 coffee made wrong and refunded in part (2.00) leaves 4.00 to use.
    allowance = _granted(api, scene.anna, scene.ben, amount=500)
    charge = redeem(api, scene.scanner, _code(api, scene.ben, allowance["id"])["code"], amount=300)
    charge_id = charge.get_json()["charge"]["id"]
    refunded = refund(api, scene.scanner, charge_id, 200, "Made with the wrong milk")
    assert refunded.status_code == 201, refunded.get_json()
    (seen,) = _mine(api, scene.anna)["given"]
    assert (seen["used"], seen["left"]) == (100, 400)
    assert [(use["amount"], use["refunded"]) for use in seen["uses"]] == [(300, 200)]
    # The room is real: a 4.00 charge goes through, a cent more would not have.
    code = _code(api, scene.ben, allowance["id"])["code"]
    problem(redeem(api, scene.scanner, code, amount=401), 422, "allowance_exceeded")
    code = _code(api, scene.ben, allowance["id"])["code"]
    assert redeem(api, scene.scanner, code, amount=400).status_code == 201


def test_a_plain_pay_code_still_pays_from_my_own_wallet(api, scene):
    _granted(api, scene.anna, scene.ben)
    fund(api, scene.ben, 1_000)
    code = api.post("/v1/wallet/pay-codes", as_=scene.ben).get_json()
    assert code["allowance_id"] is None
    assert redeem(api, scene.scanner, code["code"], amount=250).status_code == 201
    assert balance(api, scene.ben) == 750
    assert balance(api, scene.anna) == 5_000


@pytest.mark.parametrize(
    ("period", "now", "start", "end"),
    [
        ("day", "2026-03-04 23:59:59", "2026-03-04", "2026-03-05"),
        ("week", "2026-03-08 23:00:00", "2026-03-02", "2026-03-09"),  # Sunday night
        ("week", "2026-03-09 00:00:00", "2026-03-09", "2026-03-16"),  # Monday midnight
        ("month", "2026-02-28 12:00:00", "2026-02-01", "2026-03-01"),
        ("month", "2026-12-31 23:00:00", "2026-12-01", "2027-01-01"),
        # 01:30 on April 1st in Amsterdam is still March in UTC.
        ("month", "2026-03-31 23:30:00", "2026-03-01", "2026-04-01"),
    ],
)
def test_periods_are_utc_calendar_periods(period, now, start, end):
    from wallet_api.allowances.models import Period
    from wallet_api.allowances.service import period_bounds

    def utc(text):
        return datetime.fromisoformat(text).replace(tzinfo=UTC)

    assert period_bounds(Period(period), utc(now)) == (utc(start), utc(end))


# --- concurrency ------------------------------------------------------------------------------


def _tills_charging_one_allowance(api, app, scene, tills):
    allowance = _granted(api, scene.anna, scene.ben, amount=1_000, period="day")
    codes = [_code(api, scene.ben, allowance["id"])["code"] for _ in range(tills)]
    results = in_parallel(
        app, [lambda a, c=c: redeem(a, scene.scanner, c, amount=400) for c in codes]
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201, 201] + [422] * (tills - 2), [r.get_json() for r in results]
    assert balance(api, scene.anna) == 5_000 - 800
    assert _mine(api, scene.anna)["given"][0]["left"] == 200
    assert len(notes(api, scene.anna, "allowance_used")) == 2


@pytest.mark.postgres_only
def test_many_tills_charging_one_allowance_never_exceed_it(api, app, scene, monkeypatch):
    monkeypatch.setitem(app.config, "WALLET_MAX_LIVE_PAY_CODES", 12)
    _tills_charging_one_allowance(api, app, scene, 12)


def test_tills_charging_one_allowance_never_exceed_it(api, app, scene):
    _tills_charging_one_allowance(api, app, scene, 3)


def test_the_owner_paying_while_the_grantee_does_never_overdraws(api, app, scene):
    allowance = _granted(api, scene.anna, scene.ben, amount=5_000, period="day")
    ben_code = _code(api, scene.ben, allowance["id"])["code"]
    anna_code = api.post("/v1/wallet/pay-codes", as_=scene.anna).get_json()["code"]
    results = in_parallel(
        app,
        [
            lambda a: redeem(a, scene.scanner, ben_code, amount=3_000),
            lambda a: redeem(a, scene.scanner, anna_code, amount=3_000),
        ],
    )
    assert sorted(r.status_code for r in results) == [201, 402]
    assert balance(api, scene.anna) == 2_000


def test_a_coffee_on_my_allowance_is_my_friends_usual_not_mine(api, scene):
    allowance = _granted(api, scene.anna, scene.ben)
    code = _code(api, scene.ben, allowance["id"])["code"]
    assert redeem(api, scene.scanner, code, items=[drink(scene.flat_white, "L")]).status_code == 201

    bens = scan(api, scene.scanner, _code(api, scene.ben, allowance["id"])["code"]).get_json()
    assert bens["the_usual"]["name"] == "Flat White"
    assert bens["the_usual"]["size"] == "L"
    # Anna paid for it but did not drink it: her own code shows no usual yet.
    annas = scan(api, scene.scanner, pay_code(api, scene.anna)["code"]).get_json()
    assert annas["the_usual"] is None
