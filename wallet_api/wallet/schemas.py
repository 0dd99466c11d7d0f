from collections.abc import Mapping
from typing import Any, Protocol

import marshmallow as ma

from wallet_api.extensions import Schema
from wallet_api.wallet.models import TopUpStatus


class LimitsSchema(Schema):
    max_balance = ma.fields.Integer(required=True, metadata={"description": "cents"})
    min_top_up = ma.fields.Integer(required=True, metadata={"description": "cents"})
    max_top_up = ma.fields.Integer(required=True, metadata={"description": "cents"})


class WalletSchema(Schema):
    balance = ma.fields.Integer(required=True, metadata={"description": "cents"})
    currency = ma.fields.String(required=True, metadata={"description": "ISO 4217"})
    limits = ma.fields.Nested(LimitsSchema, required=True)


class PartySchema(Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(allow_none=True)


class CounterpartySchema(Schema):
    """Who was on the other side: a person, or the email or phone a gift was sent to."""

    kind = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(["user", "email", "phone"]),
        metadata={
            "description": "user (a person: id, handle, first_name), or email or phone "
            "(a gift sent to an address, shown masked)"
        },
    )
    id = ma.fields.UUID(metadata={"description": "user: their id"})
    handle = ma.fields.String(
        allow_none=True, metadata={"description": "user: their handle; null for a former member"}
    )
    first_name = ma.fields.String(
        allow_none=True,
        metadata={"description": "user: their first name; null for a former member"},
    )
    masked = ma.fields.String(
        metadata={"description": "email or phone: e.g. a***@example.com, +316******78"}
    )


class ItemSchema(Schema):
    name = ma.fields.String(allow_none=True)
    size = ma.fields.String(allow_none=True)
    quantity = ma.fields.Integer(allow_none=True)
    unit_price = ma.fields.Integer(allow_none=True, metadata={"description": "cents"})


class _HistoryEntry(Protocol):
    """What the methods below read of a ledger history entry."""

    @property
    def kind(self) -> str: ...
    @property
    def meta(self) -> Mapping[str, Any]: ...


class WalletTransactionSchema(Schema):
    id = ma.fields.UUID(
        attribute="transaction_id", required=True, metadata={"description": "transaction id"}
    )
    kind = ma.fields.String(
        required=True, metadata={"description": "top_up, charge, refund, transfer, gift, ..."}
    )
    amount = ma.fields.Integer(
        required=True, metadata={"description": "cents; positive credits this wallet"}
    )
    balance_after = ma.fields.Integer(required=True, allow_none=True)
    counterparty = ma.fields.Nested(
        CounterpartySchema,
        required=True,
        allow_none=True,
        metadata={
            "description": "The other side, as they are now: a transfer's other person, a "
            "gift's recipient (to the giver, also on its refund: the person, or the address "
            "masked) or giver (to the recipient), the friend who used an allowance (to its "
            "owner). Null where there is none (top-ups, charges: see store)."
        },
    )
    store = ma.fields.Nested(PartySchema, allow_none=True)
    items = ma.fields.List(ma.fields.Nested(ItemSchema), required=True)
    memo = ma.fields.String(required=True)
    # A charge's receipt and loyalty, as its ledger row recorded them at the time.
    charge_id = ma.fields.Method(
        "_charge_id",
        metadata={
            "type": ["string", "null"],
            "format": "uuid",
            "description": "The charge this is about (a charge, its refund, an apology, "
            "goodwill given for it): GET /v1/charges/{id}",
        },
    )
    subtotal = ma.fields.Method(
        "_subtotal",
        metadata={"type": ["integer", "null"], "description": "A charge: menu price, cents"},
    )
    discount = ma.fields.Method(
        "_discount",
        metadata={"type": ["integer", "null"], "description": "A charge: taken off by offers"},
    )
    offers = ma.fields.Method(
        "_offers",
        metadata={
            "type": "array",
            "items": {"type": "string"},
            "description": "A charge: receipt lines of the offers applied",
        },
    )
    points = ma.fields.Method(
        "_points",
        metadata={
            "type": ["integer", "null"],
            "description": "Loyalty points a charge earned (positive) or a refund took "
            "back (negative)",
        },
    )
    created_at = ma.fields.AwareDateTime(required=True)

    def _charge_id(self, entry: _HistoryEntry) -> str | None:
        value = entry.meta.get("charge_id")
        return value if isinstance(value, str) else None

    def _subtotal(self, entry: _HistoryEntry) -> int | None:
        return _integer(entry.meta.get("subtotal")) if entry.kind == "charge" else None

    def _discount(self, entry: _HistoryEntry) -> int | None:
        return _integer(entry.meta.get("discount")) if entry.kind == "charge" else None

    def _offers(self, entry: _HistoryEntry) -> list[str]:
        offers = entry.meta.get("offers") if entry.kind == "charge" else None
        return [o for o in offers if isinstance(o, str)] if isinstance(offers, list) else []

    def _points(self, entry: _HistoryEntry) -> int | None:
        if entry.kind == "charge":
            return _integer(entry.meta.get("points_earned"))
        if entry.kind == "refund":
            reversed_ = _integer(entry.meta.get("points_reversed"))
            return -reversed_ if reversed_ is not None else None
        return None


def _integer(value: object) -> int | None:
    # Rows written before loyalty met the charges have no such keys: null, not an error.
    return value if type(value) is int else None


class TopUpCreateSchema(Schema):
    amount = ma.fields.Integer(
        required=True,
        strict=True,
        validate=ma.validate.Range(min=1),
        metadata={"description": "cents"},
    )


class TopUpSchema(Schema):
    id = ma.fields.UUID(required=True)
    amount = ma.fields.Integer(required=True, metadata={"description": "cents"})
    currency = ma.fields.String(required=True)
    provider = ma.fields.String(required=True, metadata={"description": "sandbox or stripe"})
    status = ma.fields.Enum(
        TopUpStatus,
        by_value=True,
        required=True,
        metadata={
            "description": "pending (waiting for the payment), succeeded (credited once), "
            "failed (nothing credited), refund_due (paid, but the wallet was full: nothing "
            "credited, the payment is refunded)"
        },
    )
    provider_reference = ma.fields.String(
        attribute="provider_ref",
        allow_none=True,
        metadata={"description": "the provider's payment id (Stripe: the PaymentIntent id)"},
    )
    client_secret = ma.fields.String(
        allow_none=True,
        metadata={"description": "Stripe: the PaymentIntent client secret the app confirms"},
    )
    failure_reason = ma.fields.String(allow_none=True)
    transaction_id = ma.fields.UUID(
        allow_none=True, metadata={"description": "the ledger transaction that credited it"}
    )
    created_at = ma.fields.AwareDateTime(required=True)
    completed_at = ma.fields.AwareDateTime(allow_none=True)


class WebhookAckSchema(Schema):
    received = ma.fields.Boolean(required=True)
    outcome = ma.fields.String(
        required=True,
        metadata={
            "description": "succeeded, failed, refund_due, duplicate, already_settled, "
            "unknown_payment, amount_mismatch or ignored"
        },
    )
