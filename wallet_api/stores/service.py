"""Stores, staff membership, scanner devices and who may act for a store."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from wallet_api.audit.service import record_event
from wallet_api.auth.errors import UserNotFound
from wallet_api.auth.models import Role, User
from wallet_api.clock import utcnow
from wallet_api.extensions import db
from wallet_api.extensions.auth import DEVICE, Principal, encode_token
from wallet_api.extensions.fixed import FixedStatement
from wallet_api.extensions.pagination import keyset_page
from wallet_api.stores.errors import (
    DeviceNotFound,
    DeviceRevoked,
    InvalidDeviceCredentials,
    NotStoreStaff,
    StoreClosed,
    StoreNotFound,
    StoreRequired,
)
from wallet_api.stores.models import Device, Store, StoreStaff

# --- stores ------------------------------------------------------------------------------


def create_store(data: Mapping[str, Any]) -> Store:
    store = Store(**data, created_at=utcnow())
    db.session.add(store)
    db.session.flush()
    return store


def list_stores(*, limit: int, cursor: str | None) -> dict[str, Any]:
    return keyset_page(select(Store), [Store.created_at, Store.id], limit=limit, cursor=cursor)


def get_store(store_id: uuid.UUID) -> Store:
    store = db.session.get(Store, store_id)
    if store is None:
        raise StoreNotFound("No such store.")
    return store


_stores = Store.__table__
# Every scan and charge reads its store: one fixed statement (extensions/fixed.py).
_STORE_ROW = FixedStatement(select(_stores).where(_stores.c.id == bindparam("store_id")))


def _store_at_the_counter(store_id: uuid.UUID) -> Store:
    """The store as read now, *not* attached to the session: the counter only reads it.

    An ORM load through the identity map cost ~0.2 ms of a charge's CPU; nothing at the
    counter changes a store, and the receipt only shows its id and name.
    """
    row = _STORE_ROW.execute({"store_id": store_id}).one_or_none()
    if row is None:
        raise StoreNotFound("No such store.")
    return Store(**row._asdict())


def update_store(store: Store, changes: Mapping[str, Any]) -> Store:
    for name, value in changes.items():
        setattr(store, name, value)
    db.session.flush()
    return store


# --- staff -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Membership:
    store_id: uuid.UUID
    user_id: uuid.UUID
    first_name: str
    role: str
    created_at: Any


def add_staff(store: Store, user_id: uuid.UUID, *, actor: Principal | None) -> Membership:
    """Make a user staff of ``store``; their role becomes ``staff`` unless they are an admin."""
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        raise UserNotFound("No such user.")
    membership = db.session.scalar(
        select(StoreStaff).where(StoreStaff.store_id == store.id, StoreStaff.user_id == user.id)
    )
    if membership is None:
        membership = StoreStaff(store_id=store.id, user_id=user.id, created_at=utcnow())
        try:
            with db.session.begin_nested():
                db.session.add(membership)
        except IntegrityError:
            # Added concurrently by another admin: the same outcome, so answer as they did.
            membership = db.session.scalars(
                select(StoreStaff).where(
                    StoreStaff.store_id == store.id, StoreStaff.user_id == user.id
                )
            ).one()
        previous = user.role
        if user.role is not Role.ADMIN:
            user.role = Role.STAFF
        record_event(
            "store:staff:added",
            actor=actor,
            subject=f"user:{user.id}",
            data={
                "store": {"id": str(store.id), "name": store.name},
                "previous_role": previous.value,
                "role": user.role.value,
            },
        )
        db.session.flush()
    return Membership(store.id, user.id, user.first_name, user.role.value, membership.created_at)


def is_staff_of(user_id: uuid.UUID, store_id: uuid.UUID) -> bool:
    return (
        db.session.scalar(
            select(StoreStaff.id).where(
                StoreStaff.store_id == store_id, StoreStaff.user_id == user_id
            )
        )
        is not None
    )


# --- devices -----------------------------------------------------------------------------
# A device secret is 256 random bits, so SHA-256 is enough to keep it: nobody can guess a
# preimage, and unlike a password there is no dictionary to try. A slow hash (argon2) would
# protect nothing more and cost ~50 ms on every token exchange of every till.


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_device(store: Store, name: str, *, actor: Principal) -> tuple[Device, str]:
    secret = secrets.token_urlsafe(32)
    device = Device(
        store_id=store.id, name=name, secret_hash=secret_hash(secret), created_at=utcnow()
    )
    db.session.add(device)
    db.session.flush()
    record_event(
        "store:device:created",
        actor=actor,
        subject=f"device:{device.id}",
        data={"store": {"id": str(store.id), "name": store.name}, "name": name},
    )
    return device, secret


def revoke_device(store: Store, device_id: uuid.UUID, *, actor: Principal) -> None:
    device = db.session.get(Device, device_id)
    if device is None or device.store_id != store.id:
        raise DeviceNotFound("No such device in this store.")
    if device.revoked_at is None:
        device.revoked_at = utcnow()
        record_event(
            "store:device:revoked",
            actor=actor,
            subject=f"device:{device.id}",
            data={"store": {"id": str(store.id), "name": store.name}, "name": device.name},
        )
        db.session.flush()


@dataclass(frozen=True)
class DeviceToken:
    access_token: str
    expires_in: int
    device_id: uuid.UUID
    store_id: uuid.UUID
    token_type: str = "Bearer"  # noqa: S105  (the OAuth token type, not a secret)


def issue_device_token(device_id: uuid.UUID, secret: str) -> DeviceToken:
    device = db.session.get(Device, device_id)
    expected = device.secret_hash if device is not None else secret_hash(secrets.token_hex(8))
    if not hmac.compare_digest(expected, secret_hash(secret)) or device is None:
        raise InvalidDeviceCredentials("Device id or secret is wrong.")
    if device.revoked_at is not None:
        raise DeviceRevoked("This device was revoked; ask an admin for a new one.")
    ttl = current_app.config["WALLET_DEVICE_TOKEN_TTL"]
    token = encode_token({"sub": str(device.id), "store": str(device.store_id)}, DEVICE, ttl)
    return DeviceToken(token, ttl, device.id, device.store_id)


_devices = Device.__table__
# Every request of a till reads its device, and nearly every one its store (a scan, a
# charge, a redemption): both in one statement (Core, built once), the store's columns
# under their own names after the device's two.
_DEVICE_AND_STORE = FixedStatement(
    select(_devices.c.revoked_at, *_stores.c)
    .join_from(_devices, _stores, _stores.c.id == _devices.c.store_id)
    .where(_devices.c.id == bindparam("device_id"))
)


def load_device_principal(claims: Mapping[str, Any]) -> Principal | None:
    """Loads the device on every request, so a revoked device is refused at once.

    Its store comes with it, as read now (``counter_store`` checks it is open): a till's
    request reads both, and one round trip is cheaper than two.
    """
    try:
        device_id = uuid.UUID(claims["sub"])
    except (ValueError, TypeError):
        return None
    row = _DEVICE_AND_STORE.execute({"device_id": device_id}).one_or_none()
    if row is None or str(row.id) != claims.get("store"):
        return None
    if row.revoked_at is not None:
        raise DeviceRevoked("This device was revoked.")
    store = Store(**{column.key: getattr(row, column.key) for column in _stores.c})
    return Principal(kind=DEVICE, id=device_id, store_id=store.id, store=store)


# --- acting for a store --------------------------------------------------------------------


def counter_store(principal: Principal, store_id: uuid.UUID | None) -> Store:
    """The store a scan or charge happens at: the device's own, or one the staff works at.

    A device naming another store gets 404, as for anything else outside its store.
    """
    if principal.kind == DEVICE:
        if store_id is not None and store_id != principal.store_id:
            raise StoreNotFound("This device belongs to another store.")
        assert principal.store_id is not None  # noqa: S101  (a device's principal names its store)
        # Read with the device when the request authenticated (load_device_principal).
        store = principal.store or _store_at_the_counter(principal.store_id)
    else:
        if store_id is None:
            raise StoreRequired(
                "Staff say which store they are working at.", errors={"store_id": ["required"]}
            )
        store = _store_at_the_counter(store_id)
        if not is_staff_of(principal.id, store.id):
            raise NotStoreStaff("You are not staff of this store.")
    if not store.is_open:
        raise StoreClosed(f"{store.name} is closed.")
    return store


def acts_for(principal: Principal, store_id: uuid.UUID, *, admin: bool = True) -> bool:
    """A device of the store, a staff member of it, or (when ``admin``) any admin."""
    if principal.kind == DEVICE:
        return principal.store_id == store_id
    if admin and principal.role == Role.ADMIN.value:
        return True
    return principal.role in (Role.STAFF.value, Role.ADMIN.value) and is_staff_of(
        principal.id, store_id
    )
