"""Wallet rules: balance and limits, history, top-ups and payment webhooks.

No Flask request in here; money moves only through ``wallet_api.ledger.service``.

Top-up money flows from the ``topup_clearing`` system account into the customer's wallet.
Limits (``WALLET_MIN_TOP_UP``, ``WALLET_MAX_TOP_UP``, ``WALLET_MAX_BALANCE``) are checked
when a top-up is created; the maximum balance is checked again, under the wallet's row
lock, when it is credited. A Stripe payment that succeeds while the wallet has meanwhile
filled up (another top-up, a transfer, a gift) is not credited: the top-up becomes
``refund_due`` and the payment is to be refunded to the card.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from wallet_api.clock import utcnow
from wallet_api.extensions import db
from wallet_api.extensions.database import end_read_transaction
from wallet_api.ledger import service as ledger
from wallet_api.ledger.models import AccountKind
from wallet_api.wallet import counterparties, providers
from wallet_api.wallet.errors import (
    BalanceLimitExceeded,
    TopUpNotFound,
    TopUpTooLarge,
    TopUpTooSmall,
)
from wallet_api.wallet.models import TopUp, TopUpStatus, WebhookEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    max_balance: int
    min_top_up: int
    max_top_up: int


def limits() -> Limits:
    config = current_app.config
    return Limits(
        max_balance=config["WALLET_MAX_BALANCE"],
        min_top_up=config["WALLET_MIN_TOP_UP"],
        max_top_up=config["WALLET_MAX_TOP_UP"],
    )


def wallet_summary(user_id: uuid.UUID) -> dict[str, Any]:
    account = ledger.wallet_account(user_id)
    return {
        "balance": ledger.balance_of(account),
        "currency": account.unit,
        "limits": limits(),
    }


def history(user_id: uuid.UUID, *, limit: int, cursor: str | None) -> dict[str, Any]:
    page = ledger.account_history(ledger.wallet_account(user_id), limit=limit, cursor=cursor)
    shown = counterparties.for_page(page["items"])
    page["items"] = [
        dataclasses.replace(entry, counterparty=shown.get(entry.entry_id))
        for entry in page["items"]
    ]
    return page


# --- top-ups ---------------------------------------------------------------------------


def _check_limits(balance: int, amount: int, rules: Limits) -> None:
    if amount < rules.min_top_up:
        raise TopUpTooSmall(
            f"A top-up is at least {rules.min_top_up} cents.", min_top_up=rules.min_top_up
        )
    if amount > rules.max_top_up:
        raise TopUpTooLarge(
            f"A top-up is at most {rules.max_top_up} cents.", max_top_up=rules.max_top_up
        )
    if balance + amount > rules.max_balance:
        raise BalanceLimitExceeded(
            f"A wallet holds at most {rules.max_balance} cents; the balance is {balance}.",
            max_balance=rules.max_balance,
        )


# Top-up ids are derived from the request (see ``start_top_up``), in this namespace.
_TOP_UP_IDS = uuid.UUID("5f0c1a52-7d0e-4c8e-9a51-2b7f3b0f6a10")


@dataclass(frozen=True)
class StartedTopUp:
    """A top-up its provider has started, not yet recorded."""

    top_up: TopUp
    started: providers.Started
    rules: Limits
    called_out: bool


def start_top_up(user_id: uuid.UUID, amount: int, reference: str) -> StartedTopUp:
    """Check the limits and start the payment with the configured provider; writes nothing.

    ``reference`` names the request (the same for a retry of it), and the top-up's id is
    derived from it: Stripe, asked again for the same top-up after a timeout or a crash,
    answers with the PaymentIntent it made the first time (the id is its idempotency key)
    instead of making a second one. A provider that calls out runs with no database
    transaction open (``end_read_transaction``): Stripe may take seconds to answer.
    """
    account = ledger.wallet_account(user_id)
    rules = limits()
    _check_limits(ledger.balance_of(account), amount, rules)
    provider = providers.provider()
    top_up = TopUp(
        id=uuid.uuid5(_TOP_UP_IDS, reference),
        user_id=user_id,
        amount=amount,
        currency=account.unit,
        provider=provider.name,
        status=TopUpStatus.PENDING,
        created_at=utcnow(),
    )
    if provider.calls_out:
        end_read_transaction()
    return StartedTopUp(top_up, provider.start(top_up), rules, provider.calls_out)


def record_top_up(payment: StartedTopUp) -> TopUp:
    """Keep a started top-up; the sandbox's is settled at once."""
    top_up, started, rules = payment.top_up, payment.started, payment.rules
    earlier = db.session.get(TopUp, top_up.id)
    if earlier is not None:
        # The same request once more after its Idempotency-Key was purged: the same top-up.
        return earlier
    if payment.called_out:
        # The balance may have moved while the provider answered.
        balance = ledger.balance_of(ledger.wallet_account(top_up.user_id))
        _check_limits(balance, top_up.amount, rules)
    top_up.provider_ref = started.provider_ref
    top_up.client_secret = started.client_secret
    db.session.add(top_up)
    db.session.flush()
    if started.status is TopUpStatus.SUCCEEDED:
        # Synchronous providers: a wallet over its limit is a 422 and nothing is kept.
        _credit(top_up, rules.max_balance)
    elif started.status is TopUpStatus.FAILED:
        _finish(top_up, TopUpStatus.FAILED, started.failure_reason or "declined")
    db.session.flush()
    return top_up


