"""Giving drinks and credit: to a friend, and to anyone by a claim link."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from tests.support import gifts as gift_support
from tests.support.api import problem
from tests.support.gifts import (
    GIFT_CODE,
    MORNING,
    act,
    claim,
    drink,
    escrow_balance,
    gift_code,
    gift_of,
    give,
    given,
    notes,
    page_code,
    redeem,
    scan,
    token_of,
)
from tests.support.social import befriend
from tests.support.stores import balance, fund

# Shared fixtures: the frozen Monday morning and the usual gift scene.
frozen = gift_support.frozen
scene = gift_support.scene


def _ledger_rows(app, kind):
    from sqlalchemy import select

    from wallet_api.extensions import db
    from wallet_api.ledger.models import LedgerTransaction

    with app.app_context():
        rows = db.session.scalars(select(LedgerTransaction).where(LedgerTransaction.kind == kind))
        return [(t.memo, t.meta, [(e.account_id, e.amount) for e in t.entries]) for t in rows]


# --- a friend's gift, from giving to enjoying ----------------------------------------------------


def test_a_drink_for_a_friend_from_giving_to_thanks(api, app, scene):
    gift = given(
        api,
        scene.anna,
        handle=scene.ben.handle,
        item=drink(scene.flat_white, "M"),
        message="Happy Monday!",
    )
    assert gift["kind"] == "item"
    assert gift["item"]["name"] == "Flat White"
    assert gift["item"]["size"] == "M"
    assert gift["amount"] == 390
    assert gift["status"] == "pending"
    assert gift["to"] == {
        "user": {"id": scene.ben.id, "handle": scene.ben.handle, "display_name": "Ben"}
    }
    assert gift["from"]["first_name"] == "Anna"
    assert "claim_url" not in gift  # friends need no link
    assert datetime.fromisoformat(gift["expires_at"]) == MORNING + timedelta(days=90)
    # The price left Anna's wallet into escrow at once.
    assert balance(api, scene.anna) == 5_000 - 390
    assert escrow_balance(app) == 390
    ((memo, meta, _),) = _ledger_rows(app, "gift")
    assert meta["gift_id"] == gift["id"]
    assert meta["to"] == {"name": "Ben", "id": scene.ben.id}
    assert meta["items"][0]["name"] == "Flat White"
    assert memo == "Gift to Ben"

    (note,) = notes(api, scene.ben, "gift_received")
    assert note["title"] == "Ben, Anna sent you a Flat White"
    assert note["body"] == "Happy Monday!"
    assert note["data"]["gift_id"] == gift["id"]

    # Ben sees it without its price.
    received = api.get("/v1/gifts?box=received", as_=scene.ben).get_json()["items"]
    assert [g["id"] for g in received] == [gift["id"]]
    assert received[0]["amount"] is None
    assert received[0]["message"] == "Happy Monday!"

    # At the till.
    code = gift_code(api, scene.ben, gift["id"])
    preview = scan(api, scene.scanner, code).get_json()
    assert preview["kind"] == "gift"
    assert preview["customer"] == {"first_name": "Ben"}
    assert preview["greeting"] == "Good morning, Ben!"
    assert preview["details"]["item"]["name"] == "Flat White"
    assert preview["details"]["item"]["size"] == "M"
    assert preview["details"]["from"] == {"first_name": "Anna"}
    assert preview["details"]["message"] == "Happy Monday!"
    redeemed = redeem(api, scene.scanner, code)
    assert redeemed.status_code == 201, redeemed.get_json()
    body = redeemed.get_json()
    assert body["charge"]["kind"] == "gift"
    assert body["charge"]["amount"] == 390
    assert [(i["name"], i["size"], i["unit_price"]) for i in body["charge"]["items"]] == [
        ("Flat White", "M", 390)
    ]
    assert body["balance"] is None  # nobody's wallet paid at the till
    assert body["greeting"] == "Good morning, Ben!"
    assert escrow_balance(app) == 0
    ((_, meta, _),) = _ledger_rows(app, "gift_redemption")
    assert meta["gift"]["id"] == gift["id"]
    assert meta["store"]["id"] == scene.store["id"]
    assert meta["charge_id"] == body["charge"]["id"]
    assert balance(api, scene.ben) == 0

    assert gift_of(api, scene.anna, gift["id"])["status"] == "redeemed"
    (enjoyed,) = notes(api, scene.anna, "gift_redeemed")
    assert enjoyed["title"] == "Anna, Ben enjoyed the Flat White you sent"

    thanks = act(api, scene.ben, gift["id"], "thanks", json={"message": "You're the best"})
    assert thanks.status_code == 200, thanks.get_json()
    assert thanks.get_json()["thanked"] is True
    (thank_note,) = notes(api, scene.anna, "gift_thanks")
    assert thank_note["title"] == "Anna, Ben says thanks for the Flat White"
    assert thank_note["body"] == "You're the best"
    again = act(api, scene.ben, gift["id"], "thanks", json={"message": "Again!"})
    problem(again, 409, "gift_already_thanked")

    # Used once: a second redemption and a late decline are refused with clear codes.
    problem(redeem(api, scene.scanner, code), 409, "gift_redeemed")
    problem(scan(api, scene.scanner, code), 409, "gift_redeemed")
    problem(act(api, scene.ben, gift["id"], "decline"), 409, "gift_redeemed")
    problem(api.get(f"/v1/gifts/{gift['id']}/qr", as_=scene.ben), 409, "gift_redeemed")


def test_the_qr_comes_as_png_or_svg_and_is_never_cached(api, scene):
    gift = given(api, scene.anna, handle=scene.ben.handle, item=drink(scene.flat_white))
    png = api.get(f"/v1/gifts/{gift['id']}/qr", as_=scene.ben)
    assert png.mimetype == "image/png"
    assert png.headers["Cache-Control"] == "no-store"
    svg = api.get(f"/v1/gifts/{gift['id']}/qr?format=svg", as_=scene.ben)
    assert svg.status_code == 200
    assert svg.mimetype == "image/svg+xml"
    assert svg.data.lstrip().startswith(b"<?xml") or b"<svg" in svg.data[:200]
    response = api.get(f"/v1/gifts/{gift['id']}/qr?format=gif", as_=scene.ben)
    problem(response, 422, "validation_error")


def test_the_drink_is_made_as_given_whatever_the_menu_says_later(api, app, scene):
    gift = given(api, scene.anna, user_id=scene.ben.id, item=drink(scene.flat_white, "L"))
    code = gift_code(api, scene.ben, gift["id"])
    path = f"/v1/catalog/products/{scene.flat_white['id']}"
    renamed = api.patch(
        path,
        {"name": "Flat White Deluxe", "prices": [{"size": "L", "price": 600}]},
        as_=scene.admin,
    )
    assert renamed.status_code == 200, renamed.get_json()
    assert api.delete(path, as_=scene.admin).status_code == 204  # off the menu, too
    body = redeem(api, scene.scanner, code).get_json()
    assert [(i["name"], i["size"], i["unit_price"]) for i in body["charge"]["items"]] == [
        ("Flat White", "L", 430)
    ]
    assert body["charge"]["amount"] == 430


def test_a_gift_of_credit_is_accepted_into_the_wallet_once(api, app, scene):
    gift = given(api, scene.anna, handle=scene.ben.handle, amount=1_000, message="For Friday")
    assert gift["kind"] == "amount"
    assert gift["item"] is None
    assert gift_of(api, scene.ben, gift["id"])["amount"] == 1_000  # credit shows its amount
    (note,) = notes(api, scene.ben, "gift_received")
    assert note["title"] == "Ben, Anna sent you €10.00"
    problem(api.get(f"/v1/gifts/{gift['id']}/qr", as_=scene.ben), 409, "gift_is_credit")

    accepted = act(api, scene.ben, gift["id"], "accept")
    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.get_json()["status"] == "accepted"
    assert balance(api, scene.ben) == 1_000
    assert balance(api, scene.anna) == 4_000
    assert escrow_balance(app) == 0
    ((_, meta, _),) = _ledger_rows(app, "gift_credit")
    assert meta["from"]["id"] == scene.anna.id

    problem(act(api, scene.ben, gift["id"], "accept"), 409, "gift_accepted")
    problem(act(api, scene.ben, gift["id"], "decline"), 409, "gift_accepted")
    assert balance(api, scene.ben) == 1_000


def test_a_drink_is_not_accepted_but_redeemed(api, scene):
    gift = given(api, scene.anna, handle=scene.ben.handle, item=drink(scene.flat_white))
    problem(act(api, scene.ben, gift["id"], "accept"), 409, "gift_is_a_drink")


def test_accepting_credit_respects_the_maximum_balance(api, app, scene, monkeypatch):
    monkeypatch.setitem(app.config, "WALLET_MAX_BALANCE", 1_500)
    fund(api, scene.ben, 1_000)
    gift = given(api, scene.anna, handle=scene.ben.handle, amount=600)
    problem(act(api, scene.ben, gift["id"], "accept"), 422, "balance_limit_exceeded")
    assert gift_of(api, scene.ben, gift["id"])["status"] == "pending"  # nothing happened


def test_declining_refunds_the_giver_once(api, app, scene):
    gift = given(api, scene.anna, handle=scene.ben.handle, item=drink(scene.flat_white, "S"))
    assert balance(api, scene.anna) == 5_000 - 350
    declined = act(api, scene.ben, gift["id"], "decline")
    assert declined.status_code == 200, declined.get_json()
    assert declined.get_json()["status"] == "declined"
    assert balance(api, scene.anna) == 5_000
    assert escrow_balance(app) == 0
    (note,) = notes(api, scene.anna, "gift_returned")
    assert note["title"] == "Anna, your gift to Ben was declined: €3.50 is back in your wallet"
    problem(act(api, scene.ben, gift["id"], "decline"), 409, "gift_declined")
    problem(api.get(f"/v1/gifts/{gift['id']}/qr", as_=scene.ben), 409, "gift_declined")
    assert len(_ledger_rows(app, "gift_refund")) == 1
    assert balance(api, scene.anna) == 5_000


def test_a_replayed_decline_answers_the_same(api, scene):
    gift = given(api, scene.anna, handle=scene.ben.handle, item=drink(scene.flat_white))
    first = act(api, scene.ben, gift["id"], "decline", idem="decline-1")
    again = act(api, scene.ben, gift["id"], "decline", idem="decline-1")
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert balance(api, scene.anna) == 5_000


# --- gifts by link --------------------------------------------------------------------------------


def test_a_drink_by_link_for_someone_without_the_app(api, app, scene):
    gift = given(
        api, scene.anna, email="Carl@Example.com", item=drink(scene.flat_white), message="Enjoy!"
    )
    assert gift["to"] == {"email": "carl@example.com"}
    url = gift["claim_url"]
    assert url.startswith("http://127.0.0.1:5000/g/")
    token = token_of(url)
    assert len(token) >= 22  # at least 128 bits in URL-safe base64
    with app.app_context():
        from sqlalchemy import select

        from wallet_api.extensions import db
        from wallet_api.gifts.models import Gift

        stored = db.session.scalars(select(Gift)).one()
        columns = {c.key: getattr(stored, c.key) for c in Gift.__table__.columns}
    assert token not in str(columns)  # only its hash is kept
    # Nobody is told: Anna sees the address as she typed it, and no one has it in a box.
    assert gift_of(api, scene.anna, gift["id"])["to"] == {"email": "carl@example.com"}
    assert api.get(f"/v1/gifts/{gift['id']}", as_=scene.ben).status_code == 404

    code = page_code(api, url)
    assert GIFT_CODE.match(code)
    preview = scan(api, scene.scanner, code).get_json()
    assert preview["kind"] == "gift"
    assert preview["customer"] is None
    assert preview["greeting"] == "Good morning!"
    assert preview["the_usual"] is None
    assert preview["details"]["from"] == {"first_name": "Anna"}
    redeemed = redeem(api, scene.scanner, code)
    assert redeemed.status_code == 201, redeemed.get_json()
    assert redeemed.get_json()["greeting"] == "Good morning!"
    (note,) = notes(api, scene.anna, "gift_redeemed")
    assert note["title"] == (
        "Anna, the Flat White you sent to carl@example.com was enjoyed at Amsterdam Centraal"
    )
    html = api.get("/g/" + token).get_data(as_text=True)
    assert "has been enjoyed" in html
    assert "data:image/png" not in html


def test_a_link_gift_claimed_into_an_account_gets_a_new_code(api, app, scene):
    gift = given(api, scene.anna, phone="+31612345678", item=drink(scene.flat_white))
    old_code = page_code(api, gift["claim_url"])
    carl = api.register("Carl")
    claimed = claim(api, carl, gift["claim_url"])
    assert claimed.status_code == 200, claimed.get_json()
    assert claimed.get_json()["id"] == gift["id"]
    assert claimed.get_json()["to"] == {"phone": "+31612345678"}
    received = api.get("/v1/gifts?box=received", as_=carl).get_json()["items"]
    assert [g["id"] for g in received] == [gift["id"]]
    # The page's code died with the claim; Carl's app has a new one.
    problem(scan(api, scene.scanner, old_code), 409, "gift_claimed")
    problem(redeem(api, scene.scanner, old_code), 409, "gift_claimed")
    html = api.get("/g/" + token_of(gift["claim_url"])).get_data(as_text=True)
    assert "claimed into the Bean Wallet app" in html
    new_code = gift_code(api, carl, gift["id"])
    assert new_code != old_code
    preview = scan(api, scene.scanner, new_code).get_json()
    assert preview["customer"] == {"first_name": "Carl"}
    assert redeem(api, scene.scanner, new_code).status_code == 201
    # The giver still sees only the number she typed.
    assert gift_of(api, scene.anna, gift["id"])["to"] == {"phone": "+31612345678"}
    (note,) = notes(api, scene.anna, "gift_redeemed")
    assert "+31612345678" in note["title"]
    assert "Carl" not in note["title"]


def test_claim_errors(api, scene):
    gift = given(api, scene.anna, email="carl@example.com", item=drink(scene.flat_white))
    carl, dora = api.register("Carl"), api.register("Dora")
    problem(claim(api, scene.anna, gift["claim_url"]), 422, "gift_claim_own")
    bogus = "http://x/g/" + "A" * 32
    problem(claim(api, carl, bogus), 404, "gift_claim_not_found")
    problem(claim(api, carl, "http://x/g/" + "A" * 80), 404, "gift_claim_not_found")
    assert claim(api, carl, gift["claim_url"]).status_code == 200
    problem(claim(api, carl, gift["claim_url"]), 409, "gift_already_claimed")
    problem(claim(api, dora, gift["claim_url"]), 409, "gift_already_claimed")
    # The giver learns nothing by trying her own link, claimed or not.
    problem(claim(api, scene.anna, gift["claim_url"]), 422, "gift_claim_own")
    problem(
        api.post(f"/v1/gift-claims/{token_of(gift['claim_url'])}", as_=carl),
        400,
        "idempotency_key_missing",
    )
    problem(api.post(f"/v1/gift-claims/{token_of(gift['claim_url'])}"), 401, "token_missing")


def test_credit_by_link_lands_in_the_claimants_wallet(api, app, scene):
    gift = given(api, scene.anna, phone="+31687654321", amount=750)
    html = api.get("/g/" + token_of(gift["claim_url"])).get_data(as_text=True)
    assert "€7.50" in html
    assert "data:image/png" not in html  # credit is claimed in the app, not redeemed
    carl = api.register("Carl")
    claimed = claim(api, carl, gift["claim_url"])
    assert claimed.status_code == 200, claimed.get_json()
    assert claimed.get_json()["status"] == "accepted"
    assert balance(api, carl) == 750
    assert escrow_balance(app) == 0
    problem(claim(api, api.register("Dora"), gift["claim_url"]), 409, "gift_already_claimed")
    assert balance(api, carl) == 750


def test_an_account_with_that_email_finds_it_in_its_inbox_and_the_giver_cannot_tell(api, scene):
    dora = api.register("Dora", email="dora@example.com")  # not Anna's friend
    to_dora = given(api, scene.anna, email="dora@example.com", item=drink(scene.flat_white))
    to_nobody = given(api, scene.anna, email="nobody@example.com", item=drink(scene.flat_white))

    def shape(gift):
        return {k: v for k, v in gift.items() if k not in ("id", "to", "claim_url", "created_at")}

    assert shape(to_dora) == shape(to_nobody)
    assert to_dora.keys() == to_nobody.keys()
    for gift in (to_dora, to_nobody):
        seen = gift_of(api, scene.anna, gift["id"])
        assert set(seen["to"]) == {"email"}
        assert seen["status"] == "pending"

    (note,) = notes(api, dora, "gift_received")
    assert note["title"] == "Dora, Anna sent you a Flat White"
    received = api.get("/v1/gifts?box=received", as_=dora).get_json()["items"]
    assert [g["id"] for g in received] == [to_dora["id"]]
    code = gift_code(api, dora, to_dora["id"])
    assert redeem(api, scene.scanner, code).status_code == 201
    # The link still works for her, and for nobody else.
    problem(claim(api, api.register("Eve"), to_dora["claim_url"]), 409, "gift_already_claimed")


def test_an_account_with_that_phone_can_claim_its_own_link(api, scene):
    dora = api.register("Dora", phone="+31611112222")
    gift = given(api, scene.anna, phone="+31611112222", amount=500)
    claimed = claim(api, dora, gift["claim_url"])
    assert claimed.status_code == 200, claimed.get_json()
    assert balance(api, dora) == 500


# --- who may see and do what -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("GET", "/qr", None),
        ("POST", "/decline", None),
        ("POST", "/accept", None),
        ("POST", "/thanks", {"message": "Thanks!"}),
    ],
)
def test_strangers_and_unknown_ids_get_404(api, scene, method, suffix, body):
    gift = given(api, scene.anna, handle=scene.ben.handle, amount=300)
    olga = api.register("Olga")
    for who, gift_id in ((olga, gift["id"]), (scene.ben, str(uuid.uuid4()))):
        response = api.request(
            method, f"/v1/gifts/{gift_id}{suffix}", body, as_=who, idem=method == "POST"
        )
        problem(response, 404, "gift_not_found")


@pytest.mark.parametrize(
    ("suffix", "body"),
    [("/qr", None), ("/decline", None), ("/accept", None), ("/thanks", {"message": "Hi"})],
)
def test_the_giver_cannot_act_for_the_recipient(api, scene, suffix, body):
    gift = given(api, scene.anna, handle=scene.ben.handle, item=drink(scene.flat_white))
    method = "GET" if suffix == "/qr" else "POST"
    response = api.request(
        method, f"/v1/gifts/{gift['id']}{suffix}", body, as_=scene.anna, idem=method == "POST"
    )
    problem(response, 404, "gift_not_found")
    assert gift_of(api, scene.anna, gift["id"])["status"] == "pending"


def test_the_boxes_page_newest_first(api, scene, frozen):
    ids = []
    for _ in range(3):
        frozen.advance(timedelta(minutes=1))
        ids.append(given(api, scene.anna, handle=scene.ben.handle, amount=100)["id"])
    first = api.get("/v1/gifts?box=sent&limit=2", as_=scene.anna).get_json()
    assert [g["id"] for g in first["items"]] == ids[:0:-1]
    rest = api.get(f"/v1/gifts?box=sent&limit=2&cursor={first['next_cursor']}", as_=scene.anna)
    assert [g["id"] for g in rest.get_json()["items"]] == ids[:1]
    assert rest.get_json()["next_cursor"] is None
    received = api.get("/v1/gifts", as_=scene.ben).get_json()["items"]  # received by default
    assert len(received) == 3
    assert api.get("/v1/gifts?box=received", as_=scene.anna).get_json()["items"] == []
    problem(api.get("/v1/gifts?box=all", as_=scene.anna), 422, "validation_error")


# --- giving: the rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"amount": 100},  # nobody
        {"handle": "ben", "email": "b@example.com", "amount": 100},  # two addresses
        {"email": "b@example.com"},  # nothing to give
        {"email": "b@example.com", "amount": 100, "item": {"product_id": str(uuid.uuid4())}},
        {"email": "b@example.com", "amount": 2.5},
        {"email": "b@example.com", "amount": 0},
        {"email": "b@example.com", "amount": "100"},
        {"email": "not-an-email", "amount": 100},
        {"phone": "0612345678", "amount": 100},
        {"email": "b@example.com", "amount": 100, "message": "x" * 281},
        {"email": "b@example.com", "item": {"product_id": str(uuid.uuid4())}},  # no size
        {
            "email": "b@example.com",
            "item": {"product_id": str(uuid.uuid4()), "size": "M", "quantity": 2},
        },
        {"email": "b@example.com", "amount": 100, "surprise": True},
    ],
)
def test_invalid_gifts_are_422(api, scene, body):
    problem(give(api, scene.anna, **body), 422, "validation_error")
    assert balance(api, scene.anna) == 5_000


def test_only_friends_by_id_or_handle_and_never_myself(api, scene):
    olga = api.register("Olga")
    problem(give(api, scene.anna, handle=olga.handle, amount=100), 422, "not_a_friend")
    problem(give(api, scene.anna, user_id=olga.id, amount=100), 422, "not_a_friend")
    problem(give(api, scene.anna, user_id=str(uuid.uuid4()), amount=100), 422, "not_a_friend")
    problem(give(api, scene.anna, handle="nobody_here", amount=100), 404, "user_not_found")
    problem(give(api, scene.anna, user_id=scene.anna.id, amount=100), 422, "gift_to_self")
    problem(give(api, scene.anna, handle=scene.anna.handle, amount=100), 422, "gift_to_self")
    problem(give(api, scene.anna, email=scene.anna.email, amount=100), 422, "gift_to_self")
    assert balance(api, scene.anna) == 5_000


def test_an_unfriended_person_gets_no_gift(api, scene):
    assert api.delete(f"/v1/friends/{scene.ben.id}", as_=scene.anna).status_code == 204
    problem(give(api, scene.anna, handle=scene.ben.handle, amount=100), 422, "not_a_friend")


def test_not_more_than_the_balance_nor_an_unknown_drink(api, scene):
    problem(give(api, scene.anna, handle=scene.ben.handle, amount=5_001), 402, "insufficient_funds")
    unknown = {"product_id": str(uuid.uuid4()), "size": "M"}
    problem(give(api, scene.anna, handle=scene.ben.handle, item=unknown), 422, "item_unavailable")
    tiny = {"product_id": scene.flat_white["id"], "size": "M"}
    api.patch(
        f"/v1/catalog/products/{scene.flat_white['id']}",
        {"prices": [{"size": "S", "price": 350}]},
        as_=scene.admin,
    )
    problem(give(api, scene.anna, handle=scene.ben.handle, item=tiny), 422, "size_unavailable")
    assert balance(api, scene.anna) == 5_000


def test_credit_gifts_count_against_the_daily_transfer_limit(api, app, scene, monkeypatch):
    monkeypatch.setitem(app.config, "WALLET_DAILY_TRANSFER_LIMIT", 2_000)
    sent = api.post(
        "/v1/wallet/transfers", {"to": scene.ben.handle, "amount": 800}, as_=scene.anna, idem=True
    )
    assert sent.status_code == 201
    assert give(api, scene.anna, email="x@example.com", amount=1_000).status_code == 201
    body = problem(
        give(api, scene.anna, phone="+31600000001", amount=300),
        422,
        "daily_transfer_limit_exceeded",
    )
    assert body["remaining"] == 200
    # Drinks are not credit: they are not limited this way.
    assert give(
        api, scene.anna, email="y@example.com", item=drink(scene.flat_white)
    ).status_code == (201)


def test_credit_gifted_first_limits_the_transfers_after_it(api, app, scene, monkeypatch):
    # The same limit whichever way the credit left first: gifts, then a transfer.
    monkeypatch.setitem(app.config, "WALLET_DAILY_TRANSFER_LIMIT", 2_000)
    assert give(api, scene.anna, email="x@example.com", amount=1_500).status_code == 201
    over = api.post(
        "/v1/wallet/transfers", {"to": scene.ben.handle, "amount": 600}, as_=scene.anna, idem=True
    )
    assert problem(over, 422, "daily_transfer_limit_exceeded")["remaining"] == 500
    assert balance(api, scene.anna) == 3_500
    within = api.post(
        "/v1/wallet/transfers", {"to": scene.ben.handle, "amount": 500}, as_=scene.anna, idem=True
    )
    assert within.status_code == 201, within.get_json()


def test_a_replayed_gift_moves_money_once_and_shows_the_same_link(api, app, scene):
    body = {"email": "carl@example.com", "item": drink(scene.flat_white), "message": "Hi"}
    first = give(api, scene.anna, idem="gift-1", **body)
    again = give(api, scene.anna, idem="gift-1", **body)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert balance(api, scene.anna) == 5_000 - 390
    problem(
        give(api, scene.anna, idem="gift-1", **body | {"message": "Other"}),
        422,
        "idempotency_key_reused",
    )
    problem(give(api, scene.anna, idem=False, **body), 400, "idempotency_key_missing")


def test_gifts_need_a_signed_in_customer(api, scene):
    problem(api.post("/v1/gifts", {"email": "a@example.com", "amount": 1}), 401, "token_missing")
    problem(api.get("/v1/gifts"), 401, "token_missing")
    problem(
        api.post("/v1/gifts", {"amount": 1}, as_=scene.scanner.token, idem=True), 403, "forbidden"
    )


def test_thanks_need_a_message(api, scene):
    gift = given(api, scene.anna, handle=scene.ben.handle, amount=100)
    problem(
        act(api, scene.ben, gift["id"], "thanks", json={"message": ""}), 422, "validation_error"
    )
    problem(act(api, scene.ben, gift["id"], "thanks"), 400, "body_required")


def test_a_friend_can_still_be_given_to_after_becoming_friends_again(api, scene):
    api.delete(f"/v1/friends/{scene.ben.id}", as_=scene.anna)
    befriend(api, scene.ben, scene.anna)
    assert give(api, scene.anna, handle=scene.ben.handle, amount=100).status_code == 201


# --- a blend as a gift (unskip when blends land) ---------------------------------------------


def test_a_blend_is_made_as_given_even_if_the_giver_edits_it_later(api, app, scene):
    from tests.support.blends import compose, make_menu, simple

    menu = make_menu(api)
    blend = compose(api, scene.anna, simple(menu, name="Anna's Monday", visibility="private"))
    gift = given(api, scene.anna, handle=scene.ben.handle, item={"blend_id": blend["id"]})
    assert gift["item"]["kind"] == "blend"
    assert gift["item"]["name"] == "Anna's Monday"
    assert gift["amount"] == blend["price"]
    snapshot = gift["item"]["snapshot"]
    # Anna changes the recipe after giving it.
    edited = api.patch(
        f"/v1/blends/{blend['id']}",
        {"name": "Anna's Tuesday", "notes": "Extra hot"},
        as_=scene.anna,
    )
    assert edited.status_code == 200, edited.get_json()
    code = gift_code(api, scene.ben, gift["id"])
    preview = scan(api, scene.scanner, code).get_json()
    assert preview["details"]["item"]["name"] == "Anna's Monday"
    assert preview["details"]["item"]["snapshot"] == snapshot
    body = redeem(api, scene.scanner, code).get_json()
    assert [(i["kind"], i["name"], i["unit_price"]) for i in body["charge"]["items"]] == [
        ("blend", "Anna's Monday", blend["price"])
    ]
    assert escrow_balance(app) == 0
