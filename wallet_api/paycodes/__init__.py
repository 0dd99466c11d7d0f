"""Pay codes: short-lived single-use codes shown as QR, and offline (TOTP) codes."""


def register(api):  # type: ignore[no-untyped-def]
    from wallet_api.counter.registry import register_code_kind
    from wallet_api.paycodes import service
    from wallet_api.paycodes.routes import blp

    register_code_kind(service.PAY_CODE_PREFIX, service.resolve_pay_code)
    register_code_kind(service.OFFLINE_CODE_PREFIX, service.resolve_offline_code)
    api.register_blueprint(blp)
