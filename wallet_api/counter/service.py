"""Charges at the counter and their refunds.

A charge is one request: the code is consumed, the money is posted and the receipt is
written, all in the same database transaction. When anything fails (not enough credit, a
closed wallet, a price that cannot be computed) the request rolls back as a whole and the
code can be used again.

Every kind of code is charged by its own handler (``registry.CodeKind``), and every
handler follows one recipe, ``sell``: the kind settles the sale (who pays, who drinks,
the lines and amounts), then the counter uses up the code, the kind posts the money, the
counter records the charge, the kind does what follows (a notification, points), and the
till gets its answer. ``record_charge`` also asks the person who drank (not the payer of a
gift or an allowance) how it was: one inbox message a day at most, sent in the charge's
transaction by one statement.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from wallet_api.audit.service import record_event
from wallet_api.catalog.service import PricedLine, price_lines
from wallet_api.clock import utcnow
from wallet_api.counter.errors import ChargeNotFound, CodeNotChargeable, RefundExceedsCharge
from wallet_api.counter.models import Charge, ChargeLine, Refund
from wallet_api.counter.registry import (
    ScannedCode,
    charge_handler,
    charge_recorded_hooks,
    refund_hooks,
    resolve_code,
)
from wallet_api.counter.scanning import greeting
from wallet_api.extensions import db
from wallet_api.extensions.auth import DEVICE, Principal
from wallet_api.extensions.fixed import FixedStatement
from wallet_api.extensions.problems import GrantToSelf, ValidationFailed
from wallet_api.ledger import service as ledger
from wallet_api.ledger.models import AccountKind, LedgerTransaction
from wallet_api.social import service as social
from wallet_api.social.models import NotificationKind
from wallet_api.stores.models import Store
from wallet_api.stores.reports import day_bounds
from wallet_api.stores.service import acts_for, counter_store


@dataclass(frozen=True)
class Receipt:
    """A charge just made, as its response shows it: built from the values written.

    Not an ORM ``Charge``: constructing and instrumenting that object and its lines cost
    ~0.25 ms of a charge's CPU for a response that only reads them. A later read of the
    charge (``GET /v1/charges/{id}``, a refund) loads the ORM object from the table.
    """

    id: uuid.UUID
    kind: str
    store: Store
    customer_id: uuid.UUID
    amount: int
    discount: int
    offers: list[str]
    points_earned: int
    currency: str
    refunded_amount: int
    created_at: datetime
    lines: Sequence[PricedLine]
    ledger_transaction_id: uuid.UUID  # the money's posting, as on ``Charge``
    refunds: Sequence[Refund] = ()

    @property
    def subtotal(self) -> int:
        return self.amount + self.discount


@dataclass(frozen=True)
class ChargeResult:
    charge: Receipt
    balance: int | None  # what the till may show: see ChargeCreatedSchema.balance
    currency: str
    greeting: str


def create_charge(principal: Principal, data: Mapping[str, Any]) -> ChargeResult:
    store = counter_store(principal, data.get("store_id"))
    scanned = resolve_code(data["code"])
    handler = charge_handler(scanned.kind)
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


@dataclass(frozen=True)
class Sale:
    """What a kind of code settles of one charge before its code is used up."""

    payer_id: uuid.UUID  # whose wallet paid, where refunds go: not always the drinker's
    drinker_first_name: str | None  # greeted, and asked how it was; None: no account
    lines: Sequence[PricedLine]
    amount: int  # what the payer's wallet paid
    currency: str
    discount: int = 0  # what offers (or a reward) took off, paid by the chain
    offers: Sequence[str] = ()  # their receipt lines


@dataclass(frozen=True)
class Posted:
    """The money of a sale, posted: its ledger transaction, and the points it earned."""

    transaction: LedgerTransaction
    points_earned: int = 0


def sell(
    principal: Principal,
    store: Store,
    scanned: ScannedCode,
    sale: Sale,
    *,
    post: Callable[[uuid.UUID], Posted],
    then: Callable[[Receipt], int | None] | None = None,
    consume: Callable[[], object] | None = None,
) -> ChargeResult:
    """The recipe of every charge, whatever its kind; the handler passes what differs.

    The handler has settled the ``sale`` (and taken its locks). Then, in this order: the
    code is used up (``consume``, when the kind needs more than ``scanned.consume()``:
    a reward is redeemed at a store); ``post(charge_id)`` moves the money, naming the new
    charge in the ledger's meta; the charge is recorded (``record_charge``);
    ``then(receipt)`` does what follows for the kind (a notification, blends' counts) and
    returns the balance the till may show (None: none to show).
    """
    (consume or scanned.consume)()
    charge_id = uuid.uuid4()
    posted = post(charge_id)
    receipt = record_charge(
        principal,
        store,
        scanned,
        charge_id=charge_id,
        customer_id=sale.payer_id,
        amount=sale.amount,
        currency=sale.currency,
        transaction=posted.transaction,
        lines=sale.lines,
        drinker_first_name=sale.drinker_first_name,
        discount=sale.discount,
        offers=sale.offers,
        points_earned=posted.points_earned,
    )
    balance = then(receipt) if then is not None else None
    return ChargeResult(receipt, balance, sale.currency, greeting(sale.drinker_first_name, store))


# Built once: every charge writes its receipt with them.
_INSERT_CHARGE = FixedStatement(insert(Charge.__table__))
_INSERT_CHARGE_LINES = FixedStatement(insert(ChargeLine.__table__))


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
    drinker_first_name: str | None,
    discount: int = 0,
    offers: Sequence[str] = (),
    points_earned: int = 0,
) -> Receipt:
    """The receipt of a sale whose money the handler has just posted.

    ``customer_id`` is the wallet that paid, which is where refunds go: the customer's
    own for "pay", the allowance owner's, the giver's for a gift. The person whose code
    was scanned (``scanned.customer_id``, by ``drinker_first_name``) is asked how it was.
    """
    at = utcnow()
    row = {
        "id": charge_id,
        "store_id": store.id,
        "customer_id": customer_id,
        "drinker_id": scanned.customer_id,
        "kind": scanned.kind,
        "code_source": scanned.source,
        "code_source_id": scanned.source_id,
        "device_id": principal.id if principal.kind == DEVICE else None,
        "staff_user_id": None if principal.kind == DEVICE else principal.id,
        "amount": amount,
        "discount": discount,
        "offers": list(offers),
        "points_earned": points_earned,
        "currency": currency,
        "refunded_amount": 0,
        "ledger_transaction_id": transaction.public_id,
        "created_at": at,
    }
    line_rows = [
        {
            "charge_id": charge_id,
            "position": position,
            "kind": line.kind,
            "item_id": line.item_id,
            "name": line.name,
            "size": line.size,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
        }
        for position, line in enumerate(lines)
    ]
    # Core inserts, not the unit of work: one statement for the charge, one executemany for
    # its lines, on the money path of every charge. Nothing else in the request holds the
    # charge as an ORM object (others refer to it by id); a later read gets it from the table.
    _INSERT_CHARGE.execute(row)
    if line_rows:
        _INSERT_CHARGE_LINES.execute(line_rows)
    # Whoever drinks a blend may now rate it with a rating that counts (and one they made
    # before counts from now on): the blends' hook, which locks the blends ordered.
    for hook in charge_recorded_hooks():
        hook(scanned.customer_id, lines)
    # What the handler left pending is written now, as before, so that its errors surface
    # in the handler and not at the commit after the response was built.
    db.session.flush()
    if scanned.customer_id is not None and drinker_first_name:
        _ask_how_it_was(scanned.customer_id, drinker_first_name, store, charge_id, lines, at)
    return Receipt(
        id=charge_id,
        kind=scanned.kind,
        store=store,
        customer_id=customer_id,
        amount=amount,
        discount=discount,
        offers=list(offers),
        points_earned=points_earned,
        currency=currency,
        refunded_amount=0,
        created_at=at,
        lines=list(lines),
        ledger_transaction_id=transaction.public_id,
    )


def _ask_how_it_was(
    drinker_id: uuid.UUID,
    first_name: str,
    store: Store,
    charge_id: uuid.UUID,
    lines: Sequence[PricedLine],
    at: datetime,
) -> None:
    """One question in the drinker's inbox, at most one a day (the store's day).

    The charge is new, so it cannot have been rated yet; a replayed charge request answers
    from its idempotency key and does not get here. One statement on the charge path.
    """
    if len(lines) == 1 and lines[0].quantity == 1:
        title = f"how was your {lines[0].name} at {store.name}?"
    else:
        title = f"how was your visit to {store.name}?"
    social.notify_unless_sent_since(
        drinker_id,
        first_name,
        NotificationKind.RATE_VISIT,
        since=day_bounds(store, at.astimezone(ZoneInfo(store.timezone)).date())[0],
        title=title,
        body="Rate it in the app: it takes a second, and the team reads every rating.",
        data={"charge_id": charge_id, "store": store_ref(store)},
    )


def charge_ref(charge: Charge | Receipt) -> dict[str, Any]:
    """A charge as other domains' ledger meta name it: its id and its store."""
    return {"id": str(charge.id), "store": store_ref(charge.store)}


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
    """Money back to the wallet that paid, by the store that charged (or an admin).

    The points the charge earned are taken back in proportion (loyalty keeps the rule,
    in its ``on_refund`` hook).
    """
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
    if principal.kind != DEVICE and principal.id == charge.customer_id:
        # Staff paying at their own store and refunding themselves would drink for free.
        raise GrantToSelf("Your own purchase is refunded by another staff member or an admin.")
    if amount > charge.refundable:
        raise RefundExceedsCharge(
            f"At most {charge.refundable} cents of this charge can still be refunded.",
            refundable=charge.refundable,
        )
    store = charge.store
    refund_id = uuid.uuid4()
    wallet = ledger.wallet_account(charge.customer_id)
    ledger.lock_customer_accounts([wallet.id])  # wallet before loyalty, as at the charge
    # Loyalty takes back the points the refunded part earned (its hook, registered by
    # wallet_api.loyalty), under the wallet's lock, before the money moves.
    points = sum(hook(charge, amount) for hook in refund_hooks())
    # Refunds restore money the customer had, so the maximum balance does not apply.
    transaction = ledger.transfer(
        "refund",
        ledger.system_account(AccountKind.STORE_REFUNDS, store.id),
        wallet,
        amount,
        memo=reason,
        meta={
            "store": store_ref(store),
            "charge_id": str(charge.id),
            "refund_id": str(refund_id),
            "reason": reason,
            "points_reversed": points,
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
        points_reversed=points,
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
            "store": store_ref(store),
            "customer_id": str(charge.customer_id),
            "points_reversed": points,
        },
    )
    db.session.flush()
    return refund


def charge_for_goodwill(principal: Principal, charge_id: uuid.UUID) -> Charge:
    """The charge staff make right: staff of its store (any admin); others get 404."""
    charge = db.session.get(Charge, charge_id)
    if charge is None or not _visible(principal, charge, customer=False):
        raise ChargeNotFound("No such charge.")
    return charge


def home_timezone(user_id: uuid.UUID) -> str | None:
    """A person's time zone as far as the chain can tell: that of the store of their most
    recent visit (as the one who drank), else of the chain's first store; None before
    any store exists."""
    recent = db.session.scalar(
        select(Store.timezone)
        .join(Charge, Charge.store_id == Store.id)
        .where(Charge.drinker_id == user_id)
        .order_by(Charge.created_at.desc())
        .limit(1)
    )
    if recent is not None:
        return recent
    return db.session.scalar(select(Store.timezone).order_by(Store.created_at, Store.id).limit(1))
