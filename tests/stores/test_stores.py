"""Stores, their staff and scanner devices, as an admin and a till use them."""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

from tests.support.api import problem
from tests.support.reliability import wallet_cli
from tests.support.stores import add_scanner, add_store


def test_admin_opens_a_store_and_anyone_can_read_it(api):
    ada = api.admin()
    store = add_store(api, ada, "Utrecht Neude", timezone="Europe/Amsterdam")
    assert store["is_open"] is True
    assert store["timezone"] == "Europe/Amsterdam"

    one = api.get(f"/v1/stores/{store['id']}")
    assert one.status_code == 200
    assert one.get_json()["name"] == "Utrecht Neude"
    listed = api.get("/v1/stores").get_json()
    assert [s["id"] for s in listed["items"]] == [store["id"]]
    assert listed["next_cursor"] is None


def test_store_list_pages(api):
    ada = api.admin()
    ids = [add_store(api, ada, f"Store {n}")["id"] for n in range(3)]
    first = api.get("/v1/stores?limit=2").get_json()
    second = api.get(f"/v1/stores?limit=2&cursor={first['next_cursor']}").get_json()
    seen = [s["id"] for s in first["items"] + second["items"]]
    assert sorted(seen) == sorted(ids)
    assert second["next_cursor"] is None


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../etc/passwd", "Europe/"])
def test_unknown_time_zone_is_422(api, zone):
    ada = api.admin()
    response = api.post("/v1/stores", {"name": "X", "timezone": zone}, as_=ada)
    assert "timezone" in problem(response, 422, "validation_error")["errors"]


def test_only_admins_open_or_change_stores(api):
    ada, anna = api.admin(), api.register("Anna")
    problem(api.post("/v1/stores", {"name": "X", "timezone": "UTC"}, as_=anna), 403, "forbidden")
    store = add_store(api, ada)
    problem(api.patch(f"/v1/stores/{store['id']}", {"is_open": False}, as_=anna), 403, "forbidden")


def test_admin_renames_closes_and_reopens(api):
    ada = api.admin()
    store = add_store(api, ada)
    closed = api.patch(f"/v1/stores/{store['id']}", {"is_open": False, "name": "Dam"}, as_=ada)
    assert closed.status_code == 200
    assert closed.get_json()["is_open"] is False
    assert closed.get_json()["name"] == "Dam"
    assert api.get(f"/v1/stores/{store['id']}").get_json()["is_open"] is False


def test_unknown_store_is_404(api):
    ada = api.admin()
    problem(api.get(f"/v1/stores/{uuid.uuid4()}"), 404, "store_not_found")
    problem(api.patch(f"/v1/stores/{uuid.uuid4()}", {"name": "X"}, as_=ada), 404, "store_not_found")


def test_adding_staff_makes_a_customer_staff_and_is_audited(api):
    ada = api.admin()
    store = add_store(api, ada)
    bas = api.register("Bas")
    response = api.post(f"/v1/stores/{store['id']}/staff", {"user_id": bas.id}, as_=ada)
    assert response.status_code == 201
    assert response.get_json()["role"] == "staff"
    assert api.get("/v1/me", as_=bas).get_json()["role"] == "staff"

    # Adding again changes nothing and records nothing new.
    again = api.post(f"/v1/stores/{store['id']}/staff", {"user_id": bas.id}, as_=ada)
    assert again.status_code == 201
    events = api.get("/v1/audit-events?tag=store:staff", as_=ada).get_json()["items"]
    assert len(events) == 1
    assert events[0]["tag"] == "store:staff:added"
    assert events[0]["subject"] == f"user:{bas.id}"
    assert events[0]["actor_id"] == ada.id
    assert events[0]["data"]["previous_role"] == "customer"
    problem(api.get("/v1/audit-events", as_=bas), 403, "forbidden")


def test_an_admin_made_staff_stays_admin(api):
    ada, other_admin = api.admin(), api.admin("Otto")
    store = add_store(api, ada)
    response = api.post(f"/v1/stores/{store['id']}/staff", {"user_id": other_admin.id}, as_=ada)
    assert response.get_json()["role"] == "admin"


def test_staff_of_unknown_user_or_store_is_404(api):
    ada = api.admin()
    store = add_store(api, ada)
    problem(
        api.post(f"/v1/stores/{store['id']}/staff", {"user_id": str(uuid.uuid4())}, as_=ada),
        404,
        "user_not_found",
    )
    problem(
        api.post(f"/v1/stores/{uuid.uuid4()}/staff", {"user_id": ada.id}, as_=ada),
        404,
        "store_not_found",
    )


