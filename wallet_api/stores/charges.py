"""Charges at the counter and their refunds.

A charge is one request: the code is consumed, the wallet pays the store and the receipt
is written in the same database transaction. When anything fails (not enough credit, a
closed wallet, a price that cannot be computed) the request rolls back as a whole and the
code can be used again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from wallet_api.audit.service import record_event
from wallet_api.catalog.service import PricedLine, price_lines
from wallet_api.clock import utcnow
from wallet_api.extensions import db
from wallet_api.extensions.auth import DEVICE, Principal
from wallet_api.extensions.problems import ValidationFailed
from wallet_api.ledger import service as ledger
from wallet_api.ledger.models import AccountKind, LedgerTransaction
from wallet_api.stores.codes import ScannedCode, resolve_code
from wallet_api.stores.errors import ChargeNotFound, CodeNotChargeable, RefundExceedsCharge
from wallet_api.stores.models import Charge, ChargeLine, Refund, Store
from wallet_api.stores.scanning import customer_of, greeting, open_wallet
from wallet_api.stores.service import acts_for, counter_store


@dataclass(frozen=True)
class ChargeResult:
    charge: Charge
    balance: int | None  # what the till may show: see ChargeCreatedSchema.balance
    currency: str
    greeting: str


# What a charge does depends on the kind of code: "pay" takes money from the wallet;
# allowance, gift and reward codes register their own handlers.
ChargeHandler = Callable[[Principal, Store, ScannedCode, Mapping[str, Any]], ChargeResult]
_handlers: dict[str, ChargeHandler] = {}


def register_charge_handler(kind: str, handler: ChargeHandler) -> None:
    _handlers[kind] = handler


def create_charge(principal: Principal, data: Mapping[str, Any]) -> ChargeResult:
    store = counter_store(principal, data.get("store_id"))
    scanned = resolve_code(data["code"])
    handler = _handlers.get(scanned.kind)
    if handler is None:
        raise CodeNotChargeable(f"A {scanned.kind} code cannot be charged yet.")
    return handler(principal, store, scanned, data)


# --- building blocks for charge handlers -------------------------------------------------


def priced_order(
    data: Mapping[str, Any], *, viewer_id: uuid.UUID | None
) -> tuple[list[PricedLine], int]:
    """The lines and total of an order: items priced on the server, or a till amount."""
    if data.get("items"):
        priced = price_lines(data["items"], viewer_id=viewer_id)
        return priced, sum(line.total for line in priced)
    if data.get("amount") is None:
        # Only gift codes are charged with neither: their contents are fixed.
        raise ValidationFailed(errors={"items": ["Give either items or amount."]})
    return [], data["amount"]


def store_ref(store: Store) -> dict[str, str]:
    return {"id": str(store.id), "name": store.name}


def sale_meta(
    store: Store, charge_id: uuid.UUID, lines: Sequence[PricedLine], **extra: Any
) -> dict[str, Any]:
    """What a history row of a sale needs: the store, the items and the charge."""
    return {
        "store": store_ref(store),
        "items": [line.receipt() for line in lines],
        "charge_id": str(charge_id),
        **extra,
    }


def record_charge(
    principal: Principal,
    store: Store,
    scanned: ScannedCode,
    *,
    charge_id: uuid.UUID,
    customer_id: uuid.UUID,
    amount: int,
    currency: str,
    transaction: LedgerTransaction,
    lines: Sequence[PricedLine],
) -> Charge:
    """The receipt of a sale whose money the handler has just posted.

    ``customer_id`` is the wallet that paid, which is where refunds go: the customer's
    own for "pay", the allowance owner's, the giver's for a gift.
    """
    charge = Charge(
        id=charge_id,
        store_id=store.id,
        customer_id=customer_id,
        kind=scanned.kind,
        code_source=scanned.source,
        code_source_id=scanned.source_id,
        device_id=principal.id if principal.kind == DEVICE else None,
        staff_user_id=None if principal.kind == DEVICE else principal.id,
        amount=amount,
        currency=currency,
        refunded_amount=0,
        ledger_transaction_id=transaction.public_id,
        created_at=utcnow(),
        lines=[
            ChargeLine(
                position=position,
                kind=line.kind,
                item_id=line.item_id,
                name=line.name,
                size=line.size,
                quantity=line.quantity,
                unit_price=line.unit_price,
            )
            for position, line in enumerate(lines)
        ],
    )
    db.session.add(charge)
    db.session.flush()
    return charge


def _charge_wallet(
    principal: Principal, store: Store, scanned: ScannedCode, data: Mapping[str, Any]
) -> ChargeResult:
    customer = customer_of(scanned)
    wallet = open_wallet(customer)
    priced, amount = priced_order(data, viewer_id=customer.id)
    scanned.consume()
    charge_id = uuid.uuid4()
    transaction = ledger.transfer(
        "charge",
        wallet,
        ledger.system_account(AccountKind.STORE_SALES, store.id),
        amount,
        memo=store.name,
        meta=sale_meta(store, charge_id, priced),
    )
    charge = record_charge(
        principal,
        store,
        scanned,
        charge_id=charge_id,
        customer_id=customer.id,
        amount=amount,
        currency=wallet.unit,
        transaction=transaction,
        lines=priced,
    )
    return ChargeResult(
        charge, ledger.balance_of(wallet), wallet.unit, greeting(customer.first_name, store)
    )


register_charge_handler("pay", _charge_wallet)


def _visible(principal: Principal, charge: Charge, *, customer: bool) -> bool:
    if customer and principal.kind != DEVICE and principal.id == charge.customer_id:
        return True
    return acts_for(principal, charge.store_id)


def get_charge(principal: Principal, charge_id: uuid.UUID) -> Charge:
    """For the customer who paid, and the devices, staff and admins of that store."""
    charge = db.session.get(Charge, charge_id)
    if charge is None or not _visible(principal, charge, customer=True):
        raise ChargeNotFound("No such charge.")
    return charge


def refund_charge(
    principal: Principal, charge_id: uuid.UUID, *, amount: int, reason: str
) -> Refund:
    """Money back to the wallet that paid, by the store that charged (or an admin)."""
    # The charge row lock serialises refunds of one charge, so together they never exceed
    # it; the CHECK constraint on refunded_amount would refuse it anyway.
    charge = db.session.scalars(
        select(Charge)
        .where(Charge.id == charge_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if charge is None or not _visible(principal, charge, customer=False):
        raise ChargeNotFound("No such charge.")
    if amount > charge.refundable:
        raise RefundExceedsCharge(
            f"At most {charge.refundable} cents of this charge can still be refunded.",
            refundable=charge.refundable,
        )
    store = charge.store
    refund_id = uuid.uuid4()
    # Refunds restore money the customer had, so the maximum balance does not apply.
    transaction = ledger.transfer(
        "refund",
        ledger.system_account(AccountKind.STORE_REFUNDS, store.id),
        ledger.wallet_account(charge.customer_id),
        amount,
        memo=reason,
        meta={
            "store": store_ref(store),
            "charge_id": str(charge.id),
            "refund_id": str(refund_id),
            "reason": reason,
        },
    )
    refund = Refund(
        id=refund_id,
        charge_id=charge.id,
        store_id=store.id,
        amount=amount,
        reason=reason,
        actor_kind=principal.kind,
        actor_id=principal.id,
        ledger_transaction_id=transaction.public_id,
        created_at=utcnow(),
    )
    charge.refunded_amount += amount
    db.session.add(refund)
    record_event(
        "store:refund:created",
        actor=principal,
        subject=f"charge:{charge.id}",
        data={
            "refund_id": str(refund_id),
            "amount": amount,
            "currency": charge.currency,
            "reason": reason,
            "store": {"id": str(store.id), "name": store.name},
            "customer_id": str(charge.customer_id),
        },
    )
    db.session.flush()
    return refund
