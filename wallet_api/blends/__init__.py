"""Custom blends: compose, price, rate, share, copy, and the top-10 of user-generated coffees."""


def register(api):  # type: ignore[no-untyped-def]
    from wallet_api.blends.routes import blp

    api.register_blueprint(blp)
