"""Accounts and sign-in, as the mobile app uses them."""

from __future__ import annotations

import logging
import secrets
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from limits import parse_many

from tests.conftest import TEST_SECRET
from tests.support.api import PASSWORD, problem
from tests.support.authz import cheap_password_hashing
from wallet_api.extensions.problems import TokenExpired


def test_register_login_profile_story(api):
    anna = api.register("Anna", handle="Anna_B", phone="+31612345678")
    me = api.get("/v1/me", as_=anna)
    assert me.status_code == 200
    body = me.get_json()
    assert body["first_name"] == "Anna"
    assert body["handle"] == "anna_b"  # stored lower-case: unique regardless of case
    assert body["role"] == "customer"
    assert "password" not in body
    assert "password_hash" not in body

    login = api.post("/v1/auth/login", {"email": "ANNA_B@example.com", "password": PASSWORD})
    assert login.status_code == 200
    tokens = login.get_json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 15 * 60

    changed = api.patch("/v1/me", {"display_name": "Anna B.", "locale": "nl"}, as_=anna)
    assert changed.status_code == 200
    assert changed.get_json()["display_name"] == "Anna B."
    assert changed.get_json()["locale"] == "nl"


def test_wrong_password_is_401_and_unknown_email_looks_the_same(api):
    api.register("Anna", handle="anna")
    wrong = api.post("/v1/auth/login", {"email": "anna@example.com", "password": "nope-nope-nope"})
    unknown = api.post("/v1/auth/login", {"email": "nobody@example.com", "password": PASSWORD})
    assert (
        problem(wrong, 401, "invalid_credentials")["detail"]
        == problem(unknown, 401, "invalid_credentials")["detail"]
    )


@pytest.mark.parametrize(
    ("field", "first", "second", "code"),
    [
        ("email", "dup@example.com", "DUP@Example.com", "email_taken"),
        ("handle", "coffee_fan", "Coffee_Fan", "handle_taken"),
        ("phone", "+31611111111", "+31611111111", "phone_taken"),
    ],
)
def test_duplicates_are_409_case_insensitively(api, field, first, second, code):
    api.register("Anna", **{field: first})
    response = api.post(
        "/v1/auth/register",
        {
            "email": "other@example.com",
            "password": PASSWORD,
            "first_name": "Ben",
            "handle": "ben_other",
            field: second,
        },
    )
    problem(response, 409, code)


def test_malformed_json_is_400(client):
    response = client.post(
        "/v1/auth/login", data="{not json", headers={"Content-Type": "application/json"}
    )
    problem(response, 400, "malformed_json")


def test_missing_and_invalid_fields_are_422_by_field(api):
    response = api.post("/v1/auth/register", {"email": "not-an-email", "handle": "x"})
    body = problem(response, 422, "validation_error")
    assert set(body["errors"]) >= {"email", "password", "first_name", "handle"}


def test_unknown_field_is_rejected(api):
    response = api.post(
        "/v1/auth/login", {"email": "a@example.com", "password": "x", "role": "admin"}
    )
    assert "role" in problem(response, 422, "validation_error")["errors"]


def test_register_cannot_choose_a_role(api):
    response = api.post(
        "/v1/auth/register",
        {
            "email": "eve@example.com",
            "password": PASSWORD,
            "first_name": "Eve",
            "handle": "eve",
            "role": "admin",
        },
    )
    problem(response, 422, "validation_error")


def test_refresh_rotates_and_reuse_revokes_the_family(api):
    anna = api.register("Anna")
    first = api.post("/v1/auth/refresh", {"refresh_token": anna.refresh_token})
    assert first.status_code == 200
    rotated = first.get_json()["refresh_token"]
    assert rotated != anna.refresh_token

    # The old token is dead; presenting it again is treated as theft.
    reuse = api.post("/v1/auth/refresh", {"refresh_token": anna.refresh_token})
    problem(reuse, 401, "refresh_token_reused")
    # ... which revoked the whole family, including the token the thief may hold.
    after = api.post("/v1/auth/refresh", {"refresh_token": rotated})
    problem(after, 401, "refresh_token_invalid")


def test_logout_revokes_the_family(api):
    anna = api.register("Anna")
    out = api.post("/v1/auth/logout", {"refresh_token": anna.refresh_token}, as_=anna)
    assert out.status_code == 204
    problem(
        api.post("/v1/auth/refresh", {"refresh_token": anna.refresh_token}),
        401,
        "refresh_token_invalid",
    )


