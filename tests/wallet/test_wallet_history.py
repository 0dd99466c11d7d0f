"""Wallet history: who was on the other side of each row (issue #14, item 1)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from flask import Flask

from tests.support import gifts as gift_support
from tests.support.api import ApiClient, Person
from tests.support.gifts import act, claim, drink, expire_gifts, given, redeem
from tests.support.stores import sign_in_again

frozen = gift_support.frozen
scene = gift_support.scene


def _rows(api: ApiClient, person: Person, limit: int = 100) -> list[dict]:
    response = api.get(f"/v1/wallet/transactions?limit={limit}", as_=person)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def _by_kind(api: ApiClient, person: Person) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {}
    for row in _rows(api, person):
        rows.setdefault(row["kind"], []).append(row)
    return rows


def _person(who: Person) -> dict:
    return {"kind": "user", "id": who.id, "handle": who.handle, "first_name": who.first_name}


def _transfer(api: ApiClient, sender: Person, to: str, amount: int) -> None:
    body = {"to": to, "amount": amount}
    response = api.post("/v1/wallet/transfers", body, as_=sender, idem=True)
    assert response.status_code == 201, response.get_json()


def _allowance_use(api: ApiClient, scene, allowance_id: str, amount: int) -> None:
    code = api.post("/v1/wallet/pay-codes", {"allowance_id": allowance_id}, as_=scene.ben)
    assert code.status_code == 201, code.get_json()
    charged = redeem(api, scene.scanner, code.get_json()["code"], amount=amount)
    assert charged.status_code == 201, charged.get_json()


def _grant(api: ApiClient, owner: Person, grantee: Person) -> str:
    body = {"grantee": grantee.handle, "amount": 10_000, "period": "week"}
    response = api.post("/v1/allowances", body, as_=owner)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_a_transfer_shows_each_side_the_other(api, scene):
    _transfer(api, scene.anna, scene.ben.handle, 200)
    (sent,) = _by_kind(api, scene.anna)["transfer"]
    (received,) = _by_kind(api, scene.ben)["transfer"]
    assert (sent["amount"], received["amount"]) == (-200, 200)
    assert sent["counterparty"] == _person(scene.ben)
    assert received["counterparty"] == _person(scene.anna)


def test_credit_given_to_a_friend_names_each_to_the_other(api, scene):
    gift = given(api, scene.anna, handle=scene.ben.handle, amount=1_000)
    assert act(api, scene.ben, gift["id"], "accept").status_code == 200
    (given_row,) = _by_kind(api, scene.anna)["gift"]
    (accepted,) = _by_kind(api, scene.ben)["gift_credit"]
    assert given_row["counterparty"] == _person(scene.ben)
    assert accepted["counterparty"] == _person(scene.anna)


def test_a_declined_drink_comes_back_from_the_friend(api, scene):
    gift = given(api, scene.anna, handle=scene.ben.handle, item=drink(scene.flat_white))
    assert act(api, scene.ben, gift["id"], "decline").status_code == 200
    rows = _by_kind(api, scene.anna)
    assert rows["gift"][0]["counterparty"] == _person(scene.ben)
    assert rows["gift_refund"][0]["counterparty"] == _person(scene.ben)
    assert "gift_refund" not in _by_kind(api, scene.ben)  # the refund is the giver's only


def test_a_gift_by_email_is_masked_to_the_giver_and_the_claimant_sees_the_giver(api, scene):
    gift = given(api, scene.anna, email="carl@example.com", amount=750)
    masked = {"kind": "email", "masked": "c***@example.com"}
    (given_row,) = _by_kind(api, scene.anna)["gift"]
    assert given_row["counterparty"] == masked

    carl = api.register("Carl")  # another address: whoever holds the link claims it
    assert claim(api, carl, gift["claim_url"]).status_code == 200
    (claimed,) = _by_kind(api, carl)["gift_credit"]
    assert claimed["amount"] == 750
    assert claimed["counterparty"] == _person(scene.anna)
    # The giver still sees the address, masked, never who claimed it.
    (given_row,) = _by_kind(api, scene.anna)["gift"]
    assert given_row["counterparty"] == masked


def test_a_gift_by_phone_that_expires_comes_back_masked(api, app, scene, frozen):
    given(api, scene.anna, phone="+31612345678", item=drink(scene.flat_white))
    frozen.advance(timedelta(days=91))
    sign_in_again(api, scene.anna)
    assert "1 refunded" in expire_gifts(app)
    rows = _by_kind(api, scene.anna)
    masked = {"kind": "phone", "masked": "+316******78"}
    assert rows["gift"][0]["counterparty"] == masked
    assert rows["gift_refund"][0]["counterparty"] == masked


def test_an_allowance_use_shows_its_owner_the_friend_who_used_it(api, scene):
    allowance_id = _grant(api, scene.anna, scene.ben)
    _allowance_use(api, scene, allowance_id, 390)
    (used,) = _by_kind(api, scene.anna)["allowance_charge"]
    assert used["amount"] == -390
    assert used["counterparty"] == _person(scene.ben)
    assert used["store"] == {"id": scene.store["id"], "name": scene.store["name"]}
    # The friend's wallet paid nothing, so the friend has no row.
    assert _rows(api, scene.ben) == []


def test_top_ups_and_charges_name_no_counterparty(api, scene):
    code = api.post("/v1/wallet/pay-codes", as_=scene.anna).get_json()["code"]
    assert redeem(api, scene.scanner, code, amount=250).status_code == 201
    rows = _by_kind(api, scene.anna)
    assert rows["top_up"][0]["counterparty"] is None
    assert rows["charge"][0]["counterparty"] is None
    assert rows["charge"][0]["store"]["id"] == scene.store["id"]


def test_a_former_member_is_shown_without_handle_or_name(api, app, scene):
    _transfer(api, scene.anna, scene.ben.handle, 200)
    with app.app_context():
        from wallet_api.auth.models import User
        from wallet_api.extensions import db

        db.session.get(User, uuid.UUID(scene.ben.id)).is_active = False
        db.session.commit()
    (sent,) = _by_kind(api, scene.anna)["transfer"]
    assert sent["counterparty"] == {
        "kind": "user",
        "id": scene.ben.id,
        "handle": None,
        "first_name": None,
    }


# --- statements ------------------------------------------------------------------------


@contextmanager
def _statements(app: Flask) -> Iterator[list[str]]:
    """The SQL statements sent through SQLAlchemy while the block runs."""
    from sqlalchemy import event

    from wallet_api.extensions import db

    sent: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        sent.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _one_of_each(api: ApiClient, scene, allowance_id: str, n: int) -> None:
    """A transfer each way, credit for a friend, credit by email and by phone, an
    allowance use: six rows on Anna's page, each with another counterparty row."""
    _transfer(api, scene.anna, scene.ben.handle, 10)
    _transfer(api, scene.ben, scene.anna.handle, 5)
    gift = given(api, scene.anna, handle=scene.ben.handle, amount=10)
    assert act(api, scene.ben, gift["id"], "accept").status_code == 200
    given(api, scene.anna, email=f"guest{n}@example.com", amount=10)
    given(api, scene.anna, phone=f"+3161234{n:04d}", amount=10)
    _allowance_use(api, scene, allowance_id, 10)


