"""Pay codes, their QR images, and offline codes made on a phone without signal."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
import uuid
from datetime import UTC, datetime, timedelta
from io import BytesIO
from xml.etree import ElementTree

import pytest
import zxingcpp
from PIL import Image

from tests.support.api import ApiClient, problem
from tests.support.stores import charge, counter_scene, pay_code
from tests.support.wallet import run_threads

PAY_CODE = re.compile(r"^P[A-Z2-7]{24}$")
NOON = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)


def test_a_pay_code_is_random_alphanumeric_and_lives_60_seconds(api):
    from wallet_api.clock import clock

    clock.freeze(NOON)
    anna = api.register("Anna")
    first, second = pay_code(api, anna), pay_code(api, anna)
    assert PAY_CODE.match(first["code"]), first["code"]
    assert first["code"] != second["code"]
    assert first["status"] == "live"
    assert datetime.fromisoformat(first["expires_at"]) == NOON + timedelta(seconds=60)
    assert datetime.fromisoformat(first["created_at"]) == NOON


def test_only_a_hash_of_the_code_is_stored(api, app):
    anna = api.register("Anna")
    code = pay_code(api, anna)["code"]
    with app.app_context():
        from sqlalchemy import select

        from wallet_api.extensions import db
        from wallet_api.paycodes.models import PayCode

        stored = db.session.scalars(select(PayCode)).one()
    assert stored.code_hash == hashlib.sha256(code.encode()).hexdigest()
    assert code not in {str(getattr(stored, c)) for c in ("id", "code_hash", "user_id")}


def test_the_owner_reads_a_code_and_a_stranger_gets_404(api):
    anna, ben = api.register("Anna"), api.register("Ben")
    code = pay_code(api, anna)
    mine = api.get(f"/v1/wallet/pay-codes/{code['id']}", as_=anna)
    assert mine.status_code == 200
    assert mine.get_json()["code"] == code["code"]
    problem(api.get(f"/v1/wallet/pay-codes/{code['id']}", as_=ben), 404, "pay_code_not_found")
    problem(api.get(f"/v1/wallet/pay-codes/{uuid.uuid4()}", as_=anna), 404, "pay_code_not_found")


def test_the_png_qr_decodes_to_the_code(api):
    anna = api.register("Anna")
    code = pay_code(api, anna)
    response = api.get(f"/v1/wallet/pay-codes/{code['id']}/qr", as_=anna)
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.headers["Cache-Control"] == "no-store"
    image = Image.open(BytesIO(response.data))
    results = zxingcpp.read_barcodes(image)
    assert [r.text for r in results] == [code["code"]]
    assert results[0].format == zxingcpp.BarcodeFormat.QRCode


def test_the_svg_qr_is_xml(api):
    anna = api.register("Anna")
    code = pay_code(api, anna)
    response = api.get(f"/v1/wallet/pay-codes/{code['id']}/qr?format=svg", as_=anna)
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    root = ElementTree.fromstring(response.data)  # noqa: S314  (our own output, not untrusted)
    assert root.tag.endswith("svg")
    assert root.findall(".//{http://www.w3.org/2000/svg}path")


def test_a_stranger_cannot_get_the_qr(api):
    anna, ben = api.register("Anna"), api.register("Ben")
    code = pay_code(api, anna)
    problem(api.get(f"/v1/wallet/pay-codes/{code['id']}/qr", as_=ben), 404, "pay_code_not_found")


def test_qr_of_an_expired_or_used_code_is_refused(api):
    from wallet_api.clock import clock

    clock.freeze(NOON)
    scene = counter_scene(api)
    used = pay_code(api, scene.anna)
    assert charge(api, scene.scanner, used["code"], amount=100).status_code == 201
    problem(
        api.get(f"/v1/wallet/pay-codes/{used['id']}/qr", as_=scene.anna), 409, "code_already_used"
    )
    stale = pay_code(api, scene.anna)
    clock.advance(timedelta(seconds=61))
    problem(api.get(f"/v1/wallet/pay-codes/{stale['id']}/qr", as_=scene.anna), 410, "code_expired")
    assert api.get(f"/v1/wallet/pay-codes/{stale['id']}", as_=scene.anna).get_json()["status"] == (
        "expired"
    )


def test_unknown_qr_format_is_422(api):
    anna = api.register("Anna")
    code = pay_code(api, anna)
    response = api.get(f"/v1/wallet/pay-codes/{code['id']}/qr?format=gif", as_=anna)
    assert "format" in problem(response, 422, "validation_error")["errors"]


def test_a_new_code_beyond_the_live_limit_retires_the_oldest(api, app):
    from wallet_api.clock import clock

    clock.freeze(NOON)
    scene = counter_scene(api)
    limit = app.config["WALLET_MAX_LIVE_PAY_CODES"]
    codes = []
    for _ in range(limit + 1):
        codes.append(pay_code(api, scene.anna))
        clock.advance(timedelta(seconds=1))
    statuses = [
        api.get(f"/v1/wallet/pay-codes/{c['id']}", as_=scene.anna).get_json()["status"]
        for c in codes
    ]
    assert statuses == ["expired"] + ["live"] * limit
    problem(
        api.post("/v1/scans", {"code": codes[0]["code"]}, as_=scene.scanner.token),
        410,
        "code_expired",
    )
    assert charge(api, scene.scanner, codes[1]["code"], amount=100).status_code == 201


def _codes_at_once(app, person, count: int) -> list[dict]:
    """``count`` requests for a pay code, each in its own thread, client and transaction."""

    def ask(_: int) -> dict:
        response = ApiClient(app.test_client()).post("/v1/wallet/pay-codes", as_=person)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return run_threads(count, ask)


def _live_codes_race(api, app, count: int) -> None:
    """However many codes are asked for at once, only the cap's number can pay."""
    scene = counter_scene(api, funds=100 * count)
    limit = app.config["WALLET_MAX_LIVE_PAY_CODES"]
    codes = _codes_at_once(app, scene.anna, count)
    live = {
        c["id"]
        for c in codes
        if api.get(f"/v1/wallet/pay-codes/{c['id']}", as_=scene.anna).get_json()["status"] == "live"
    }
    assert len(live) == limit
    paid = {
        c["id"]
        for c in codes
        if charge(api, scene.scanner, c["code"], amount=100).status_code == 201
    }
    assert paid == live


