"""The menu: standard drinks, sizes and prices, ingredients; prices order lines."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wallet_api.extensions import Api


def register(api: Api) -> None:
    from wallet_api.catalog.routes import blp

    api.register_blueprint(blp)
