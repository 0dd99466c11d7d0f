"""The menu: standard drinks, sizes and prices, ingredients; prices order lines."""


def register(api):  # type: ignore[no-untyped-def]
    from wallet_api.catalog.routes import blp

    api.register_blueprint(blp)
