"""What the scanner reads: one text, dispatched on its first letter to the kind of code.

Each kind registers a resolver for its prefix: ``P`` pay codes and ``O`` offline codes
(``wallet_api.paycodes``), ``R`` reward codes (``wallet_api.loyalty``, codes ``RW...``).
A resolver checks the code without side effects and returns a :class:`ScannedCode`;
``consume()`` is called only by a charge, inside its transaction, and must be safe against
two tills racing for the same code.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wallet_api.counter.errors import CodeUnknown


@dataclass
class ScannedCode:
    kind: str  # "pay", "allowance", "gift", "reward": selects the charge handler
    # Who stands at the till: greeted by name. None for a bearer code of someone without
    # an account (a gift sent by link, shown on its web page).
    customer_id: uuid.UUID | None
    source: str  # the table it came from ("pay_code", "offline_key", "gift", "reward_code")
    source_id: uuid.UUID
    consume: Callable[[], None]  # marks it used; raises CodeAlreadyUsed if another till won
    expires_at: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)  # kind-specific preview data
    # Whether the code can pay ``amount``, for kinds that do not pay from the customer's
    # own wallet (an allowance); the scan preview's ``balance_covers``.
    covers: Callable[[int], bool] | None = None
    # Kind-specific data for the charge handler, never shown to the till.
    context: dict[str, Any] = field(default_factory=dict)


Resolver = Callable[[str], ScannedCode]
_resolvers: dict[str, Resolver] = {}


def register_code_kind(prefix: str, resolver: Resolver) -> None:
    """Send every code starting with ``prefix`` to ``resolver``.

    A letter belongs to one kind of code: a second kind claiming it would silently take
    the first one's codes, so that is refused (registering the same resolver again, as a
    second app in one process does, is fine). A kind whose codes share a letter with
    nothing else may still check more of the text itself (reward codes start ``RW``).
    """
    if len(prefix) != 1 or not prefix.isupper():
        raise ValueError("a code prefix is one upper-case letter")
    existing = _resolvers.get(prefix)
    if existing is not None and existing is not resolver:
        raise ValueError(f"code prefix {prefix!r} is taken by {existing.__qualname__}")
    _resolvers[prefix] = resolver


def registered_prefixes() -> dict[str, Resolver]:
    return dict(_resolvers)


def normalise(text: str) -> str:
    """QR codes carry upper case; a code typed in by hand may not."""
    return "".join(text.split()).upper()


def resolve_code(text: str) -> ScannedCode:
    text = normalise(text)
    resolver = _resolvers.get(text[:1])
    if resolver is None:
        raise CodeUnknown("This code is not known.")
    return resolver(text)