def _sign_in(api, person):
    response = api.post("/v1/auth/login", {"email": person.email, "password": PASSWORD})
    assert response.status_code == 200
    return response.get_json()


def test_logout_ends_the_logins_access_token_at_once(api):
    anna = api.register("Anna")
    other_phone = _sign_in(api, anna)
    assert api.get("/v1/me", as_=anna).status_code == 200
    out = api.post("/v1/auth/logout", {"refresh_token": anna.refresh_token}, as_=anna)
    assert out.status_code == 204
    # Minutes before it would expire, the signed-out login's access token answers nothing,
    problem(api.get("/v1/me", as_=anna), 401, "token_revoked")
    problem(api.get("/v1/wallet", as_=anna), 401, "token_revoked")
    # while her other login (another family) goes on.
    assert api.get("/v1/me", as_=other_phone["access_token"]).status_code == 200


def test_logout_without_a_refresh_token_ends_every_login(api):
    anna, ben = api.register("Anna"), api.register("Ben")
    other_phone = _sign_in(api, anna)
    assert api.post("/v1/auth/logout", as_=anna).status_code == 204
    problem(api.get("/v1/me", as_=anna), 401, "token_revoked")
    problem(api.get("/v1/me", as_=other_phone["access_token"]), 401, "token_revoked")
    assert api.get("/v1/me", as_=ben).status_code == 200


def test_a_reused_refresh_token_ends_its_familys_access_tokens(api):
    anna = api.register("Anna")
    other_phone = _sign_in(api, anna)
    rotated = api.post("/v1/auth/refresh", {"refresh_token": anna.refresh_token}).get_json()
    assert api.get("/v1/me", as_=rotated["access_token"]).status_code == 200
    reuse = api.post("/v1/auth/refresh", {"refresh_token": anna.refresh_token})
    problem(reuse, 401, "refresh_token_reused")
    # The thief's access token and the rightful one of that login both stop at once ...
    problem(api.get("/v1/me", as_=anna), 401, "token_revoked")
    problem(api.get("/v1/me", as_=rotated["access_token"]), 401, "token_revoked")
    # ... and her login on another phone does not.
    assert api.get("/v1/me", as_=other_phone["access_token"]).status_code == 200


def test_the_sign_out_check_rides_on_the_statement_that_loads_the_person(api, app):
    # Every request of a person loads them; whether their login is live is asked in that
    # same statement, so the check adds no round trip. GET /v1/me needs nothing else.
    from sqlalchemy import event

    from wallet_api.extensions import db

    anna = api.register("Anna")
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if not statement.lstrip().upper().startswith(("BEGIN", "PRAGMA")):
            sent.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert api.get("/v1/me", as_=anna).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(sent) == 1, sent
    assert "FROM users" in sent[0]
    assert "refresh_tokens" in sent[0]


def test_an_access_token_names_a_login_of_its_own_person(api, app):
    # Even signed with the key, a token naming another person's login is refused.
    anna, ben = api.register("Anna"), api.register("Ben")
    bens_login = jwt.decode(ben.access_token, options={"verify_signature": False})["sid"]
    token = jwt.encode(_claims(anna, sid=bens_login), TEST_SECRET, headers={"kid": _kid(app)})
    problem(api.get("/v1/me", as_=token), 401, "token_revoked")


def test_a_token_from_before_logins_were_named_is_refreshed_like_an_expired_one(api, app):
    # Tokens issued before access tokens named their login carry no ``sid``: refused like
    # an expired one (they expire within WALLET_ACCESS_TOKEN_TTL anyway), and the app's
    # refresh token, still good, gets a pair that works.
    anna = api.register("Anna")
    old = jwt.encode(_claims(anna, sid=None), TEST_SECRET, headers={"kid": _kid(app)})
    problem(api.get("/v1/me", as_=old), 401, "token_expired")
    fresh = api.post("/v1/auth/refresh", {"refresh_token": anna.refresh_token}).get_json()
    assert api.get("/v1/me", as_=fresh["access_token"]).status_code == 200


def test_logout_cannot_revoke_someone_elses_family(api):
    anna, ben = api.register("Anna"), api.register("Ben")
    response = api.post("/v1/auth/logout", {"refresh_token": ben.refresh_token}, as_=anna)
    problem(response, 401, "refresh_token_invalid")
    assert api.post("/v1/auth/refresh", {"refresh_token": ben.refresh_token}).status_code == 200


def test_unknown_refresh_token_is_401(api):
    problem(api.post("/v1/auth/refresh", {"refresh_token": "x" * 43}), 401, "refresh_token_invalid")


