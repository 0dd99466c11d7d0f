"""Accounts, passwords and tokens. No Flask request in here."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import Row, bindparam, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute

from wallet_api.auth.errors import (
    AccessTokenRevoked,
    EmailTaken,
    HandleTaken,
    InvalidCredentials,
    PhoneTaken,
    RefreshTokenInvalid,
    RefreshTokenReused,
    UserNotFound,
)
from wallet_api.auth.models import RefreshToken, Role, User
from wallet_api.auth.schemas import HANDLE_PATTERN
from wallet_api.clock import utcnow
from wallet_api.extensions import db
from wallet_api.extensions.auth import ACCESS, Principal, encode_token
from wallet_api.extensions.fixed import FixedStatement
from wallet_api.extensions.problems import TokenExpired

# argon2id with the library's RFC 9106 "low memory" profile defaults.
_hasher = PasswordHasher()
# Verified when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password-" + secrets.token_hex(8))


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105  (the OAuth token type, not a secret)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_unique(
    email: str | None, handle: str | None, phone: str | None, *, exclude: uuid.UUID | None = None
) -> None:
    def taken(column: InstrumentedAttribute[Any], value: str | None) -> bool:
        stmt = select(User.id).where(column == value)
        if exclude is not None:
            stmt = stmt.where(User.id != exclude)
        return value is not None and db.session.scalar(stmt) is not None

    if taken(User.email, email):
        raise EmailTaken("An account with this email already exists.")
    if taken(User.handle, handle):
        raise HandleTaken(f"The handle @{handle} is taken.")
    if taken(User.phone, phone):
        raise PhoneTaken("An account with this phone number already exists.")


def _flush_unique() -> None:
    """Flush, turning a unique violation lost to a concurrent request into a 409."""
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        message = str(exc.orig).lower()
        if "phone" in message:
            raise PhoneTaken() from exc
        if "handle" in message:
            raise HandleTaken() from exc
        raise EmailTaken() from exc


def register_user(
    *,
    email: str,
    password: str,
    first_name: str,
    handle: str,
    display_name: str | None = None,
    phone: str | None = None,
    locale: str = "en",
    role: Role = Role.CUSTOMER,
) -> User:
    from wallet_api.ledger import service as ledger

    _check_unique(email, handle, phone)
    user = User(
        email=email,
        password_hash=hash_password(password),
        first_name=first_name,
        display_name=display_name or first_name,
        handle=handle,
        phone=phone,
        locale=locale,
        role=role,
        created_at=utcnow(),
    )
    db.session.add(user)
    _flush_unique()
    ledger.open_customer_accounts(user.id)
    return user


def authenticate_user(email: str, password: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError) as exc:
        raise InvalidCredentials("Email or password is wrong.") from exc
    if user is None or not user.is_active:
        raise InvalidCredentials("Email or password is wrong.")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def _access_token(user: User, family_id: uuid.UUID) -> str:
    """``sid`` names the login (the refresh family), so signing it out ends this token too."""
    ttl = current_app.config["WALLET_ACCESS_TOKEN_TTL"]
    claims = {"sub": str(user.id), "role": user.role.value, "sid": str(family_id)}
    return encode_token(claims, ACCESS, ttl)


def issue_tokens(user: User, family_id: uuid.UUID | None = None) -> TokenPair:
    """A refresh token of the login ``family_id`` (a new login without one) and its access."""
    config = current_app.config
    refresh = secrets.token_urlsafe(32)
    family_id = family_id or uuid.uuid4()
    db.session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id,
            token_hash=_digest(refresh),
            created_at=utcnow(),
            expires_at=utcnow() + timedelta(seconds=config["WALLET_REFRESH_TOKEN_TTL"]),
        )
    )
    db.session.flush()
    return TokenPair(
        access_token=_access_token(user, family_id),
        refresh_token=refresh,
        expires_in=config["WALLET_ACCESS_TOKEN_TTL"],
    )


def revoke_family(family_id: uuid.UUID) -> None:
    db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def rotate_refresh_token(token: str) -> TokenPair:
    """Trade a refresh token for a new pair. Reuse of a rotated token revokes its family."""
    record = db.session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == _digest(token)).with_for_update()
    )
    if record is None or record.revoked_at is not None:
        raise RefreshTokenInvalid("This refresh token is not valid; sign in again.")
    if record.used_at is not None:
        revoke_family(record.family_id)
        # The revocation must stick although this request fails: commit it now.
        db.session.commit()
        raise RefreshTokenReused(
            "This refresh token was already used; every session of this login is signed out."
        )
    if record.expires_at <= utcnow():
        raise RefreshTokenInvalid("This refresh token has expired; sign in again.")
    user = db.session.get(User, record.user_id)
    if user is None or not user.is_active:
        raise RefreshTokenInvalid("This account is no longer active.")
    record.used_at = utcnow()
    return issue_tokens(user, family_id=record.family_id)


def logout(user: User, refresh_token: str | None) -> None:
    """Revoke the family of ``refresh_token``, or every family of the user without one."""
    if refresh_token is None:
        db.session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        return
    record = db.session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == _digest(refresh_token))
    )
    if record is None or record.user_id != user.id:
        raise RefreshTokenInvalid("This refresh token is not one of yours.")
    revoke_family(record.family_id)


def update_profile(user: User, changes: dict[str, Any]) -> User:
    _check_unique(None, changes.get("handle"), changes.get("phone"), exclude=user.id)
    for name, value in changes.items():
        setattr(user, name, value)
    _flush_unique()
    return user


def get_user(user_id: uuid.UUID) -> User:
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        raise UserNotFound("No such user.")
    return user


_users = User.__table__
# Every scan and charge reads its customer: one fixed statement (extensions/fixed.py), not
# an ORM load (~0.2 ms of a charge's CPU); nothing at the counter changes the person.
_COUNTER_CUSTOMER = FixedStatement(
    select(_users.c.id, _users.c.first_name, _users.c.created_at, _users.c.is_active).where(
        _users.c.id == bindparam("user_id")
    )
)


def counter_customer(user_id: uuid.UUID) -> Row[Any] | None:
    """What the counter reads of an active user (``id``, ``first_name``, ``created_at``)
    by one fixed statement; None when there is no such active user."""
    row = _COUNTER_CUSTOMER.execute({"user_id": user_id}).one_or_none()
    return row if row is not None and row.is_active else None


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def find_user_by_handle(handle: str) -> User | None:
    handle = handle.lower().lstrip("@")
    # A handle no one could have registered names no one; and a NUL from a path would be
    # refused by PostgreSQL's text as an error rather than found missing.
    if not re.fullmatch(HANDLE_PATTERN, handle):
        return None
    return db.session.scalar(select(User).where(User.handle == handle))


# The person behind an access token, and whether the token's login (``sid``, the refresh
# family) is live, in one statement: the check adds no round trip to any request. In a live
# family no row is revoked, so the index on ``family_id`` finds one at the first row. Built
# once: building it per request cost more CPU (~250 µs) than running it.
_PERSON_AND_LOGIN = select(
    User,
    exists().where(
        RefreshToken.family_id == bindparam("family_id"),
        RefreshToken.user_id == User.id,
        RefreshToken.revoked_at.is_(None),
    ),
).where(User.id == bindparam("user_id"))


def load_user_principal(claims: Mapping[str, Any]) -> Principal | None:
    """The person behind an access token, refused once its login is signed out."""
    sid = claims.get("sid")
    try:
        user_id = uuid.UUID(claims["sub"])
        family_id = None if sid is None else uuid.UUID(sid)
    except (ValueError, TypeError, AttributeError):
        return None
    found = db.session.execute(
        _PERSON_AND_LOGIN, {"user_id": user_id, "family_id": family_id}
    ).one_or_none()
    if found is None:
        return None
    user, live = found
    if not user.is_active:
        return None
    if not live and family_id is None:
        # Issued before tokens named their login (at most WALLET_ACCESS_TOKEN_TTL ago): as
        # at expiry, the app trades its refresh token, still good, for a new pair.
        raise TokenExpired("This token predates sign-out checks; refresh it.")
    if not live:
        raise AccessTokenRevoked("This login was signed out; sign in again.")
    # The role is read from the database, not the token: a demotion takes effect at once.
    return Principal(kind="user", id=user.id, role=user.role.value, user=user)


def set_role(user: User, role: Role) -> User:
    user.role = role
    db.session.flush()
    return user
