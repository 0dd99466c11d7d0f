"""The till: scans, charges, refunds and feedback on charges."""


def register(api):  # type: ignore[no-untyped-def]
    from wallet_api.counter import service  # noqa: F401  (registers the "pay" charge handler)
    from wallet_api.counter.routes import blp

    api.register_blueprint(blp)
