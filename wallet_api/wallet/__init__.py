"""The customer's wallet: balance, history and top-ups through payment providers."""


def register(api):  # type: ignore[no-untyped-def]
    from wallet_api.wallet.routes import blp, webhooks

    api.register_blueprint(blp)
    api.register_blueprint(webhooks)
