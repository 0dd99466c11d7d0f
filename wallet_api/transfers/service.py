"""Sending credit to a friend. No Flask request in here; nothing commits.

The daily transfer limit (``WALLET_DAILY_TRANSFER_LIMIT``) is a rolling window: at most
that much in any 24 hours. A calendar day (UTC or local) would let someone send the limit
at 23:59 and again at 00:01, and the service knows no customer's time zone; a rolling
window needs neither and lets the error say exactly what can be sent now.
"""

from __future__ import annotations

import functools
import operator
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, ScalarSelect, Uuid, bindparam, func, select

from wallet_api.auth.models import User
from wallet_api.clock import utcnow
from wallet_api.extensions import db
from wallet_api.extensions.database import UTCDateTime
from wallet_api.extensions.money import format_money
from wallet_api.ledger import service as ledger
from wallet_api.ledger.errors import BalanceLimitExceeded
from wallet_api.ledger.service import HistoryEntry
from wallet_api.social import service as social
from wallet_api.social.errors import NotAFriend
from wallet_api.social.models import NotificationKind
from wallet_api.transfers.errors import (
    DailyTransferLimitExceeded,
    TransferNotFound,
    TransferToSelf,
)
from wallet_api.transfers.models import Transfer
from wallet_api.wallet import counterparties

WINDOW = timedelta(hours=24)

# Other ways credit leaves a wallet for someone else (gifts of credit) count against the
# same daily limit, whichever way is used first. Their domains import this one, so they
# register what a sender gave in the window, as a scalar subquery given the sender's id and
# the window's start, rather than being imported here: every sum goes in one statement.
Outflow = Callable[[ColumnElement[uuid.UUID], ColumnElement[datetime]], ScalarSelect[int]]
_other_outflows: list[Outflow] = []


def counts_against_daily_limit(outflow: Outflow) -> Outflow:
    """Register ``outflow(sender_id, since)``: the credit that left after ``since``."""
    _other_outflows.append(outflow)
    return outflow


def sent_within_window(sender_id: uuid.UUID, now: datetime | None = None) -> int:
    """What ``sender_id`` sent (transfers and other outflows) in the 24 hours before ``now``."""
    now = now or utcnow()
    sender = bindparam("sender_id", sender_id, type_=Uuid)
    since = bindparam("since", now - WINDOW, type_=UTCDateTime())
    sums = [
        select(func.coalesce(func.sum(Transfer.amount), 0))
        .where(Transfer.sender_id == sender, Transfer.created_at > since)
        .scalar_subquery(),
        *(outflow(sender, since) for outflow in _other_outflows),
    ]
    total = db.session.scalar(select(functools.reduce(operator.add, sums)))
    return int(total or 0)


def check_daily_limit(sender_id: uuid.UUID, amount: int, now: datetime, currency: str) -> None:
    """Refuse ``amount`` if it would pass the daily limit (the caller holds the wallet lock)."""
    limit = current_app.config["WALLET_DAILY_TRANSFER_LIMIT"]
    used = sent_within_window(sender_id, now)
    if used + amount > limit:
        remaining = max(limit - used, 0)
        raise DailyTransferLimitExceeded(
            f"You can send {format_money(limit, currency)} in any 24 hours; "
            f"{format_money(remaining, currency)} is left now.",
            limit=limit,
            remaining=remaining,
            currency=currency,
        )


def _party(user: User) -> dict[str, str]:
    return {"id": str(user.id), "name": user.display_name}


@counterparties.describes("transfer")
def _other_person(entries: Sequence[HistoryEntry]) -> dict[int, counterparties.Counterparty]:
    """The sender sees the recipient and the recipient the sender, by the ids the posting
    recorded (no statement)."""
    found: dict[int, counterparties.Counterparty] = {}
    for entry in entries:
        other = counterparties.meta_id(entry, "to" if entry.amount < 0 else "from", "id")
        if other is not None:
            found[entry.entry_id] = counterparties.Person(other)
    return found


def send_credit(sender: User, *, to: str, amount: int, message: str = "") -> dict[str, Any]:
    """Move ``amount`` cents from the sender's wallet to a friend's; notify the friend."""
    recipient = social.resolve_user_ref(to)
    if recipient is not None and recipient.id == sender.id:
        raise TransferToSelf("You cannot send credit to yourself.")
    if recipient is None or not social.are_friends(sender.id, recipient.id):
        raise NotAFriend("You can only send credit to a friend.")

    # Both wallets are locked, in the ledger's order, before the window is summed: a
    # concurrent transfer by this sender waits here and then counts this one. Locking the
    # sender's wallet alone first would deadlock two friends sending to each other.
    source, destination = ledger.lock_wallets([sender.id, recipient.id])
    now = utcnow()
    check_daily_limit(sender.id, amount, now, source.unit)

    transfer = Transfer(
        id=uuid.uuid4(),
        sender=sender,
        recipient=recipient,
        amount=amount,
        currency=source.unit,
        message=message,
        created_at=now,
    )
    try:
        posted = ledger.transfer(
            "transfer",
            source.id,
            destination.id,
            amount,
            memo=message,
            # Both sides read the same transaction: each shows the party that is not them.
            meta={
                "transfer_id": str(transfer.id),
                "from": _party(sender),
                "to": _party(recipient),
                "message": message,
            },
            max_balance=current_app.config["WALLET_MAX_BALANCE"],
        )
    except BalanceLimitExceeded as exc:
        # The ledger's message names the recipient's balance; the sender may not see it.
        raise BalanceLimitExceeded(
            f"{recipient.display_name}'s wallet cannot take this much credit now."
        ) from exc
    transfer.transaction_id = posted.public_id
    db.session.add(transfer)
    db.session.flush()

    social.notify(
        recipient.id,
        NotificationKind.CREDIT_RECEIVED,
        title=f"{sender.display_name} sent you {format_money(amount, transfer.currency)}",
        body=message,
        data={
            "transfer_id": transfer.id,
            "amount": amount,
            "currency": transfer.currency,
            "from": social.summary(sender),
        },
    )
    return view(transfer, balance=posted.balances_after[source.id])


def view(transfer: Transfer, *, balance: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": transfer.id,
        "from": social.summary(transfer.sender),
        "to": social.summary(transfer.recipient),
        "amount": transfer.amount,
        "currency": transfer.currency,
        "message": transfer.message,
        "created_at": transfer.created_at,
    }
    if balance is not None:
        data["balance"] = balance
    return data


def get_transfer(user: User, transfer_id: uuid.UUID) -> dict[str, Any]:
    """A transfer, for its sender or recipient only (anyone else: 404)."""
    transfer = db.session.get(Transfer, transfer_id)
    if transfer is None or user.id not in (transfer.sender_id, transfer.recipient_id):
        raise TransferNotFound("No such transfer.")
    return view(transfer)
