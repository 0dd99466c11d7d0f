"""Friend requests and friendships, as the app uses them."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.support.api import UNKNOWN_ID, problem
from tests.support.social import befriend, box, in_parallel, inbox, sign_in_again


def _ask(api, who, **to):
    return api.post("/v1/friend-requests", to, as_=who)


def test_friendship_story(api):
    anna, ben = api.register("Anna"), api.register("Ben")

    sent = _ask(api, anna, handle="@" + ben.handle.upper())
    assert sent.status_code == 201
    request = sent.get_json()
    assert request["to"] == {"handle": ben.handle}
    assert request["from"] == {"id": anna.id, "handle": anna.handle, "display_name": "Anna"}

    assert [r["id"] for r in box(api, ben, "incoming")] == [request["id"]]
    assert [r["id"] for r in box(api, anna, "outgoing")] == [request["id"]]
    assert box(api, anna, "incoming") == []
    (note,) = inbox(api, ben)["items"]
    assert note["kind"] == "friend_request"
    assert note["title"] == f"Ben, Anna (@{anna.handle}) wants to be friends"
    assert note["data"]["friend_request_id"] == request["id"]

    accepted = api.post(f"/v1/friend-requests/{request['id']}/accept", as_=ben)
    assert accepted.status_code == 200
    assert accepted.get_json()["id"] == anna.id
    assert accepted.get_json()["first_name"] == "Anna"

    ben_friends = api.get("/v1/friends", as_=ben).get_json()["items"]
    anna_friends = api.get("/v1/friends", as_=anna).get_json()["items"]
    assert [f["id"] for f in ben_friends] == [anna.id]
    assert [f["handle"] for f in anna_friends] == [ben.handle]
    assert anna_friends[0]["since"] == ben_friends[0]["since"]
    assert box(api, ben, "incoming") == box(api, anna, "outgoing") == []
    (note,) = inbox(api, anna)["items"]
    assert (note["kind"], note["title"]) == (
        "friend_accepted",
        "Anna, Ben accepted your friend request",
    )
    assert note["data"]["friend"]["id"] == ben.id


@pytest.mark.parametrize(
    "body",
    [{}, {"handle": "ben", "email": "ben@example.com"}, {"handle": "ben", "phone": "+31611111111"}],
)
def test_exactly_one_way_to_name_the_person(api, body):
    anna = api.register("Anna")
    problem(_ask(api, anna, **body), 422, "validation_error")


def test_a_handle_nobody_has_is_404(api):
    anna = api.register("Anna")
    problem(_ask(api, anna, handle="nobody_here"), 404, "user_not_found")


@pytest.mark.parametrize("field", ["handle", "email", "phone"])
def test_no_requests_to_myself(api, field):
    anna = api.register("Anna", phone="+31600000001")
    mine = {"handle": anna.handle, "email": anna.email.upper(), "phone": "+31600000001"}
    problem(_ask(api, anna, **{field: mine[field]}), 422, "friend_request_self")


def test_no_second_pending_request_either_way(api):
    anna, ben = api.register("Anna"), api.register("Ben")
    first = _ask(api, anna, handle=ben.handle).get_json()

    again = problem(_ask(api, anna, handle=ben.handle), 409, "friend_request_pending")
    assert again["friend_request_id"] == first["id"]
    # Ben asking back is told Anna already asked, and which request to accept.
    back = problem(_ask(api, ben, handle=anna.handle), 409, "friend_request_pending")
    assert back["friend_request_id"] == first["id"]
    assert "already asked you" in back["detail"]
    assert len(box(api, ben, "incoming")) == 1


def test_friends_cannot_ask_again(api):
    anna, ben = api.register("Anna"), api.register("Ben")
    befriend(api, anna, ben)
    problem(_ask(api, anna, handle=ben.handle), 409, "already_friends")
    problem(_ask(api, ben, handle=anna.handle), 409, "already_friends")


def test_only_the_addressee_answers_a_request(api):
    anna, ben, eve = api.register("Anna"), api.register("Ben"), api.register("Eve")
    request_id = _ask(api, anna, handle=ben.handle).get_json()["id"]
    for action in ("accept", "decline"):
        for who in (anna, eve):
            url = f"/v1/friend-requests/{request_id}/{action}"
            problem(api.post(url, as_=who), 404, "friend_request_not_found")
        url = f"/v1/friend-requests/{uuid.uuid4()}/{action}"
        problem(api.post(url, as_=ben), 404, "friend_request_not_found")
    assert len(box(api, ben, "incoming")) == 1


@pytest.mark.parametrize(("first", "then"), [("accept", "decline"), ("decline", "accept")])
def test_a_request_is_answered_once(api, first, then):
    anna, ben = api.register("Anna"), api.register("Ben")
    request_id = _ask(api, anna, handle=ben.handle).get_json()["id"]
    assert api.post(f"/v1/friend-requests/{request_id}/{first}", as_=ben).status_code < 300
    response = api.post(f"/v1/friend-requests/{request_id}/{then}", as_=ben)
    problem(response, 409, "friend_request_answered")


def test_a_decline_is_quiet_and_stops_repeats_for_the_cooldown(api, app, monkeypatch):
    from wallet_api.clock import clock, utcnow

    monkeypatch.setitem(app.config, "WALLET_FRIEND_REQUEST_COOLDOWN_DAYS", 7)
    clock.freeze(utcnow())
    anna, ben = api.register("Anna"), api.register("Ben")
    request_id = _ask(api, anna, handle=ben.handle).get_json()["id"]
    assert api.post(f"/v1/friend-requests/{request_id}/decline", as_=ben).status_code == 204

    assert box(api, ben, "incoming") == []
    # Anna is not told: the request still looks pending to her, and asking again says so.
    assert [r["id"] for r in box(api, anna, "outgoing")] == [request_id]
    assert inbox(api, anna)["items"] == []
    problem(_ask(api, anna, handle=ben.handle), 409, "friend_request_pending")
    assert len(inbox(api, ben)["items"]) == 1  # Ben was not asked again

    clock.advance(timedelta(days=7, seconds=1))
    sign_in_again(api, anna, ben)
    assert box(api, anna, "outgoing") == []
    assert _ask(api, anna, handle=ben.handle).status_code == 201
    assert len(box(api, ben, "incoming")) == 1


def test_the_one_who_declined_may_still_ask(api):
    anna, ben = api.register("Anna"), api.register("Ben")
    request_id = _ask(api, anna, handle=ben.handle).get_json()["id"]
    api.post(f"/v1/friend-requests/{request_id}/decline", as_=ben)
    back = _ask(api, ben, handle=anna.handle)
    assert back.status_code == 201
    api.post(f"/v1/friend-requests/{back.get_json()['id']}/accept", as_=anna)
    # Friends now: Anna's quietly declined request is gone from her box too.
    assert box(api, anna, "outgoing") == []
    assert [f["id"] for f in api.get("/v1/friends", as_=anna).get_json()["items"]] == [ben.id]


@pytest.mark.parametrize("field", ["email", "phone"])
def test_email_or_phone_never_tells_whether_an_account_exists(api, field):
    anna = api.register("Anna")
    ben = api.register("Ben", phone="+31611111111")
    known = {"email": ben.email, "phone": "+31611111111"}[field]
    unknown = {"email": "nobody@example.com", "phone": "+31699999999"}[field]

    to_known, to_unknown = _ask(api, anna, **{field: known}), _ask(api, anna, **{field: unknown})
    assert to_known.status_code == to_unknown.status_code == 201
    assert to_known.get_json().keys() == to_unknown.get_json().keys()
    assert to_known.get_json()["to"] == {field: known}
    assert to_unknown.get_json()["to"] == {field: unknown}
    assert {r["to"][field] for r in box(api, anna, "outgoing")} == {known, unknown}
    # Asking again is refused alike: Anna sees both in her own box anyway.
    problem(_ask(api, anna, **{field: known}), 409, "friend_request_pending")
    problem(_ask(api, anna, **{field: unknown}), 409, "friend_request_pending")

    (incoming,) = box(api, ben, "incoming")
    assert incoming["from"]["id"] == anna.id
    assert incoming["to"] == {field: known}
    assert api.post(f"/v1/friend-requests/{incoming['id']}/accept", as_=ben).status_code == 200
    assert [r["to"] for r in box(api, anna, "outgoing")] == [{field: unknown}]


def test_email_requests_do_not_reveal_who_is_behind_an_address(api):
    anna, ben, cas = api.register("Anna"), api.register("Ben"), api.register("Cas")
    befriend(api, anna, cas)
    # Already friends, or already asked by handle: a plain 201, but nothing is delivered.
    assert _ask(api, anna, email=cas.email).status_code == 201
    assert _ask(api, anna, handle=ben.handle).status_code == 201
    assert _ask(api, anna, email=ben.email).status_code == 201
    assert box(api, cas, "incoming") == []
    assert len(box(api, ben, "incoming")) == 1


def test_a_handle_request_does_not_reveal_whose_email_was_asked(api):
    anna, ben = api.register("Anna"), api.register("Ben")
    assert _ask(api, anna, email=ben.email).status_code == 201
    # A 409 here would tell Anna that the address she used belongs to Ben.
    assert _ask(api, anna, handle=ben.handle).status_code == 201
    (incoming,) = box(api, ben, "incoming")
    api.post(f"/v1/friend-requests/{incoming['id']}/accept", as_=ben)
    # Friends now: neither of Anna's requests to Ben stays open.
    assert box(api, anna, "outgoing") == []


def test_unfriend(api):
    anna, ben, eve = api.register("Anna"), api.register("Ben"), api.register("Eve")
    befriend(api, anna, ben)
    problem(api.delete(f"/v1/friends/{eve.id}", as_=anna), 404, "friend_not_found")
    problem(api.delete(f"/v1/friends/{anna.id}", as_=anna), 404, "friend_not_found")
    problem(api.delete(f"/v1/friends/{ben.id}", as_=eve), 404, "friend_not_found")

    assert api.delete(f"/v1/friends/{ben.id}", as_=anna).status_code == 204
    assert api.get("/v1/friends", as_=anna).get_json()["items"] == []
    assert api.get("/v1/friends", as_=ben).get_json()["items"] == []
    problem(api.delete(f"/v1/friends/{ben.id}", as_=anna), 404, "friend_not_found")
    assert _ask(api, ben, handle=anna.handle).status_code == 201


def test_boxes_and_friends_page_by_cursor(api):
    anna = api.register("Anna")
    others = [api.register(name) for name in ("Ben", "Cas", "Dre")]
    sent = [_ask(api, anna, handle=o.handle).get_json()["id"] for o in others]

    query = {"box": "outgoing", "limit": 2}
    first = api.get("/v1/friend-requests", as_=anna, query_string=query).get_json()
    cursor = first["next_cursor"]
    second = api.get(
        "/v1/friend-requests", as_=anna, query_string={**query, "cursor": cursor}
    ).get_json()
    assert [r["id"] for r in first["items"] + second["items"]] == sent[::-1]
    assert second["next_cursor"] is None

    for other in others:
        api.post(f"/v1/friend-requests/{box(api, other, 'incoming')[0]['id']}/accept", as_=other)
    first = api.get("/v1/friends", as_=anna, query_string={"limit": 2}).get_json()
    second = api.get(
        "/v1/friends", as_=anna, query_string={"limit": 2, "cursor": first["next_cursor"]}
    ).get_json()
    assert [f["id"] for f in first["items"] + second["items"]] == [o.id for o in others][::-1]

    bad = api.get("/v1/friends", as_=anna, query_string={"cursor": "not-a-cursor"})
    assert "cursor" in problem(bad, 422, "validation_error")["errors"]
    bad_box = api.get("/v1/friend-requests", as_=anna, query_string={"box": "spam"})
    problem(bad_box, 422, "validation_error")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/friend-requests"),
        ("GET", "/v1/friend-requests"),
        ("POST", f"/v1/friend-requests/{UNKNOWN_ID}/accept"),
        ("POST", f"/v1/friend-requests/{UNKNOWN_ID}/decline"),
        ("GET", "/v1/friends"),
        ("DELETE", f"/v1/friends/{UNKNOWN_ID}"),
    ],
)
def test_friends_need_a_signed_in_customer(api, method, path):
    problem(api.request(method, path), 401, "token_missing")


def test_service_functions_for_other_domains(api, app):
    from wallet_api.auth.errors import UserNotFound
    from wallet_api.social import service
    from wallet_api.social.errors import NotAFriend

    anna, ben, eve = api.register("Anna"), api.register("Ben"), api.register("Eve")
    befriend(api, anna, ben)
    a, b, e = (uuid.UUID(p.id) for p in (anna, ben, eve))
    with app.app_context():
        assert service.are_friends(a, b)
        assert service.are_friends(b, a)
        assert not service.are_friends(a, e)
        assert not service.are_friends(a, a)
        assert service.friend_ids(a) == {b}
        assert service.friend_ids(e) == set()
        service.require_friend(a, b)
        for other in (e, uuid.uuid4()):
            with pytest.raises(NotAFriend):
                service.require_friend(a, other)
        assert service.friend_by_ref(a, "@" + ben.handle).id == b
        assert service.friend_by_ref(a, ben.id).id == b
        with pytest.raises(NotAFriend):
            service.friend_by_ref(a, eve.handle)
        with pytest.raises(NotAFriend):
            service.friend_by_ref(a, str(uuid.uuid4()))
        with pytest.raises(UserNotFound):
            service.friend_by_ref(a, "nobody_here")


def test_asking_each_other_at_once_leaves_one_request(api, app):
    anna, ben = api.register("Anna"), api.register("Ben")
    responses = in_parallel(
        app,
        [
            lambda c: c.post("/v1/friend-requests", {"handle": ben.handle}, as_=anna),
            lambda c: c.post("/v1/friend-requests", {"handle": anna.handle}, as_=ben),
        ],
    )
    assert sorted(r.status_code for r in responses) == [201, 409]
    assert len(box(api, anna, "incoming")) + len(box(api, ben, "incoming")) == 1


def test_accepting_twice_at_once_makes_one_friendship(api, app):
    anna, ben = api.register("Anna"), api.register("Ben")
    request_id = _ask(api, anna, handle=ben.handle).get_json()["id"]
    url = f"/v1/friend-requests/{request_id}/accept"
    responses = in_parallel(app, [lambda c: c.post(url, as_=ben)] * 4)
    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409]
    assert len(api.get("/v1/friends", as_=anna).get_json()["items"]) == 1
    assert len(inbox(api, anna)["items"]) == 1


def test_one_friendship_per_pair_is_a_database_rule(api, app):
    """Whatever a future code path does, the database refuses a second row for a pair."""
    from sqlalchemy.exc import IntegrityError

    from wallet_api.extensions import db
    from wallet_api.social.models import Friendship, ordered_pair

    anna, ben = api.register("Anna"), api.register("Ben")
    befriend(api, anna, ben)
    low, high = ordered_pair(uuid.UUID(anna.id), uuid.UUID(ben.id))
    with app.app_context():
        for pair in ((low, high), (high, low)):
            db.session.add(Friendship(user_low_id=pair[0], user_high_id=pair[1]))
            with pytest.raises(IntegrityError):
                db.session.flush()
            db.session.rollback()
