"""Custom blends: compose, price, rate, share, copy, and the top-10 of user-generated coffees."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wallet_api.extensions import Api


def register(api: Api) -> None:
    from wallet_api.blends import service
    from wallet_api.blends.routes import blp
    from wallet_api.catalog.service import register_line_pricer
    from wallet_api.counter.registry import on_charge_recorded

    # Blends build on the catalog: the catalog prices an order line naming a blend by
    # asking the blends domain, which registers itself here rather than being imported.
    register_line_pricer("blend_id", service.price_blend_line)

    # Whoever drinks a blend may rate it with a rating that counts.
    on_charge_recorded(service.verify_ratings_after_charge)
    api.register_blueprint(blp)
