"""Allowances: a friend pays at the till from my wallet, up to an amount per period."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wallet_api.extensions import Api


def register(api: Api) -> None:
    from wallet_api.allowances import service
    from wallet_api.allowances.errors import (
        AllowanceExceeded,
        AllowanceExpired,
        AllowanceRevoked,
    )
    from wallet_api.allowances.routes import blp
    from wallet_api.counter.registry import CodeKind, register_code_kind
    from wallet_api.ledger.errors import InsufficientFunds
    from wallet_api.social.errors import NotAFriend

    # No letter of its own: a pay code asked for with an allowance is a ``P`` code, which
    # paycodes' resolver hands to ``service.drawing_on``.
    register_code_kind(
        CodeKind(
            kind=service.ALLOWANCE_KIND,
            charge=service.charge_allowance,
            problems=(AllowanceRevoked, AllowanceExpired, NotAFriend),
            charge_problems=(AllowanceExceeded, InsufficientFunds),
        )
    )
    api.register_blueprint(blp)
