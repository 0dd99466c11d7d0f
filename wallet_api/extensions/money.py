"""Amounts of money as people read them in messages, notifications and receipts.

Presentation only: the ledger counts integer cents (or points) per unit and never formats.
"""

from __future__ import annotations

from flask import current_app

_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}


def format_money(cents: int, unit: str | None = None) -> str:
    """'€5.00' for people reading a message; the deployment's currency by default."""
    unit = unit or current_app.config["WALLET_CURRENCY"]
    sign = "-" if cents < 0 else ""
    amount = f"{abs(cents) // 100}.{abs(cents) % 100:02d}"
    symbol = _SYMBOLS.get(unit)
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {unit}"
