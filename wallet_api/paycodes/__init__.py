"""Pay codes: short-lived single-use codes shown as QR, and offline (TOTP) codes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wallet_api.extensions import Api


def register(api: Api) -> None:
    from wallet_api.counter.registry import CodeKind, register_code_kind
    from wallet_api.ledger.errors import InsufficientFunds
    from wallet_api.loyalty.errors import OfferAlreadyUsed
    from wallet_api.paycodes import service
    from wallet_api.paycodes.charges import PAY_KIND, charge_wallet
    from wallet_api.paycodes.routes import blp

    # Both letters are one kind: the customer's own wallet pays, with offers and points.
    for prefix, resolve in (
        (service.PAY_CODE_PREFIX, service.resolve_pay_code),
        (service.OFFLINE_CODE_PREFIX, service.resolve_offline_code),
    ):
        register_code_kind(
            CodeKind(
                kind=PAY_KIND,
                prefix=prefix,
                resolve=resolve,
                charge=charge_wallet,
                charge_problems=(InsufficientFunds, OfferAlreadyUsed),
            )
        )
    api.register_blueprint(blp)
