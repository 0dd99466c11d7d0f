"""What plugs into the counter: the kinds of code it reads, and what other domains do
when a charge is recorded, refunded or rated.

The scanner reads one text, dispatched on its first letter to the kind of code that owns
the letter: ``P`` pay codes and ``O`` offline codes (``wallet_api.paycodes``), ``G`` gift
codes (``wallet_api.gifts``), ``R`` reward codes (``wallet_api.loyalty``, codes ``RW...``).
A resolver checks the code without side effects and returns a :class:`ScannedCode`, whose
``kind`` selects the charge handler: a pay code drawing on an allowance is a ``P`` code
that ``wallet_api.allowances`` charges. ``consume()`` is called only by a charge, inside
its transaction, and must be safe against two tills racing for the same code.

The packages register here in their ``register(api)``; the counter imports none of them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from wallet_api.counter.errors import CodeUnknown
from wallet_api.extensions.problems import ApiError

if TYPE_CHECKING:
    from wallet_api.catalog.service import PricedLine
    from wallet_api.counter.models import Charge
    from wallet_api.counter.service import ChargeResult
    from wallet_api.extensions.auth import Principal
    from wallet_api.stores.models import Store


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
# A charge of one kind of code: see ``counter.service.sell``, the recipe they follow.
ChargeHandler = Callable[["Principal", "Store", ScannedCode, Mapping[str, Any]], "ChargeResult"]
Problems = tuple[type[ApiError], ...]


@dataclass(frozen=True)
class CodeKind:
    """One kind of code: how the till reads it and what a charge of it does.

    ``prefix`` and ``resolve``: the letter its codes start with and their resolver; both
    None for a kind whose codes another kind's resolver hands on (a pay code drawing on an
    allowance is a ``P`` code). ``problems``: why a code of this kind can be refused, at a
    scan and at a charge; ``charge_problems``: why its charge can fail besides. Both are
    documented on the counter's operations (``counter.routes``).
    """

    kind: str
    charge: ChargeHandler
    prefix: str | None = None
    resolve: Resolver | None = None
    problems: Problems = ()
    charge_problems: Problems = ()


_kinds: dict[str, CodeKind] = {}  # by kind
_resolvers: dict[str, Resolver] = {}  # by prefix


def register_code_kind(code_kind: CodeKind) -> None:
    """Send every code starting with its prefix to its resolver, and every scanned code
    of its kind to its charge handler.

    A letter belongs to one kind of code: a second kind claiming it would silently take
    the first one's codes, so that is refused, as is a second handler for one kind
    (registering the same again, as a second app in one process does, is fine). A kind
    whose codes share a letter with nothing else may still check more of the text
    itself (reward codes start ``RW``). Pay and offline codes are one kind with two
    letters: registered once for each.
    """
    prefix, resolver = code_kind.prefix, code_kind.resolve
    if (prefix is None) != (resolver is None):
        raise ValueError("a code kind has both a prefix and a resolver, or neither")
    if prefix is not None and (len(prefix) != 1 or not prefix.isupper()):
        raise ValueError("a code prefix is one upper-case letter")
    existing = _resolvers.get(prefix) if prefix is not None else None
    if existing is not None and existing is not resolver:
        raise ValueError(f"code prefix {prefix!r} is taken by {existing.__qualname__}")
    handler = _kinds.get(code_kind.kind)
    if handler is not None and handler.charge is not code_kind.charge:
        raise ValueError(
            f"code kind {code_kind.kind!r} is charged by {handler.charge.__qualname__}"
        )
    if prefix is not None and resolver is not None:
        _resolvers[prefix] = resolver
    # The kind as charged, whatever its letters: the problems of all of them.
    known = handler or CodeKind(kind=code_kind.kind, charge=code_kind.charge)
    _kinds[code_kind.kind] = CodeKind(
        kind=code_kind.kind,
        charge=code_kind.charge,
        problems=_union(known.problems, code_kind.problems),
        charge_problems=_union(known.charge_problems, code_kind.charge_problems),
    )


def _union(first: Problems, second: Problems) -> Problems:
    return (*first, *(problem for problem in second if problem not in first))


def registered_prefixes() -> dict[str, Resolver]:
    return dict(_resolvers)


def registered_kinds() -> list[CodeKind]:
    """Each kind as charged, with the problems of all its letters (their resolvers are in
    ``registered_prefixes``)."""
    return list(_kinds.values())


def charge_handler(kind: str) -> ChargeHandler | None:
    code_kind = _kinds.get(kind)
    return code_kind.charge if code_kind is not None else None


def normalise(text: str) -> str:
    """QR codes carry upper case; a code typed in by hand may not."""
    return "".join(text.split()).upper()


def resolve_code(text: str) -> ScannedCode:
    text = normalise(text)
    resolver = _resolvers.get(text[:1])
    if resolver is None:
        raise CodeUnknown("This code is not known.")
    return resolver(text)


# --- what other domains do at the counter -------------------------------------------------
# Each list is run in the order of registration, at a fixed point of the counter's
# transaction (the docstrings of ``record_charge``, ``refund_charge`` and ``give_feedback``
# say where, and which locks are held by then).

# A charge was recorded: ``(drinker_id, lines)``. Blends verify the drinker's ratings.
ChargeRecorded = Callable[[uuid.UUID | None, Sequence["PricedLine"]], None]
# A refund of ``amount`` of a charge: returns the loyalty points it took back (0: none).
Refunded = Callable[["Charge", int], int]
# A rating of ``stars`` by the person who drank, to whom the visit cost ``paid_cents`` of
# their own wallet: returns the cents credited as an apology (0: sorry, no credit), or
# None when no apology is due.
Rated = Callable[[uuid.UUID, "Charge", int, int], int | None]

_on_charge_recorded: list[ChargeRecorded] = []
_on_refund: list[Refunded] = []
_on_feedback: list[Rated] = []

Hook = TypeVar("Hook", bound=Callable[..., Any])


def _add(hooks: list[Hook], hook: Hook) -> Hook:
    if hook not in hooks:  # a second app in one process registers it again
        hooks.append(hook)
    return hook


def on_charge_recorded(hook: ChargeRecorded) -> ChargeRecorded:
    return _add(_on_charge_recorded, hook)


def on_refund(hook: Refunded) -> Refunded:
    return _add(_on_refund, hook)


def on_feedback(hook: Rated) -> Rated:
    return _add(_on_feedback, hook)


def charge_recorded_hooks() -> Iterable[ChargeRecorded]:
    return tuple(_on_charge_recorded)


def refund_hooks() -> Iterable[Refunded]:
    return tuple(_on_refund)


def feedback_hooks() -> Iterable[Rated]:
    return tuple(_on_feedback)
