"""Gifts of drinks and credit, claim links, their web page, and their expiry."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wallet_api.extensions import Api


def register(api: Api) -> None:
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
