"""Friends (requests, friendships) and the notifications inbox."""


def register(api):  # type: ignore[no-untyped-def]
    from wallet_api.social.routes import blp

    api.register_blueprint(blp)
