"""Sending credit to a friend."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.support.api import UNKNOWN_ID, problem
from tests.support.social import balance, befriend, fund, in_parallel, inbox, sign_in_again

URL = "/v1/wallet/transfers"


@pytest.fixture
def friends(api, app):
    """Anna (with €50.00) and her friend Ben (with nothing)."""
    anna, ben = api.register("Anna"), api.register("Ben")
    befriend(api, anna, ben)
    fund(app, anna, 5_000)
    return anna, ben


def _send(api, who, to, amount, message="", **kwargs):
    kwargs.setdefault("idem", True)
    return api.post(URL, {"to": to, "amount": amount, "message": message}, as_=who, **kwargs)


def _credit_notes(api, person):
    return [n for n in inbox(api, person)["items"] if n["kind"] == "credit_received"]


def test_send_credit_to_a_friend(api, app, friends):
    anna, ben = friends
    response = _send(api, anna, "@" + ben.handle.upper(), 1_250, "Coffee's on me")
    assert response.status_code == 201
    body = response.get_json()
    assert body["to"] == {"id": ben.id, "handle": ben.handle, "display_name": "Ben"}
    assert body["from"]["id"] == anna.id
    assert (body["amount"], body["currency"], body["message"]) == (1_250, "EUR", "Coffee's on me")
    assert body["balance"] == 3_750
    assert balance(app, anna) == 3_750
    assert balance(app, ben) == 1_250

    (note,) = _credit_notes(api, ben)
    assert note["title"] == "Ben, Anna sent you €12.50"
    assert note["body"] == "Coffee's on me"
    assert note["data"]["transfer_id"] == body["id"]
    assert note["data"]["amount"] == 1_250

    for who in (anna, ben):
        seen = api.get(f"{URL}/{body['id']}", as_=who)
        assert seen.status_code == 200
        assert "balance" not in seen.get_json()  # never the other side's balance
        assert seen.get_json()["amount"] == 1_250


def test_the_ledger_row_reads_well_for_both_sides(api, app, friends):
    from wallet_api.ledger.models import LedgerTransaction

    anna, ben = friends
    transfer = _send(api, anna, ben.id, 300, "thanks!").get_json()
    with app.app_context():
        from wallet_api.extensions import db

        posted = db.session.query(LedgerTransaction).filter_by(kind="transfer").one()
        assert posted.meta == {
            "transfer_id": transfer["id"],
            "from": {"id": anna.id, "name": "Anna"},
            "to": {"id": ben.id, "name": "Ben"},
            "message": "thanks!",
        }
        assert sorted(e.amount for e in posted.entries) == [-300, 300]


def test_a_transfer_is_seen_only_by_its_two_people(api, friends):
    anna, ben = friends
    eve = api.register("Eve")
    transfer_id = _send(api, anna, ben.handle, 100).get_json()["id"]
    problem(api.get(f"{URL}/{transfer_id}", as_=eve), 404, "transfer_not_found")
    problem(api.get(f"{URL}/{uuid.uuid4()}", as_=anna), 404, "transfer_not_found")


def test_strangers_and_unknown_ids_look_the_same(api, app, friends):
    anna, _ = friends
    eve = api.register("Eve")
    fund(app, eve, 1_000)
    stranger = problem(_send(api, anna, eve.id, 100), 422, "not_a_friend")
    nobody = problem(_send(api, anna, str(uuid.uuid4()), 100), 422, "not_a_friend")
    assert stranger.pop("request_id") != nobody.pop("request_id")  # two requests
    assert stranger == nobody
    assert "balance" not in stranger
    problem(_send(api, anna, eve.handle, 100), 422, "not_a_friend")
    problem(_send(api, anna, "nobody_here", 100), 404, "user_not_found")
    assert balance(app, anna) == 5_000


def test_no_credit_to_myself(api, friends):
    anna, _ = friends
    problem(_send(api, anna, anna.id, 100), 422, "transfer_to_self")
    problem(_send(api, anna, "@" + anna.handle, 100), 422, "transfer_to_self")


def test_an_unfriended_person_gets_nothing(api, friends):
    anna, ben = friends
    api.delete(f"/v1/friends/{ben.id}", as_=anna)
    problem(_send(api, anna, ben.id, 100), 422, "not_a_friend")


@pytest.mark.parametrize(
    "body",
    [
        {"amount": 0},
        {"amount": -100},
        {"amount": 1.5},
        {"amount": "100"},
        {"amount": None},
        {"message": "x" * 141},
        {"to": ""},
    ],
)
def test_invalid_bodies_are_422(api, friends, body):
    anna, ben = friends
    response = api.post(URL, {"to": ben.id, "amount": 100, **body}, as_=anna, idem=True)
    assert set(problem(response, 422, "validation_error")["errors"]) == set(body)


def test_not_more_than_the_balance(api, app, friends):
    anna, ben = friends
    body = problem(_send(api, anna, ben.id, 5_001), 402, "insufficient_funds")
    assert body["balance"] == 5_000  # Anna's own balance: hers to see
    assert _send(api, anna, ben.id, 5_000).status_code == 201
    assert balance(app, anna) == 0


def test_the_recipients_maximum_balance_holds_without_showing_it(api, app, friends, monkeypatch):
    anna, ben = friends
    monkeypatch.setitem(app.config, "WALLET_MAX_BALANCE", 4_000)
    fund(app, ben, 3_123)
    body = problem(_send(api, anna, ben.id, 1_000), 422, "balance_limit_exceeded")
    assert "3123" not in str(body)
    assert "4123" not in str(body)
    assert _send(api, anna, ben.id, 877).status_code == 201
    assert balance(app, ben) == 4_000


def test_the_daily_limit_is_a_rolling_24_hours(api, app, friends, monkeypatch):
    from wallet_api.clock import clock, utcnow

    anna, ben = friends
    monkeypatch.setitem(app.config, "WALLET_DAILY_TRANSFER_LIMIT", 1_000)
    clock.freeze(utcnow())
    assert _send(api, anna, ben.id, 600).status_code == 201
    clock.advance(timedelta(hours=12))
    sign_in_again(api, anna)
    body = problem(_send(api, anna, ben.id, 500), 422, "daily_transfer_limit_exceeded")
    assert (body["limit"], body["remaining"], body["currency"]) == (1_000, 400, "EUR")
    assert _send(api, anna, ben.id, 400).status_code == 201
    problem(_send(api, anna, ben.id, 1), 422, "daily_transfer_limit_exceeded")

    # 24 hours after the first transfer its 600 no longer count; the later 400 still do.
    clock.advance(timedelta(hours=12, seconds=1))
    sign_in_again(api, anna)
    problem(_send(api, anna, ben.id, 601), 422, "daily_transfer_limit_exceeded")
    assert _send(api, anna, ben.id, 600).status_code == 201
    assert balance(app, ben) == 1_600


def test_a_transfer_over_the_limit_at_once_is_refused(api, app, friends, monkeypatch):
    anna, ben = friends
    monkeypatch.setitem(app.config, "WALLET_DAILY_TRANSFER_LIMIT", 1_000)
    body = problem(_send(api, anna, ben.id, 1_001), 422, "daily_transfer_limit_exceeded")
    assert body["remaining"] == 1_000
    assert balance(app, anna) == 5_000


def test_idempotency_key_is_required_and_replays(api, app, friends):
    anna, ben = friends
    problem(_send(api, anna, ben.id, 100, idem=False), 400, "idempotency_key_missing")

    first = _send(api, anna, ben.id, 100, "once", idem="key-1")
    again = _send(api, anna, ben.id, 100, "once", idem="key-1")
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert balance(app, ben) == 100
    assert len(_credit_notes(api, ben)) == 1
    other = _send(api, anna, ben.id, 200, "once", idem="key-1")
    problem(other, 422, "idempotency_key_reused")


@pytest.mark.parametrize(("method", "path"), [("POST", URL), ("GET", f"{URL}/{UNKNOWN_ID}")])
def test_transfers_need_a_signed_in_customer(api, method, path):
    problem(api.request(method, path), 401, "token_missing")


# --- concurrency ---------------------------------------------------------------------------


def _parallel_sends(app, sender, recipients, amount, n):
    return in_parallel(
        app,
        [
            lambda c, i=i: _send(c, sender, recipients[i % len(recipients)].id, amount)
            for i in range(n)
        ],
    )


def test_parallel_transfers_never_exceed_the_balance(api, app):
    anna, ben, cas = api.register("Anna"), api.register("Ben"), api.register("Cas")
    befriend(api, anna, ben)
    befriend(api, anna, cas)
    fund(app, anna, 5_000)
    responses = _parallel_sends(app, anna, [ben, cas], 500, 20)
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * 10 + [402] * 10, codes
    assert balance(app, anna) == 0
    assert balance(app, ben) + balance(app, cas) == 5_000


def test_parallel_transfers_never_exceed_the_daily_limit(api, app, monkeypatch):
    anna, ben, cas = api.register("Anna"), api.register("Ben"), api.register("Cas")
    befriend(api, anna, ben)
    befriend(api, anna, cas)
    fund(app, anna, 20_000)
    monkeypatch.setitem(app.config, "WALLET_DAILY_TRANSFER_LIMIT", 10_000)
    responses = _parallel_sends(app, anna, [ben, cas], 700, 20)
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * 14 + [422] * 6, codes  # 14 x 700 = 9,800; a 15th would be 10,500
    for r in responses:
        if r.status_code == 422:
            assert r.get_json()["code"] == "daily_transfer_limit_exceeded"
    assert balance(app, anna) == 20_000 - 9_800


def test_friends_sending_to_each_other_at_once_do_not_deadlock(api, app):
    anna, ben = api.register("Anna"), api.register("Ben")
    befriend(api, anna, ben)
    fund(app, anna, 1_000)
    fund(app, ben, 1_000)
    calls = [lambda c: _send(c, anna, ben.id, 50), lambda c: _send(c, ben, anna.id, 50)] * 8
    responses = in_parallel(app, calls)
    assert [r.status_code for r in responses] == [201] * 16, [r.get_json() for r in responses]
    assert balance(app, anna) == balance(app, ben) == 1_000
