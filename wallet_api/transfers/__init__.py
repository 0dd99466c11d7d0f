"""Credit sent to a friend: wallet to wallet through the ledger."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wallet_api.extensions import Api


def register(api: Api) -> None:
    from wallet_api.transfers.routes import blp

    api.register_blueprint(blp)
