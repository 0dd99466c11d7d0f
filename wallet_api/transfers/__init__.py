"""Credit sent to a friend: wallet to wallet through the ledger."""


def register(api):  # type: ignore[no-untyped-def]
    from wallet_api.transfers.routes import blp

    api.register_blueprint(blp)