@pytest.mark.postgres_only
def test_thirty_pay_codes_at_once_leave_only_the_cap_live(api, app):
    _live_codes_race(api, app, 30)


def test_pay_codes_at_once_on_sqlite_leave_only_the_cap_live(api, app):
    _live_codes_race(api, app, 6)


def test_no_pay_code_for_a_closed_wallet(api, app):
    anna = api.register("Anna")
    with app.app_context():
        from wallet_api.extensions import db
        from wallet_api.ledger import service as ledger

        ledger.close_account(ledger.wallet_account(uuid.UUID(anna.id)))
        db.session.commit()
    problem(api.post("/v1/wallet/pay-codes", as_=anna), 409, "account_closed")


def test_pay_codes_need_a_signed_in_customer(api):
    problem(api.post("/v1/wallet/pay-codes"), 401, "token_missing")


# --- offline codes --------------------------------------------------------------------------
# An app developer's implementation of the derivation in docs/api-guide.md, with nothing but the
# standard library, so the test checks the documentation as much as the server.


def readme_offline_code(secret_b32: str, key_id: str, unix_time: int) -> str:
    secret = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = unix_time // 30
    mac = hmac.new(secret, struct.pack(">Q", counter), hashlib.sha256).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"O{key_id}{number % 10**8:08d}"


def test_the_readme_derivation_matches_rfc_6238_sha256_vectors():
    # RFC 6238 appendix B, SHA-256 rows: the 32-byte ASCII secret "1234...9012".
    secret = base64.b32encode(b"12345678901234567890123456789012").decode().rstrip("=")
    assert secret == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA"
    assert readme_offline_code(secret, "ABCDEFGH", 59) == "OABCDEFGH46119246"
    assert readme_offline_code(secret, "ABCDEFGH", 1111111109) == "OABCDEFGH68084774"
    assert readme_offline_code(secret, "ABCDEFGH", 20000000000) == "OABCDEFGH77737706"


def test_the_server_derivation_matches_the_readme():
    from wallet_api.paycodes.service import offline_code

    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA"
    at = datetime.fromtimestamp(1111111109, UTC)
    assert offline_code(secret, "ABCDEFGH", at) == "OABCDEFGH68084774"


def _register_phone(api, person, name="Anna's phone"):
    response = api.post("/v1/wallet/offline-keys", {"name": name}, as_=person)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_registering_a_phone_returns_its_secret_once(api):
    anna = api.register("Anna")
    key = _register_phone(api, anna)
    assert re.match(r"^[A-Z2-7]{8}$", key["key_id"])
    assert len(base64.b32decode(key["secret"] + "=" * (-len(key["secret"]) % 8))) == 32
    assert (key["algorithm"], key["digits"], key["period"]) == ("SHA256", 8, 30)
    assert key["code_prefix"] == "O" + key["key_id"]
    listed = api.get("/v1/wallet/offline-keys", as_=anna).get_json()
    assert [k["id"] for k in listed] == [key["id"]]
    assert "secret" not in listed[0]


