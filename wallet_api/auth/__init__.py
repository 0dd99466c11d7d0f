"""Users, passwords, JWT access tokens, rotating refresh tokens and roles."""


def register(api):  # type: ignore[no-untyped-def]
    from wallet_api.auth.routes import blp
    from wallet_api.auth.service import load_user_principal
    from wallet_api.extensions.auth import ACCESS, register_principal_loader

    register_principal_loader(ACCESS, load_user_principal)
    api.register_blueprint(blp)
