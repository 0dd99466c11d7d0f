"""Accounts, transactions and entries; the only code that moves money and points."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wallet_api.extensions import Api


def register(api: Api) -> None:
    from wallet_api.ledger.routes import blp

    api.register_blueprint(blp)