def test_an_offline_code_pays_once_per_step(api):
    from wallet_api.clock import clock

    clock.freeze(NOON)
    scene = counter_scene(api)
    key = _register_phone(api, scene.anna)
    now = int(NOON.timestamp())
    code = readme_offline_code(key["secret"], key["key_id"], now)

    preview = api.post("/v1/scans", {"code": code, "amount": 300}, as_=scene.scanner.token)
    assert preview.status_code == 200, preview.get_json()
    assert preview.get_json()["customer"]["first_name"] == "Anna"
    paid = charge(api, scene.scanner, code, amount=300)
    assert paid.status_code == 201, paid.get_json()
    problem(charge(api, scene.scanner, code, amount=300), 409, "code_already_used")
    # A step already passed is refused too: steps are accepted in order.
    earlier = readme_offline_code(key["secret"], key["key_id"], now - 30)
    problem(charge(api, scene.scanner, earlier, amount=300), 409, "code_already_used")
    # The next step is a new code.
    clock.advance(timedelta(seconds=30))
    later = readme_offline_code(key["secret"], key["key_id"], now + 30)
    assert charge(api, scene.scanner, later, amount=300).status_code == 201


@pytest.mark.parametrize(("phone_offset", "accepted"), [(-30, True), (30, True), (-90, False)])
def test_offline_codes_allow_one_step_of_clock_drift(api, phone_offset, accepted):
    from wallet_api.clock import clock

    clock.freeze(NOON)
    scene = counter_scene(api)
    key = _register_phone(api, scene.anna)
    code = readme_offline_code(key["secret"], key["key_id"], int(NOON.timestamp()) + phone_offset)
    response = charge(api, scene.scanner, code, amount=100)
    if accepted:
        assert response.status_code == 201, response.get_json()
    else:
        problem(response, 410, "code_expired")


def test_wrong_or_revoked_offline_codes_are_unknown(api):
    from wallet_api.clock import clock

    clock.freeze(NOON)
    scene = counter_scene(api)
    key = _register_phone(api, scene.anna)
    code = readme_offline_code(key["secret"], key["key_id"], int(NOON.timestamp()))
    wrong = code[:-8] + f"{(int(code[-8:]) + 1) % 10**8:08d}"
    problem(charge(api, scene.scanner, wrong, amount=100), 404, "code_unknown")
    problem(charge(api, scene.scanner, "O" + "A" * 8 + "1" * 8, amount=100), 404, "code_unknown")
    problem(charge(api, scene.scanner, code[:-1], amount=100), 404, "code_unknown")

    assert api.delete(f"/v1/wallet/offline-keys/{key['id']}", as_=scene.anna).status_code == 204
    problem(charge(api, scene.scanner, code, amount=100), 404, "code_unknown")
    assert api.get("/v1/wallet/offline-keys", as_=scene.anna).get_json() == []


def test_a_stranger_cannot_revoke_my_offline_key(api):
    anna, ben = api.register("Anna"), api.register("Ben")
    key = _register_phone(api, anna)
    problem(
        api.delete(f"/v1/wallet/offline-keys/{key['id']}", as_=ben), 404, "offline_key_not_found"
    )
    assert len(api.get("/v1/wallet/offline-keys", as_=anna).get_json()) == 1


def _offline_keys_race(api, app, count: int) -> None:
    from wallet_api.paycodes.service import MAX_OFFLINE_KEYS

    anna = api.register("Anna")

    def register(n: int) -> int:
        client = ApiClient(app.test_client())
        response = client.post("/v1/wallet/offline-keys", {"name": f"phone {n}"}, as_=anna)
        assert response.status_code in (201, 409), response.get_json()
        return response.status_code

    statuses = run_threads(count, register)
    assert statuses.count(201) == MAX_OFFLINE_KEYS
    assert len(api.get("/v1/wallet/offline-keys", as_=anna).get_json()) == MAX_OFFLINE_KEYS


@pytest.mark.postgres_only
def test_twenty_five_phones_at_once_register_only_the_cap(api, app):
    _offline_keys_race(api, app, 25)


def test_phones_at_once_on_sqlite_register_only_the_cap(api, app):
    _offline_keys_race(api, app, 13)


def test_offline_keys_per_customer_are_limited(api):
    from wallet_api.paycodes.service import MAX_OFFLINE_KEYS

    anna = api.register("Anna")
    for n in range(MAX_OFFLINE_KEYS):
        _register_phone(api, anna, f"phone {n}")
    response = api.post("/v1/wallet/offline-keys", {"name": "one more"}, as_=anna)
    problem(response, 409, "too_many_offline_keys")
