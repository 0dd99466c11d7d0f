"""Audit events: who did what to money and roles, for people who review it later."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wallet_api.extensions import Api


def register(api: Api) -> None:
    from wallet_api.audit.routes import blp

    api.register_blueprint(blp)
