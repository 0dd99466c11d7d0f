"""Loyalty that rewards loyal customers: points, tiers without cliffs, rewards, offers with
parity, switcher welcomes, goodwill and pro-active apologies."""


def register(api):  # type: ignore[no-untyped-def]
    from wallet_api.loyalty.counter import register_counter_hooks
    from wallet_api.loyalty.routes import blp
    from wallet_api.loyalty.scanner import register_reward_codes

    register_reward_codes()
    register_counter_hooks()
    api.register_blueprint(blp)
