"""Forged, replayed and misused tokens, against a customer, an admin and a device route.

Each attack starts from a genuine token of the route's rightful principal and changes one
thing, so the refusal is caused by that one thing; the same genuine token is accepted first.
Forgeries that need the signing key use the test key: they show that the claim checks hold
even when the signature is right.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from flask import Flask

from tests.conftest import TEST_SECRET
from tests.support.api import PASSWORD, ApiClient, problem
from tests.support.authz import Scene, b64url, cheap_password_hashing, segment

ANOTHER_KEY = "an-attackers-own-key-that-is-long-enough-0123456789"
HOUR = 3600


@pytest.fixture(autouse=True)
def _cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap_password_hashing(monkeypatch)


@dataclass(frozen=True)
class Target:
    name: str
    method: str
    path: str
    token: Callable[[Scene], str]  # a genuine token of the rightful principal
    body: Callable[[Scene], Any] | None = None
    ok: int = 200

    def ask(self, api: ApiClient, scene: Scene, token: str | None):  # type: ignore[no-untyped-def]
        body = self.body(scene) if self.body else None
        return api.request(self.method, self.path, body, as_=token)


TARGETS = (
    Target("customer", "GET", "/v1/me", lambda s: s.owner.access_token),
    Target("admin", "GET", "/v1/ledger/verify", lambda s: s.admin.access_token),
    Target(
        "device",
        "POST",
        "/v1/scans",
        lambda s: s.scanner.token,
        body=lambda s: {"code": s.pay_code["code"]},
    ),
)


@dataclass
class Context:
    """What an attacker works from: a genuine token of the target, and the app's key id."""

    app: Flask
    scene: Scene
    target: Target
    genuine: str

    @property
    def claims(self) -> dict[str, Any]:
        return jwt.decode(self.genuine, options={"verify_signature": False})

    @property
    def kid(self) -> str:
        return self.app.config["WALLET_JWT_CURRENT_KID"]

    def forge(self, key: Any = TEST_SECRET, algorithm: str = "HS256", **changes: Any) -> str:
        """The genuine claims with ``changes`` (None removes a claim), signed with ``key``."""
        claims = {**self.claims, **changes}
        claims = {name: value for name, value in claims.items() if value is not None}
        return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": self.kid})

    def shifted(self, seconds: int) -> dict[str, int]:
        claims = self.claims
        return {name: claims[name] + seconds for name in ("iat", "nbf", "exp")}


def _alg_none(c: Context) -> str:
    # Built by hand: an unsigned token with the genuine claims and the right key id.
    return f"{segment({'alg': 'none', 'typ': 'JWT', 'kid': c.kid})}.{segment(c.claims)}."


def _asymmetric(algorithm: str, signature_bytes: int) -> Callable[[Context], str]:
    """Claims an algorithm with keys the attacker holds; the server must not follow it.

    The signature is random bytes of the right length: a service that honoured the header
    would look for a public key it does not have, and one that pins HS256 never gets that far.
    """

    def make(c: Context) -> str:
        header = segment({"alg": algorithm, "typ": "JWT", "kid": c.kid})
        return f"{header}.{segment(c.claims)}.{b64url(secrets.token_bytes(signature_bytes))}"

    return make


def _hs256_header_says_rs256(c: Context) -> str:
    # Key confusion: signed with the server's own HMAC secret, but the header claims RS256,
    # hoping the verifier picks its algorithm from the header.
    _header, payload, signature = c.genuine.split(".")
    header = segment({"alg": "RS256", "typ": "JWT", "kid": c.kid})
    return f"{header}.{payload}.{signature}"


def _tampered(c: Context) -> str:
    # The genuine header and signature around a payload that names someone else.
    header, _payload, signature = c.genuine.split(".")
    return f"{header}.{segment({**c.claims, 'sub': str(uuid.uuid4())})}.{signature}"


def _hs512(c: Context) -> str:
    # By hand: PyJWT refuses to sign HS512 with a key shorter than 64 bytes.
    signing_input = f"{segment({'alg': 'HS512', 'typ': 'JWT', 'kid': c.kid})}.{segment(c.claims)}"
    mac = hmac.new(TEST_SECRET.encode(), signing_input.encode(), hashlib.sha512).digest()
    return f"{signing_input}.{b64url(mac)}"


