"""Gifts of drinks and credit, claim links, their web page, and their expiry."""


def register(api):  # type: ignore[no-untyped-def]
    from wallet_api.counter.registry import CodeKind, register_code_kind
    from wallet_api.gifts import service
    from wallet_api.gifts.errors import NOT_PENDING, GiftIsCredit
    from wallet_api.gifts.routes import blp

    register_code_kind(
        CodeKind(
            kind=service.GIFT_KIND,
            prefix=service.GIFT_CODE_PREFIX,
            resolve=service.resolve_gift_code,
            charge=service.redeem_at_counter,
            problems=(GiftIsCredit, *NOT_PENDING),
        )
    )
    api.register_blueprint(blp)
