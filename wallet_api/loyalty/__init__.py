"""Loyalty that rewards loyal customers: points, tiers without cliffs, rewards, offers with
parity, switcher welcomes, goodwill and pro-active apologies."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wallet_api.extensions import Api


def register(api: Api) -> None:
    from wallet_api.loyalty.counter import register_counter_hooks
    from wallet_api.loyalty.routes import blp
    from wallet_api.loyalty.scanner import register_reward_codes

    register_reward_codes()
    register_counter_hooks()
    api.register_blueprint(blp)