def test_device_secret_is_shown_once_and_trades_for_a_store_token(api, app):
    ada = api.admin()
    store = add_store(api, ada)
    created = api.post(f"/v1/stores/{store['id']}/devices", {"name": "Till 1"}, as_=ada)
    assert created.status_code == 201
    device = created.get_json()
    assert len(device["device_secret"]) >= 43  # 256 bits, url-safe base64

    token = api.post(
        "/v1/auth/device-token",
        {"device_id": device["device_id"], "device_secret": device["device_secret"]},
    ).get_json()
    assert token["store_id"] == store["id"]
    assert token["token_type"] == "Bearer"
    with app.app_context():
        from wallet_api.extensions.auth import decode_token

        claims = decode_token(token["access_token"])
    assert claims["typ"] == "device"
    assert claims["store"] == store["id"]
    # The secret itself is nowhere in the database.
    with app.app_context():
        from sqlalchemy import select

        from wallet_api.extensions import db
        from wallet_api.stores.models import Device

        stored = db.session.scalar(select(Device.secret_hash))
    assert device["device_secret"] not in stored


def test_wrong_device_secret_is_401(api):
    ada = api.admin()
    store = add_store(api, ada)
    scanner = add_scanner(api, ada, store["id"])
    for device_id in (scanner.device_id, str(uuid.uuid4())):
        response = api.post(
            "/v1/auth/device-token", {"device_id": device_id, "device_secret": "x" * 43}
        )
        problem(response, 401, "invalid_device_credentials")


def test_a_revoked_device_is_refused_at_once(api):
    ada = api.admin()
    store = add_store(api, ada)
    scanner = add_scanner(api, ada, store["id"])
    assert api.post("/v1/scans", {"code": "PNOPE"}, as_=scanner.token).status_code == 404

    revoked = api.delete(f"/v1/stores/{store['id']}/devices/{scanner.device_id}", as_=ada)
    assert revoked.status_code == 204
    # The token it already holds stops working with the next request...
    problem(api.post("/v1/scans", {"code": "PNOPE"}, as_=scanner.token), 401, "device_revoked")
    # ... and it cannot get a new one.
    response = api.post(
        "/v1/auth/device-token",
        {"device_id": scanner.device_id, "device_secret": scanner.secret},
    )
    problem(response, 401, "device_revoked")
    tags = [e["tag"] for e in api.get("/v1/audit-events", as_=ada).get_json()["items"]]
    assert tags == ["store:device:revoked", "store:device:created"]


def test_revoking_a_device_of_another_store_is_404(api):
    ada = api.admin()
    store_a, store_b = add_store(api, ada, "A"), add_store(api, ada, "B")
    scanner = add_scanner(api, ada, store_a["id"])
    response = api.delete(f"/v1/stores/{store_b['id']}/devices/{scanner.device_id}", as_=ada)
    problem(response, 404, "device_not_found")


def test_device_token_is_rate_limited(api):
    from wallet_api.extensions import limiter

    limiter.enabled = True
    body = {"device_id": str(uuid.uuid4()), "device_secret": "guess"}
    codes = [api.post("/v1/auth/device-token", body).status_code for _ in range(11)]
    assert codes == [401] * 10 + [429]


def test_a_device_cannot_manage_stores(api):
    ada = api.admin()
    store = add_store(api, ada)
    scanner = add_scanner(api, ada, store["id"])
    problem(
        api.post(f"/v1/stores/{store['id']}/devices", {"name": "x"}, as_=scanner.token),
        403,
        "forbidden",
    )
    problem(api.get("/v1/me", as_=scanner.token), 403, "forbidden")


def test_seed_demo_refuses_to_run_in_production(app):
    # The demo admin's password and the scanner's secret are published: in production they
    # would open the service to anyone. Nothing may be written, not even the menu.
    done = wallet_cli({**os.environ, "WALLET_ENV": "production"}, "seed-demo")
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "WALLET_ENV=production" in output
    assert "coffee-please" not in output
    with app.app_context():
        from wallet_api.extensions import db

        counts = {
            table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
            for table in db.metadata.sorted_tables
            if table.name != "alembic_version"
        }
    assert set(counts.values()) == {0}, {name: n for name, n in counts.items() if n}


def test_seed_demo_prints_a_working_scanner_login(api, app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    again = app.test_cli_runner().invoke(args=["seed-demo"])
    assert again.output == result.output  # safe to run again: same store, same scanner
    line = next(li for li in result.output.splitlines() if "device_id" in li).split()
    device_id, secret = line[1], line[4]
    token = api.post("/v1/auth/device-token", {"device_id": device_id, "device_secret": secret})
    assert token.status_code == 200, token.get_json()
    store = api.get(f"/v1/stores/{token.get_json()['store_id']}").get_json()
    assert (store["name"], store["timezone"]) == ("Bean Wallet Amsterdam", "Europe/Amsterdam")
    barista = api.post(
        "/v1/auth/login", {"email": "barista@demo.beanwallet.test", "password": "coffee-please"}
    ).get_json()["access_token"]
    report = api.get(f"/v1/stores/{store['id']}/reports/daily", as_=barista)
    assert report.status_code == 200, report.get_json()