def _expired(c: Context) -> str:
    claims = c.claims
    return c.forge(**c.shifted(-(claims["exp"] - claims["iat"]) - HOUR))


def _no_kid(c: Context) -> str:
    return jwt.encode(c.claims, TEST_SECRET, algorithm="HS256")


def _unknown_kid(c: Context) -> str:
    return jwt.encode(c.claims, TEST_SECRET, algorithm="HS256", headers={"kid": "retired"})


def _typ_swapped(c: Context) -> str:
    # A person's id presented as a device and the other way round: nobody by that id.
    return c.forge(typ="access" if c.claims["typ"] == "device" else "device")


def _wrong_kind_of_token(c: Context) -> str:
    """A genuine token of the other kind: a till's on a person's route and vice versa."""
    return c.scene.owner.access_token if c.target.name == "device" else c.scene.scanner.token


def _principal_gone(c: Context) -> str:
    """The token of a device that was revoked, or of a person who was deactivated."""
    if c.target.name == "device":
        scanner = c.scene.scanner
        path = f"/v1/stores/{scanner.store_id}/devices/{scanner.device_id}"
        assert c.scene.api.delete(path, as_=c.scene.admin).status_code == 204
    else:
        _deactivate(c.app, c.claims["sub"])
    return c.genuine


def _deactivate(app: Flask, user_id: str) -> None:
    # There is no endpoint for it yet: an operator would do this in the database.
    from wallet_api.auth.models import User
    from wallet_api.extensions import db

    with app.app_context():
        db.session.get(User, uuid.UUID(user_id)).is_active = False
        db.session.commit()


@dataclass(frozen=True)
class Attack:
    name: str
    make: Callable[[Context], str]
    code: str = "token_invalid"
    status: int = 401


ATTACKS = (
    Attack("alg none", _alg_none),
    Attack("HS256 with another key", lambda c: c.forge(ANOTHER_KEY)),
    Attack("HS512 with the right key", _hs512),
    Attack("RS256 with an attacker's key", _asymmetric("RS256", 256)),
    Attack("ES256 with an attacker's key", _asymmetric("ES256", 64)),
    Attack("header says RS256", _hs256_header_says_rs256),
    Attack("tampered payload", _tampered),
    Attack("wrong aud", lambda c: c.forge(aud="another-api")),
    Attack("no aud", lambda c: c.forge(aud=None)),
    Attack("wrong iss", lambda c: c.forge(iss="evil-issuer")),
    Attack("typ refresh", lambda c: c.forge(typ="refresh")),
    Attack("typ swapped", _typ_swapped),
    Attack("no typ", lambda c: c.forge(typ=None)),
    Attack("expired", _expired, code="token_expired"),
    Attack("not yet valid", lambda c: c.forge(**c.shifted(HOUR))),
    Attack("no kid", _no_kid),
    Attack("unknown kid", _unknown_kid),
    Attack("refresh token as bearer", lambda c: c.scene.owner.refresh_token),
    Attack("no signature", lambda c: c.genuine.rsplit(".", 1)[0] + "."),
    # Signed with the right key but with claims of the wrong type: refused, never a 500.
    Attack("sub not a string", lambda c: c.forge(sub=12345)),
    Attack("typ not a string", lambda c: c.forge(typ=["access", "device"])),
    Attack("nbf not a number", lambda c: c.forge(nbf="soon")),
    Attack("exp not a number", lambda c: c.forge(exp="never"), code="token_expired"),
    # A genuine token of a person on a till's route (or the reverse) is a known principal
    # without the right: 403, as for any other wrong kind of principal.
    Attack("wrong kind of token", _wrong_kind_of_token, code="forbidden", status=403),
)