def _claims(person, **overrides):
    """Claims of a token of ``person``'s login (as their genuine token names it)."""
    now = int(time.time())
    genuine = jwt.decode(person.access_token, options={"verify_signature": False})
    claims = {
        "sub": person.id,
        "sid": genuine["sid"],
        "role": "admin",
        "typ": "access",
        "iss": "bean-wallet",
        "aud": "bean-wallet-api",
        "iat": now,
        "exp": now + 600,
        "jti": "x",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _kid(app):
    return app.config["WALLET_JWT_CURRENT_KID"]


def test_missing_token_is_401(api):
    problem(api.get("/v1/me"), 401, "token_missing")


@pytest.mark.parametrize(
    "overrides",
    [
        {"aud": "someone-else"},
        {"iss": "evil"},
        {"typ": "refresh"},
        {"jti": None},
        {"sub": "not-a-uuid"},
        {"sid": "not-a-uuid"},
        {"sid": 12345},
    ],
)
def test_tokens_with_wrong_claims_are_401(api, app, overrides):
    anna = api.register("Anna")
    token = jwt.encode(
        _claims(anna, **overrides), TEST_SECRET, algorithm="HS256", headers={"kid": _kid(app)}
    )
    problem(api.get("/v1/me", as_=token), 401, "token_invalid")


def test_expired_token_is_401_token_expired(api, app):
    anna = api.register("Anna")
    past = int(time.time()) - 3600
    token = jwt.encode(
        _claims(anna, iat=past - 60, exp=past), TEST_SECRET, headers={"kid": _kid(app)}
    )
    problem(api.get("/v1/me", as_=token), 401, "token_expired")


def test_token_signed_with_another_key_is_401(api, app):
    anna = api.register("Anna")
    token = jwt.encode(
        _claims(anna), "another-key-of-sufficient-length-000000", headers={"kid": _kid(app)}
    )
    problem(api.get("/v1/me", as_=token), 401, "token_invalid")


def test_alg_none_is_401(api, app):
    anna = api.register("Anna")
    token = jwt.encode(_claims(anna), None, algorithm="none", headers={"kid": _kid(app)})
    problem(api.get("/v1/me", as_=token), 401, "token_invalid")


def test_tampered_token_is_401(api):
    anna = api.register("Anna")
    header, payload, signature = anna.access_token.split(".")
    tampered = f"{header}.{payload[:-2]}xx.{signature}"
    problem(api.get("/v1/me", as_=tampered), 401, "token_invalid")


def test_role_comes_from_the_database_not_the_token(api, app):
    # A customer who forges role=admin into a correctly signed token still is no admin:
    # the role is read from the database on every request.
    anna = api.register("Anna")
    token = jwt.encode(_claims(anna, role="admin"), TEST_SECRET, headers={"kid": _kid(app)})
    problem(api.get("/v1/ledger/verify", as_=token), 403, "forbidden")


def test_customer_calling_an_admin_endpoint_is_403(api):
    anna = api.register("Anna")
    problem(api.get("/v1/ledger/verify", as_=anna), 403, "forbidden")


def test_admin_endpoint_works_for_admin(api):
    ada = api.admin()
    response = api.get("/v1/ledger/verify", as_=ada)
    assert response.status_code == 200
    assert response.get_json()["ok"] is True


def test_handle_change_to_a_taken_handle_is_409(api):
    anna = api.register("Anna")
    ben = api.register("Ben")
    problem(api.patch("/v1/me", {"handle": ben.handle.upper()}, as_=anna), 409, "handle_taken")


def test_login_is_rate_limited(api):
    from wallet_api.extensions import limiter

    limiter.enabled = True
    # Other accounts each time: the client's own limit, not one account's.
    bodies = [{"email": f"nobody{n}@example.com", "password": "wrong"} for n in range(13)]
    codes = [api.post("/v1/auth/login", body).status_code for body in bodies[:12]]
    assert codes[:10] == [401] * 10
    assert codes[10:] == [429, 429]
    problem(api.post("/v1/auth/login", bodies[12]), 429, "rate_limited")


def test_a_login_without_an_email_is_a_422_and_logs_no_error(api, caplog):
    from wallet_api.extensions import limiter

    limiter.enabled = True
    with caplog.at_level(logging.WARNING):
        problem(api.post("/v1/auth/login", {"password": "wrong"}), 422, "validation_error")
    # The per-account limits have no account to count against: exempt, not an error.
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def _login_from(api, email: str, password: str, address: str):
    body = {"email": email, "password": password}
    return api.post("/v1/auth/login", body, environ_base={"REMOTE_ADDR": address})


def test_one_client_guessing_one_account_is_throttled_before_its_own_limit(api):
    from wallet_api.auth.routes import ACCOUNT_CLIENT_LOGIN_LIMIT, LOGIN_LIMIT
    from wallet_api.extensions import limiter

    anna, ben = api.register("Anna"), api.register("Ben")
    limiter.enabled = True
    tight = min(item.amount for item in parse_many(ACCOUNT_CLIENT_LOGIN_LIMIT))
    assert tight < min(item.amount for item in parse_many(LOGIN_LIMIT))
    codes = [_login_from(api, anna.email, "wrong", "10.0.0.1").status_code for _ in range(tight)]
    assert codes == [401] * tight
    problem(_login_from(api, anna.email, PASSWORD, "10.0.0.1"), 429, "rate_limited")
    # The same client may still sign in to another account, and the owner elsewhere.
    assert _login_from(api, ben.email, PASSWORD, "10.0.0.1").status_code == 200
    assert _login_from(api, anna.email, PASSWORD, "10.0.0.2").status_code == 200


def test_a_stranger_cannot_lock_the_owner_out(api, monkeypatch):
    from wallet_api.auth.routes import ACCOUNT_LOGIN_LIMIT
    from wallet_api.extensions import limiter

    cheap_password_hashing(monkeypatch)
    anna = api.register("Anna")
    limiter.enabled = True

    def guess(address: str):  # type: ignore[no-untyped-def]
        return _login_from(api, anna.email, secrets.token_urlsafe(12), address)

    # A stranger on a few addresses guesses six times from each ...
    by_address = [[guess(f"203.0.113.{n}").status_code for _ in range(6)] for n in range(6)]
    # ... and the owner on her own phone signs in all the same,
    assert _login_from(api, anna.email, PASSWORD, "198.51.100.7").status_code == 200
    # though the stranger was refused 30 times (more than the old 20 an hour that locked
    # her out) and each address was soon throttled.
    assert by_address == [[401] * 5 + [429]] * 6
    refused = 30

    # Guessing from many addresses still meets the account's own limit: past it every
    # address is refused, the right password too (the price, paid only at 100 an hour).
    loose = min(item.amount for item in parse_many(ACCOUNT_LOGIN_LIMIT))
    for n in range(loose - refused):
        assert guess(f"10.1.{n // 256}.{n % 256}").status_code == 401
    problem(guess("10.2.0.1"), 429, "rate_limited")
    problem(_login_from(api, anna.email, PASSWORD, "198.51.100.7"), 429, "rate_limited")


def test_a_rate_limited_charge_verifies_its_token_once(api, monkeypatch):
    # The code-failure limit keys on the token (before the view runs) and the view
    # authenticates it: one signature check serves both.
    from tests.support.stores import charge, counter_scene, pay_code
    from wallet_api.extensions import limiter

    scene = counter_scene(api, funds=1000)
    code = pay_code(api, scene.anna)["code"]
    limiter.enabled = True
    verified = []
    real_decode = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda *a, **kw: verified.append(1) or real_decode(*a, **kw))
    assert charge(api, scene.scanner, code, amount=100).status_code == 201
    assert len(verified) == 1


def test_a_worker_checks_a_tokens_signature_once_and_still_refuses_a_forgery(api, monkeypatch):
    # A good signature is remembered across requests (the scanner's token comes with every
    # charge); a token that differs in any character is checked afresh, and refused.
    anna = api.register("Anna")
    verified = []
    real_decode = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda *a, **kw: verified.append(1) or real_decode(*a, **kw))
    for _ in range(3):
        assert api.get("/v1/me", as_=anna).status_code == 200
    assert len(verified) == 1
    head, payload, signature = anna.access_token.split(".")
    forged = f"{head}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    problem(api.get("/v1/me", as_=forged), 401, "token_invalid")
    assert len(verified) == 2


def test_a_token_verified_earlier_in_the_same_context_still_meets_the_clock(api, app):
    # Only the signature check is remembered (per request and per worker); expiry is read
    # each time.
    from wallet_api.clock import clock
    from wallet_api.extensions.auth import decode_token

    anna = api.register("Anna")
    with app.app_context():
        assert decode_token(anna.access_token)["sub"] == anna.id
        clock.freeze(datetime.now(UTC) + timedelta(hours=1))
        with pytest.raises(TokenExpired):
            decode_token(anna.access_token)
