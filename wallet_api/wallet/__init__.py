"""The customer's wallet: balance, history and top-ups through payment providers."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wallet_api.extensions import Api


def register(api: Api) -> None:
    from wallet_api.wallet.routes import blp, webhooks

    api.register_blueprint(blp)
    api.register_blueprint(webhooks)
