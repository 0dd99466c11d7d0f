"""Liveness and readiness probes."""


def register(api):  # type: ignore[no-untyped-def]
    from wallet_api.ops.routes import blp

    api.register_blueprint(blp)
