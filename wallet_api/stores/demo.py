"""The demo store: Amsterdam, the demo barista as its staff, and one scanner."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from wallet_api.auth import service as auth
from wallet_api.clock import utcnow
from wallet_api.extensions import db
from wallet_api.stores import service
from wallet_api.stores.models import Device, Store

DEMO_STORE = "Bean Wallet Amsterdam"
DEMO_DEVICE = "Demo scanner"
# A published secret for the demo scanner, so seeding again prints the same login.
DEMO_DEVICE_SECRET = "demo-scanner-secret-not-for-production"  # noqa: S105  (demo data only)
BARISTA = "barista@demo.beanwallet.test"


@dataclass(frozen=True)
class DemoScanner:
    store: Store
    device: Device
    secret: str


def seed_stores() -> DemoScanner:
    store = db.session.scalar(select(Store).where(Store.name == DEMO_STORE))
    if store is None:
        store = service.create_store(
            {"name": DEMO_STORE, "address": "Damrak 1, Amsterdam", "timezone": "Europe/Amsterdam"}
        )
    barista = auth.find_user_by_email(BARISTA)
    if barista is not None:
        service.add_staff(store, barista.id, actor=None)
    device = db.session.scalar(
        select(Device).where(Device.store_id == store.id, Device.name == DEMO_DEVICE)
    )
    if device is None:
        device = Device(
            store_id=store.id,
            name=DEMO_DEVICE,
            secret_hash=service.secret_hash(DEMO_DEVICE_SECRET),
            created_at=utcnow(),
        )
        db.session.add(device)
        db.session.flush()
    return DemoScanner(store, device, DEMO_DEVICE_SECRET)
