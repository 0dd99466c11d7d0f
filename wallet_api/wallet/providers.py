"""Payment providers behind one small interface.

A provider *starts* a top-up (``start``) and, if it pays asynchronously, turns its signed
webhook calls into :class:`PaymentEvent` values (``parse_webhook``). The wallet service
decides what an event does to a top-up and the ledger; providers never touch either.

* ``sandbox``, the embedded default: succeeds at once, except for the amounts listed in
  ``WALLET_SANDBOX_DECLINE_AMOUNTS`` (default ``1313``), which it declines.
* ``stripe``: creates a PaymentIntent through Stripe's API and answers ``pending`` with the
  client secret the app confirms the payment with; Stripe's ``payment_intent.succeeded``
  webhook later credits the wallet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import stripe
from flask import current_app

from wallet_api.wallet.errors import (
    PaymentProviderUnavailable,
    UnknownPaymentProvider,
    WebhookSignatureInvalid,
)
from wallet_api.wallet.models import TopUp, TopUpStatus


@dataclass(frozen=True)
class Started:
    """What a provider says right after a top-up was created."""

    status: TopUpStatus
    provider_ref: str | None = None
    client_secret: str | None = None
    failure_reason: str | None = None


@dataclass(frozen=True)
class PaymentEvent:
    """A verified provider event about one payment."""

    id: str
    type: str
    provider_ref: str | None
    # ``succeeded``, ``failed`` or None for events the wallet does not act on.
    outcome: str | None
    amount: int | None = None
    currency: str | None = None
    failure_reason: str | None = None


class PaymentProvider(Protocol):
    name: str
    # Whether ``start`` calls another service over the network (and may take seconds):
    # the caller then holds no database transaction while it runs.
    calls_out: bool

    def start(self, top_up: TopUp) -> Started: ...

    def parse_webhook(self, payload: bytes, headers: dict[str, str]) -> PaymentEvent: ...


class SandboxProvider:
    name = "sandbox"
    calls_out = False

    def __init__(self, decline_amounts: tuple[int, ...]) -> None:
        self.decline_amounts = frozenset(decline_amounts)

    def start(self, top_up: TopUp) -> Started:
        if top_up.amount in self.decline_amounts:
            return Started(TopUpStatus.FAILED, failure_reason="declined by the sandbox")
        return Started(TopUpStatus.SUCCEEDED, provider_ref=f"sandbox_{top_up.id.hex}")

    def parse_webhook(self, payload: bytes, headers: dict[str, str]) -> PaymentEvent:
        raise UnknownPaymentProvider("The sandbox provider sends no webhooks.")


@lru_cache(maxsize=4)
def _stripe_client(api_key: str, api_base: str | None, timeout: int) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        # Not None: before stripe 13 the client spreads this into its defaults.
        base_addresses={"api": api_base} if api_base else {},
        # The SDK's default waits 80 seconds for an answer; the customer is waiting too.
        http_client=stripe.RequestsClient(timeout=timeout),
        # One retry rides out a dropped keep-alive connection, a 5xx or Stripe's 409 for a
        # concurrent request with the same key, and resends the same idempotency key, so
        # Stripe still creates one PaymentIntent. More would keep the worker (and the
        # customer) waiting several timeouts; the app retries with its Idempotency-Key.
        max_network_retries=1,
    )


class StripeProvider:
    name = "stripe"
    calls_out = True

    def __init__(
        self,
        secret_key: str | None,
        webhook_secret: str | None,
        tolerance: int,
        api_base: str | None = None,
        timeout: int = 5,
    ) -> None:
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.tolerance = tolerance
        self.api_base = api_base
        self.timeout = timeout

    def start(self, top_up: TopUp) -> Started:
        if not self.secret_key:
            raise PaymentProviderUnavailable("Stripe is not configured.")
        client = _stripe_client(self.secret_key, self.api_base, self.timeout)
        try:
            intent = client.v1.payment_intents.create(
                params={
                    "amount": top_up.amount,
                    "currency": top_up.currency.lower(),
                    "metadata": {"top_up_id": str(top_up.id)},
                    "automatic_payment_methods": {"enabled": True},
                },
                # One top-up is one PaymentIntent, however often this call is retried.
                options={"idempotency_key": str(top_up.id)},
            )
        except stripe.StripeError as exc:
            current_app.logger.warning("stripe: creating a PaymentIntent failed: %s", exc)
            raise PaymentProviderUnavailable(
                "The payment could not be started; try again shortly."
            ) from exc
        return Started(
            TopUpStatus.PENDING, provider_ref=intent.id, client_secret=intent.client_secret
        )

    def parse_webhook(self, payload: bytes, headers: dict[str, str]) -> PaymentEvent:
        if not self.webhook_secret:  # nothing verifies (older stripe versions would crash)
            raise WebhookSignatureInvalid("No Stripe webhook secret is configured.")
        try:
            # Stripe's own check: HMAC-SHA256 of "<t>.<body>" against every v1 signature,
            # and the timestamp no older than the tolerance (against the wall clock, which
            # is what Stripe signs with). Given text: stripe 12 and 13 would check bytes
            # by their repr. Not UTF-8 is a ValueError, refused like a bad signature.
            text = payload.decode("utf-8")
            stripe.WebhookSignature.verify_header(
                text, headers.get("Stripe-Signature"), self.webhook_secret, self.tolerance
            )
            event = json.loads(text)
        except (stripe.SignatureVerificationError, ValueError) as exc:
            raise WebhookSignatureInvalid(
                "The Stripe-Signature header does not verify this payload."
            ) from exc
        return _payment_event(event)


_OUTCOMES = {
    "payment_intent.succeeded": "succeeded",
    "payment_intent.payment_failed": "failed",
    "payment_intent.canceled": "failed",
}


def _payment_event(event: Any) -> PaymentEvent:
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        raise WebhookSignatureInvalid("The payload is not a Stripe event.")
    event_type = str(event.get("type", ""))
    obj = (event.get("data") or {}).get("object") or {}
    if not isinstance(obj, dict) or obj.get("object") != "payment_intent":
        return PaymentEvent(id=event["id"], type=event_type, provider_ref=None, outcome=None)
    error = obj.get("last_payment_error") or {}
    reason = None
    if event_type != "payment_intent.succeeded":
        reason = error.get("message") or error.get("code") or obj.get("cancellation_reason")
    amount = obj.get("amount_received") or obj.get("amount")
    return PaymentEvent(
        id=event["id"],
        type=event_type,
        provider_ref=obj.get("id"),
        outcome=_OUTCOMES.get(event_type),
        amount=amount if isinstance(amount, int) else None,
        currency=str(obj.get("currency", "")).upper() or None,
        failure_reason=str(reason)[:255] if reason else None,
    )


def provider(name: str | None = None) -> PaymentProvider:
    """The configured provider (or the one named, for webhooks)."""
    config = current_app.config
    name = name or config["WALLET_PAYMENT_PROVIDER"]
    if name == "sandbox":
        return SandboxProvider(config["WALLET_SANDBOX_DECLINE_AMOUNTS"])
    if name == "stripe":
        return StripeProvider(
            config["WALLET_STRIPE_SECRET_KEY"],
            config["WALLET_STRIPE_WEBHOOK_SECRET"],
            config["WALLET_STRIPE_WEBHOOK_TOLERANCE"],
            config["WALLET_STRIPE_API_BASE"],
            config["WALLET_STRIPE_TIMEOUT_SECONDS"],
        )
    raise UnknownPaymentProvider(f"No payment provider called {name!r}.")
