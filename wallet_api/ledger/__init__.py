"""Accounts, transactions and entries; the only code that moves money and points."""


def register(api):  # type: ignore[no-untyped-def]
    from wallet_api.ledger.routes import blp

    api.register_blueprint(blp)