def _page_statements(api: ApiClient, app: Flask, person: Person) -> tuple[int, list[dict]]:
    with _statements(app) as sent:
        rows = _rows(api, person)
    return len(sent), rows


def test_a_page_costs_the_same_statements_however_many_counterparties(api, app, scene):
    only_top_ups, rows = _page_statements(api, app, scene.anna)
    assert [r["kind"] for r in rows] == ["top_up"]
    allowance_id = _grant(api, scene.anna, scene.ben)

    _one_of_each(api, scene, allowance_id, 0)
    few, rows = _page_statements(api, app, scene.anna)
    assert len(rows) == 7
    assert all(r["counterparty"] is not None for r in rows if r["kind"] != "top_up")

    for n in range(1, 11):
        _one_of_each(api, scene, allowance_id, n)
    many, rows = _page_statements(api, app, scene.anna)
    assert len(rows) == 67
    assert all(r["counterparty"] is not None for r in rows if r["kind"] != "top_up")
    assert {r["counterparty"]["kind"] for r in rows if r["counterparty"]} == {
        "user",
        "email",
        "phone",
    }
    # The gifts in one statement and the people in one, however long the page (on SQLite:
    # 4 statements for a page of top-ups, 6 for one with counterparties).
    assert many == few == only_top_ups + 2
