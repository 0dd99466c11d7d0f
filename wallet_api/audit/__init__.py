"""Audit events: who did what to money and roles, for people who review it later."""


def register(api):  # type: ignore[no-untyped-def]
    from wallet_api.audit.routes import blp

    api.register_blueprint(blp)
