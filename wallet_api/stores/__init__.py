"""Stores, staff, scanner devices and daily reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wallet_api.extensions import Api


def register(api: Api) -> None:
    from wallet_api.extensions.auth import DEVICE, register_principal_loader
    from wallet_api.stores.routes import blp
    from wallet_api.stores.service import load_device_principal

    register_principal_loader(DEVICE, load_device_principal)
    api.register_blueprint(blp)
