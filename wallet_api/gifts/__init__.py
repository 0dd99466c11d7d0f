"""Gifts of drinks and credit, claim links, their web page, and their expiry."""


def register(api):  # type: ignore[no-untyped-def]
    from wallet_api.counter.registry import register_code_kind
    from wallet_api.counter.service import register_charge_handler
    from wallet_api.gifts import service
    from wallet_api.gifts.routes import blp

    register_code_kind(service.GIFT_CODE_PREFIX, service.resolve_gift_code)
    register_charge_handler(service.GIFT_KIND, service.redeem_at_counter)
    api.register_blueprint(blp)
