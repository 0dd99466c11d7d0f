"""Bearer tokens: signing, verification and the principal of the current request.

Access tokens are short-lived HS256 JWTs. The algorithm is pinned (never taken from the
token), ``iss``/``aud``/``exp``/``iat``/``jti``/``typ`` are required, and the ``kid``
header selects one of the configured keys so keys can rotate without logging anyone out.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import jwt
from flask import current_app, g, request
from flask_limiter.util import get_remote_address

from wallet_api.clock import utcnow
from wallet_api.extensions.problems import (
    ApiError,
    Forbidden,
    TokenExpired,
    TokenInvalid,
    TokenMissing,
)

ALGORITHM = "HS256"
ACCESS = "access"
DEVICE = "device"


@dataclass(frozen=True)
class Principal:
    """Who is asking: a person (``user``) or a store scanner (``device``)."""

    kind: str
    id: uuid.UUID
    role: str | None = None
    store_id: uuid.UUID | None = None
    user: Any = None  # the User row, loaded once per request
    store: Any = None  # a device's store, read with the device (one statement, not two)

    @property
    def scope(self) -> str:
        """Namespace for per-principal records such as idempotency keys."""
        return f"{self.kind}:{self.id}"


# Loaders registered by the domains that own users and devices, so this module does not
# import them. Each returns the loaded object or None when it no longer exists/is revoked.
_loaders: dict[str, Callable[[Mapping[str, Any]], Principal | None]] = {}


def register_principal_loader(
    token_type: str, loader: Callable[[Mapping[str, Any]], Principal | None]
) -> None:
    _loaders[token_type] = loader


def encode_token(claims: dict[str, Any], token_type: str, ttl: int) -> str:
    config = current_app.config
    now = utcnow()
    payload = {
        **claims,
        "typ": token_type,
        "iss": config["WALLET_JWT_ISSUER"],
        "aud": config["WALLET_JWT_AUDIENCE"],
        "iat": now,
        "nbf": now - timedelta(seconds=5),
        "exp": now + timedelta(seconds=ttl),
        "jti": uuid.uuid4().hex,
    }
    kid = config["WALLET_JWT_CURRENT_KID"]
    return jwt.encode(
        payload, config["WALLET_JWT_KEYS"][kid], algorithm=ALGORITHM, headers={"kid": kid}
    )


def decode_token(token: str) -> Mapping[str, Any]:
    """The claims of a valid, current token; else TokenInvalid or TokenExpired."""
    claims = _signed_claims(token)
    now = utcnow().timestamp()
    if not isinstance(claims["exp"], int | float) or claims["exp"] <= now:
        raise TokenExpired()
    if claims.get("nbf", 0) > now:
        raise TokenInvalid("The token is not valid yet.")
    return claims


def _signed_claims(token: str) -> Mapping[str, Any]:
    """Verify the signature and the claims' shape once per request (app context).

    The rate-limit key and the view's authentication both read the request's token; the
    signature itself is remembered per worker (``_verified_claims``), and this memo spares
    the second read the header parse and key look-up (~26 µs). Only the outcome of a good
    signature is remembered; the clock is checked on every read, and a refused token is
    refused again each time.
    """
    memo: dict[str, Mapping[str, Any]] = g.setdefault("signed_claims", {})
    claims = memo.get(token)
    if claims is None:
        claims = memo[token] = _verify_signature(token)
    return claims


def _verify_signature(token: str) -> Mapping[str, Any]:
    config = current_app.config
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenInvalid("The token is malformed.") from exc
    key = config["WALLET_JWT_KEYS"].get(header.get("kid", ""))
    if key is None:
        raise TokenInvalid("The token was signed with an unknown key.")
    return _verified_claims(token, key, config["WALLET_JWT_AUDIENCE"], config["WALLET_JWT_ISSUER"])


# A scanner sends the same token with every charge for its whole lifetime, and checking an
# HS256 signature with PyJWT costs ~60 µs of CPU (under 1% of a charge request, more of a
# lighter one). The outcome depends on nothing but these four arguments, so a good one is
# kept (per worker, bounded); a key removed from the ring no longer matches the cache key,
# a refusal raises and is never kept, and expiry is checked against the clock on every use
# (decode_token). The claims are shared between requests, hence read-only.
@lru_cache(maxsize=4096)
def _verified_claims(token: str, key: str, audience: str, issuer: str) -> Mapping[str, Any]:
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=issuer,
            options={
                "require": ["exp", "iat", "iss", "aud", "sub", "jti", "typ"],
                # Time is checked in decode_token against the service clock (see
                # wallet_api.clock), the same clock that minted the token.
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise TokenInvalid() from exc
    # PyJWT checks the types of the registered claims it verifies; these it leaves to us,
    # and a list where a string belongs must be a 401, not a TypeError.
    if not isinstance(claims["typ"], str) or not isinstance(claims.get("nbf", 0), int | float):
        raise TokenInvalid("The token's claims are malformed.")
    return MappingProxyType(claims)


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenMissing()
    return token.strip()


def authenticate(roles: Iterable[str]) -> Principal:
    """Verify the bearer token and check the principal holds one of ``roles``."""
    roles = tuple(roles)
    claims = decode_token(_bearer_token())
    loader = _loaders.get(claims["typ"])
    if loader is None:
        raise TokenInvalid("This kind of token is not accepted here.")
    principal = loader(claims)
    if principal is None:
        raise TokenInvalid("The account behind this token no longer exists or was revoked.")
    if not _allowed(principal, roles):
        raise Forbidden("Your account may not do this.")
    g.principal = principal
    return principal


def _allowed(principal: Principal, roles: tuple[str, ...]) -> bool:
    if principal.kind == DEVICE:
        return "device" in roles
    role = principal.role
    if "customer" in roles:
        return True  # every person, staff and admins included, is a customer of the chain
    if "staff" in roles and role in ("staff", "admin"):
        return True
    return "admin" in roles and role == "admin"


def current_principal() -> Principal:
    principal: Principal | None = g.get("principal")
    if principal is None:  # a route without @blp.auth asked for it: a programming error
        raise RuntimeError("current_principal() outside an authenticated route")
    return principal


def principal_key() -> str:
    """A rate-limit key: the device or person behind the bearer token, else the address.

    Limits run before the view authenticates, so the token is read here; an invalid one
    falls back to the client address (the view will refuse it anyway).
    """
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        try:
            claims = decode_token(token.strip())
        except ApiError:
            pass
        else:
            return f"{claims['typ']}:{claims['sub']}"
    return get_remote_address()
