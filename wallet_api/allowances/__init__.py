"""Allowances: a friend pays at the till from my wallet, up to an amount per period."""


def register(api):  # type: ignore[no-untyped-def]
    from wallet_api.allowances import service
    from wallet_api.allowances.routes import blp
    from wallet_api.counter.service import register_charge_handler

    register_charge_handler(service.ALLOWANCE_KIND, service.charge_allowance)
    api.register_blueprint(blp)