def get_top_up(user_id: uuid.UUID, top_up_id: uuid.UUID) -> TopUp:
    top_up = db.session.get(TopUp, top_up_id)
    if top_up is None or top_up.user_id != user_id:
        raise TopUpNotFound("No such top-up.")
    return top_up


def _credit(top_up: TopUp, max_balance: int) -> None:
    transaction = ledger.transfer(
        "top_up",
        ledger.system_account_id(AccountKind.TOPUP_CLEARING),
        ledger.wallet_account(top_up.user_id),
        top_up.amount,
        memo="Top-up",
        meta={"top_up_id": str(top_up.id), "provider": top_up.provider},
        max_balance=max_balance,
    )
    top_up.transaction_id = transaction.public_id
    _finish(top_up, TopUpStatus.SUCCEEDED)


def _finish(top_up: TopUp, status: TopUpStatus, reason: str | None = None) -> None:
    top_up.status = status
    top_up.failure_reason = reason
    top_up.completed_at = utcnow()
    log.info(
        "wallet:topup:%s top_up=%s user=%s amount=%s provider=%s",
        status.value,
        top_up.id,
        top_up.user_id,
        top_up.amount,
        top_up.provider,
    )


# --- webhooks --------------------------------------------------------------------------


def handle_webhook(provider_name: str, payload: bytes, headers: dict[str, str]) -> str:
    """Apply one verified provider event; returns what happened (for the answer and logs).

    Exactly-once crediting rests on two guards, both under the top-up's row lock: the
    event id is recorded once (a redelivery finds it), and only a top-up that was not
    credited can be credited (a different event about the same payment finds it settled).

    A failed attempt is not the end of a Stripe payment: the customer may retry on the same
    PaymentIntent with another card, so a ``failed`` top-up still becomes ``succeeded``
    when its payment later succeeds. A failure never overrides a success.
    """
    provider = providers.provider(provider_name)
    event = provider.parse_webhook(payload, headers)
    if event.outcome is None or event.provider_ref is None:
        return "ignored"
    top_up = db.session.scalar(
        select(TopUp)
        .where(TopUp.provider == provider.name, TopUp.provider_ref == event.provider_ref)
        .with_for_update()
    )
    if top_up is None:
        # Not ours (or from before a reset): acknowledge so the provider stops retrying.
        log.warning("wallet:webhook:unknown provider=%s event=%s", provider.name, event.id)
        return "unknown_payment"
    record = _record_event(provider.name, event, top_up)
    if record is None:
        return "duplicate"
    if event.outcome == "failed":
        if top_up.status is TopUpStatus.PENDING:
            _finish(top_up, TopUpStatus.FAILED, event.failure_reason or "payment failed")
            outcome = "failed"
        else:
            outcome = "already_settled"
    elif top_up.status not in (TopUpStatus.PENDING, TopUpStatus.FAILED):
        outcome = "already_settled"
    elif (event.amount, event.currency) != (top_up.amount, top_up.currency):
        # Never credit what was not paid; leave it pending for a person to look at.
        log.error("wallet:webhook:mismatch top_up=%s event=%s", top_up.id, event.id)
        outcome = "amount_mismatch"
    else:
        outcome = _credit_paid(top_up)
    record.outcome = outcome
    return outcome


def _credit_paid(top_up: TopUp) -> str:
    # The ledger checks every rule before it writes anything, so a refusal leaves nothing
    # to roll back (no savepoint, which would also undo accounts opened on the way).
    try:
        _credit(top_up, limits().max_balance)
    except BalanceLimitExceeded:
        _finish(top_up, TopUpStatus.REFUND_DUE, "balance_limit_exceeded")
        return "refund_due"
    return "succeeded"


def _record_event(
    provider_name: str, event: providers.PaymentEvent, top_up: TopUp
) -> WebhookEvent | None:
    """Remember the event id; None when it was handled before."""
    record = WebhookEvent(
        provider=provider_name,
        event_id=event.id,
        event_type=event.type[:100],
        top_up_id=top_up.id,
        outcome="received",
        received_at=utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(record)
    except IntegrityError:
        return None
    return record
