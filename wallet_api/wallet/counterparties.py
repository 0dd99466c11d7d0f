"""Who was on the other side of a wallet history row: a person, or where a gift was sent.

No name or address is read from the ledger: its rows are append-only, so one written
there could never be taken out again, and it would show what someone was called then.
Each domain that moves credit between people registers how to find the other side of its
rows, as ``transfers.counts_against_daily_limit`` lets them register outflows: by the user
ids its postings recorded (transfers, allowances: no statement) or from its own rows (a
gift's giver, recipient and address: one statement). The people are then read as they
are now, all of a page's in one statement: at most two statements a page, however long.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from wallet_api.auth.models import User
from wallet_api.extensions import db
from wallet_api.ledger.service import HistoryEntry


@dataclass(frozen=True)
class Person:
    user_id: uuid.UUID


@dataclass(frozen=True)
class Address:
    """An email or phone a gift was sent to, masked: enough for the giver, who typed it,
    to know it again, not enough to read it off a screen or a screenshot."""

    kind: str  # "email" or "phone"
    masked: str

    @classmethod
    def of(cls, kind: str, value: str) -> Address:
        return cls(kind, mask_email(value) if kind == "email" else mask_phone(value))


Counterparty = Person | Address
# The other side of each of these entries (by ``entry_id``); entries it cannot tell are
# left out (their row shows null).
Resolver = Callable[[Sequence[HistoryEntry]], Mapping[int, Counterparty]]

_resolvers: dict[str, Resolver] = {}


def describes(*kinds: str) -> Callable[[Resolver], Resolver]:
    """Register ``resolver`` for history rows of these ledger kinds."""

    def register(resolver: Resolver) -> Resolver:
        for kind in kinds:
            _resolvers[kind] = resolver
        return resolver

    return register


def mask_email(address: str) -> str:
    """``anna@example.com`` -> ``a***@example.com``."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}"


def mask_phone(number: str) -> str:
    """E.164 ``+31612345678`` -> ``+316******78``: the country and the last two digits."""
    digits = number.lstrip("+")
    kept = 3 if len(digits) > 7 else 0
    return "+" + digits[:kept] + "*" * (len(digits) - kept - 2) + digits[-2:]


def meta_id(entry: HistoryEntry, *path: str) -> uuid.UUID | None:
    """The UUID at ``meta[path[0]][path[1]]...``, or None for a row without it."""
    value: Any = entry.meta
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    try:
        return uuid.UUID(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _person(row: Any) -> dict[str, Any]:
    if row.is_active:
        return {"kind": "user", "id": row.id, "handle": row.handle, "first_name": row.first_name}
    # A former member: no handle to find them by, no name to show.
    return {"kind": "user", "id": row.id, "handle": None, "first_name": None}


def for_page(entries: Sequence[HistoryEntry]) -> dict[int, dict[str, Any]]:
    """The counterparty of each entry that has one, by ``entry_id``, as the schema shows it."""
    by_resolver: dict[Resolver, list[HistoryEntry]] = defaultdict(list)
    for entry in entries:
        resolver = _resolvers.get(entry.kind)
        if resolver is not None:
            by_resolver[resolver].append(entry)
    found: dict[int, Counterparty] = {}
    for resolver, group in by_resolver.items():
        found.update(resolver(group))
    user_ids = {party.user_id for party in found.values() if isinstance(party, Person)}
    people = {}
    if user_ids:
        rows = db.session.execute(
            select(User.id, User.handle, User.first_name, User.is_active).where(
                User.id.in_(user_ids)
            )
        )
        people = {row.id: _person(row) for row in rows}
    shown: dict[int, dict[str, Any]] = {}
    for entry_id, party in found.items():
        if isinstance(party, Address):
            shown[entry_id] = {"kind": party.kind, "masked": party.masked}
        elif party.user_id in people:
            shown[entry_id] = people[party.user_id]
    return shown
