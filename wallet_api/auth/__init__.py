"""Users, passwords, JWT access tokens, rotating refresh tokens and roles."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wallet_api.extensions import Api


def register(api: Api) -> None:
    from wallet_api.auth.routes import blp
    from wallet_api.auth.service import load_user_principal
    from wallet_api.extensions.auth import ACCESS, register_principal_loader

    register_principal_loader(ACCESS, load_user_principal)
    api.register_blueprint(blp)