def _principal_gone_code(target: Target) -> str:
    return "device_revoked" if target.name == "device" else "token_invalid"


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.name)
def test_forged_and_misused_tokens_are_refused(api, app, target: Target, attack: Attack) -> None:
    scene = Scene(api)
    genuine = target.token(scene)
    assert target.ask(api, scene, genuine).status_code == target.ok
    token = attack.make(Context(app, scene, target, genuine))
    problem(target.ask(api, scene, token), attack.status, attack.code)


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_tokens_of_revoked_devices_and_deactivated_people_are_refused(api, app, target) -> None:
    scene = Scene(api)
    genuine = target.token(scene)
    assert target.ask(api, scene, genuine).status_code == target.ok
    token = _principal_gone(Context(app, scene, target, genuine))
    problem(target.ask(api, scene, token), 401, _principal_gone_code(target))


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Basic Zm9vOmJhcg==", "bearer x.y"])
def test_malformed_authorization_headers_are_401(api, header: str) -> None:
    response = api.get("/v1/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.get_json()["code"] in ("token_missing", "token_invalid")


# --- refresh tokens ------------------------------------------------------------------------------


def _refresh(api: ApiClient, token: str):  # type: ignore[no-untyped-def]
    return api.post("/v1/auth/refresh", {"refresh_token": token})


@pytest.mark.parametrize("role", ["customer", "admin"])
def test_a_replayed_refresh_token_signs_out_its_family_only(api, role: str) -> None:
    victim = api.register("Vera") if role == "customer" else api.admin("Vera")
    login = api.post("/v1/auth/login", {"email": victim.email, "password": PASSWORD})
    other_device = login.get_json()["refresh_token"]  # a second login: its own family
    stolen = victim.refresh_token

    rotated = _refresh(api, stolen)
    assert rotated.status_code == 200
    # The thief replays the token the victim already used: refused, and the family dies.
    problem(_refresh(api, stolen), 401, "refresh_token_reused")
    problem(_refresh(api, rotated.get_json()["refresh_token"]), 401, "refresh_token_invalid")
    problem(_refresh(api, stolen), 401, "refresh_token_invalid")
    # The other login was never exposed and keeps working.
    assert _refresh(api, other_device).status_code == 200


# --- key rotation --------------------------------------------------------------------------------


def _kid_of(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def test_key_rotation_keeps_old_tokens_until_the_old_key_is_retired(
    api, app, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    from wallet_api.config import Settings

    old_key, new_key = "o" * 40, "n" * 40
    monkeypatch.setitem(app.config, "WALLET_JWT_KEYS", {"2025": old_key})
    monkeypatch.setitem(app.config, "WALLET_JWT_CURRENT_KID", "2025")
    scene = Scene(api)
    anna, scanner = scene.owner, scene.scanner
    assert _kid_of(anna.access_token) == _kid_of(scanner.token) == "2025"

    # Deploy with the new key first in WALLET_JWT_KEYS and the old one kept.
    monkeypatch.setenv("WALLET_JWT_KEYS", f"2026:{new_key},2025:{old_key}")
    rotated = Settings.from_env(tmp_path).to_flask()
    for name in ("WALLET_JWT_KEYS", "WALLET_JWT_CURRENT_KID"):
        monkeypatch.setitem(app.config, name, rotated[name])
    assert api.get("/v1/me", as_=anna).status_code == 200
    scan = {"code": scene.pay_code["code"]}
    assert api.post("/v1/scans", scan, as_=scanner.token).status_code == 200
    fresh = _refresh(api, anna.refresh_token).get_json()["access_token"]
    assert _kid_of(fresh) == "2026"
    assert api.get("/v1/me", as_=fresh).status_code == 200

    # Once every old token has expired the old key is dropped: its tokens stop working.
    monkeypatch.setitem(app.config, "WALLET_JWT_KEYS", {"2026": new_key})
    problem(api.get("/v1/me", as_=anna), 401, "token_invalid")
    assert api.get("/v1/me", as_=fresh).status_code == 200


def test_a_kid_naming_another_key_does_not_switch_the_key(api, app, monkeypatch) -> None:
    # Both keys are trusted, but each token verifies only under the key its kid names.
    monkeypatch.setitem(app.config, "WALLET_JWT_KEYS", {"a": "a" * 40, "b": "b" * 40})
    monkeypatch.setitem(app.config, "WALLET_JWT_CURRENT_KID", "a")
    anna = api.register("Anna")
    claims = jwt.decode(anna.access_token, options={"verify_signature": False})
    mislabelled = jwt.encode(claims, "a" * 40, algorithm="HS256", headers={"kid": "b"})
    problem(api.get("/v1/me", as_=mislabelled), 401, "token_invalid")
