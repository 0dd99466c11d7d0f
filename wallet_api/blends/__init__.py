"""Custom blends: compose, price, rate, share, copy, and the top-10 of user-generated coffees."""


def register(api):  # type: ignore[no-untyped-def]
    from wallet_api.blends import service
    from wallet_api.blends.routes import blp
    from wallet_api.counter.registry import on_charge_recorded

    # Whoever drinks a blend may rate it with a rating that counts.
    on_charge_recorded(service.verify_ratings_after_charge)
    api.register_blueprint(blp)
