"""The notifications inbox."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.support.api import UNKNOWN_ID, problem
from tests.support.social import inbox


def _notify(app, person, kind="goodwill", **kwargs):
    from wallet_api.extensions import db
    from wallet_api.social.service import notify

    kwargs.setdefault("title", "we are sorry about your coffee")
    with app.app_context():
        notification = notify(uuid.UUID(person.id), kind, **kwargs)
        db.session.commit()
        return str(notification.id)


def test_inbox_newest_first_with_unread_count_and_read(api, app):
    from wallet_api.clock import clock, utcnow

    clock.freeze(utcnow())
    anna = api.register("Anna")
    ids = []
    for n in range(3):
        ids.append(_notify(app, anna, title=f"message {n}", data={"n": n}))
        clock.advance(timedelta(seconds=1))

    page = inbox(api, anna)
    assert [n["id"] for n in page["items"]] == ids[::-1]
    assert page["unread_count"] == 3
    assert page["items"][0]["title"] == "Anna, message 2"
    assert page["items"][0]["data"] == {"n": 2}
    assert page["items"][0]["read_at"] is None

    read = api.post(f"/v1/notifications/{ids[1]}/read", as_=anna)
    assert read.status_code == 200
    first_read_at = read.get_json()["read_at"]
    assert first_read_at is not None
    clock.advance(timedelta(minutes=5))
    again = api.post(f"/v1/notifications/{ids[1]}/read", as_=anna)
    assert again.get_json()["read_at"] == first_read_at

    unread = inbox(api, anna, unread="true")
    assert [n["id"] for n in unread["items"]] == [ids[2], ids[0]]
    assert unread["unread_count"] == inbox(api, anna)["unread_count"] == 2


def test_inbox_pages_by_cursor(api, app):
    anna = api.register("Anna")
    ids = [_notify(app, anna, title=f"message {n}") for n in range(5)]
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = inbox(api, anna, **query)
        seen += [n["id"] for n in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)
    assert len(seen) == 5


def test_only_the_owner_reads_a_notification(api, app):
    anna, eve = api.register("Anna"), api.register("Eve")
    note = _notify(app, anna)
    problem(api.post(f"/v1/notifications/{note}/read", as_=eve), 404, "notification_not_found")
    problem(
        api.post(f"/v1/notifications/{uuid.uuid4()}/read", as_=anna), 404, "notification_not_found"
    )
    assert inbox(api, eve)["items"] == []
    assert inbox(api, anna)["unread_count"] == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/notifications"), ("POST", f"/v1/notifications/{UNKNOWN_ID}/read")],
)
def test_inbox_needs_a_signed_in_customer(api, method, path):
    problem(api.request(method, path), 401, "token_missing")


def test_notify_addresses_the_person_by_first_name(api, app):
    ben = api.register("Ben")
    _notify(app, ben, "credit_received", title="Anna sent you €5.00", body="for the coffee")
    _notify(app, ben, "gift_thanks", title="Ben, Anna says thanks")  # already addressed
    _notify(app, ben, "tier_changed", title="x" * 300, data={"user_id": uuid.UUID(ben.id)})
    items = inbox(api, ben)["items"]
    titles = {n["kind"]: n["title"] for n in items}
    assert titles["credit_received"] == "Ben, Anna sent you €5.00"
    assert titles["gift_thanks"] == "Ben, Anna says thanks"
    assert len(titles["tier_changed"]) == 200
    assert titles["tier_changed"].endswith("\u2026")
    assert next(n for n in items if n["kind"] == "tier_changed")["data"] == {"user_id": ben.id}
    assert next(n for n in items if n["kind"] == "credit_received")["body"] == "for the coffee"


def test_notify_refuses_unknown_kinds_and_people(api, app):
    anna = api.register("Anna")
    with pytest.raises(ValueError, match="not_a_kind"):
        _notify(app, anna, "not_a_kind")
    with app.app_context():
        from wallet_api.social.service import notify

        with pytest.raises(ValueError, match="no user"):
            notify(uuid.uuid4(), "goodwill", title="hello")
