"""Charges at the counter and their refunds.

A charge is one request: the code is consumed, loyalty applies its offers and awards
points, the wallet pays the store and the receipt is written, all in the same database
transaction. When anything fails (not enough credit, a closed wallet, a price that cannot
be computed) the request rolls back as a whole and the code can be used again.

A pay charge, step by step: price the items (the ``subtotal``); ``apply_offers`` gives the
``discount``; the wallet pays ``subtotal - discount`` and the chain's promotions account
the discount, so the store's sales are the subtotal either way; ``award_points_for_charge``
credits points on what the wallet paid (plus offers' bonus points); ``record_offer_use``
uses up once-per-customer offers. A refund takes points back in proportion.

Every kind of charge ends in ``record_charge``, which also asks the person who drank (not
the payer of a gift or an allowance) how it was: one inbox message a day at most, sent in
the charge's transaction by one statement.
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
from wallet_api.blends import service as blends
from wallet_api.catalog.service import PricedLine, price_lines
from wallet_api.clock import utcnow
from wallet_api.counter.errors import ChargeNotFound, CodeNotChargeable, RefundExceedsCharge
from wallet_api.counter.models import Charge, ChargeLine, Refund
from wallet_api.counter.registry import ScannedCode, resolve_code
from wallet_api.counter.scanning import customer_of, greeting, lock_open_wallet
from wallet_api.extensions import db
from wallet_api.extensions.auth import DEVICE, Principal
from wallet_api.extensions.fixed import FixedStatement
from wallet_api.extensions.problems import GrantToSelf, ValidationFailed
from wallet_api.ledger import service as ledger
from wallet_api.ledger.models import AccountKind, LedgerTransaction
from wallet_api.ledger.service import Leg
from wallet_api.loyalty import service as loyalty
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
    # before counts from now on).
    blends.verify_ratings_of(
        scanned.customer_id, [line.item_id for line in lines if line.kind == "blend"]
    )
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
        offers=row["offers"],
        points_earned=points_earned,
        currency=currency,
        refunded_amount=0,
        created_at=row["created_at"],
        lines=list(lines),
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


def _item_id(line: PricedLine) -> uuid.UUID:
    return line.item_id


def _charge_wallet(
    principal: Principal, store: Store, scanned: ScannedCode, data: Mapping[str, Any]
) -> ChargeResult:
    """A pay code: offers first, then the wallet pays the rest and earns points."""
    customer = customer_of(scanned)
    # Lock order: the customer's wallet, then every loyalty member involved (the customer
    # and the creators of the blends ordered) in id order, then points. Refunds and
    # apologies take the wallet first too, so they queue behind a charge, never deadlock.
    wallet = lock_open_wallet(customer)
    priced, subtotal = priced_order(data, viewer_id=customer.id)
    at = utcnow()
    blend_lines = sorted((line for line in priced if line.kind == "blend"), key=_item_id)
    creators = [
        credited
        for line in blend_lines
        for credited in blends.creators_credited(line.item_id, customer.id)
    ]
    # The accounts the sale and its points post to, in one statement instead of one each.
    ledger.preload_account_ids(
        [
            ledger.system_account_key(AccountKind.STORE_SALES, store.id),
            ledger.system_account_key(AccountKind.PROMOTIONS),
            ledger.system_account_key(AccountKind.POINTS_ISSUED),
            ledger.points_account_key(customer.id),
        ]
    )
    loyalty.lock_members({customer.id, *(creator for _, creator in creators)}, at)
    offers = loyalty.apply_offers(
        customer.id, store_id=store.id, subtotal_cents=subtotal, lines=priced, at=at
    )
    paid = subtotal - offers.discount_cents
    scanned.consume()
    charge_id = uuid.uuid4()
    # Points are awarded before the posting (same transaction: if the wallet cannot pay,
    # all of it rolls back) so that the charge's ledger row can say what it earned.
    points = loyalty.award_points_for_charge(
        customer.id,
        charge_id=charge_id,
        amount_cents=paid,
        store_id=store.id,
        at=at,
        offer_bonus_points=offers.bonus_points,
        new_charge=True,  # charge_id is the uuid4 above: no spend can hold it yet
        customer_since=customer.created_at,
    )
    # The store sells at menu prices; the chain's promotions account pays the discount.
    legs = [Leg(ledger.system_account_id(AccountKind.STORE_SALES, store.id), subtotal)]
    if paid:
        legs.append(Leg(wallet.id, -paid))
    if offers.discount_cents:
        promotions = ledger.system_account_id(AccountKind.PROMOTIONS)
        legs.append(Leg(promotions, -offers.discount_cents))
    transaction = ledger.post_transaction(
        "charge",
        legs,
        memo=store.name,
        meta=sale_meta(
            store,
            charge_id,
            priced,
            subtotal=subtotal,
            discount=offers.discount_cents,
            offers=offers.receipt_lines,
            points_earned=points,
        ),
        event_at=at,
    )
    loyalty.record_offer_use(customer.id, charge_id=charge_id, applied=offers.applied, at=at)
    # The receipt before the blends' counts: it locks the blends ordered, in id order, to
    # verify the customer's ratings of them (see blends.verify_ratings_of).
    charge = record_charge(
        principal,
        store,
        scanned,
        charge_id=charge_id,
        customer_id=customer.id,
        amount=paid,
        currency=wallet.unit,
        transaction=transaction,
        lines=priced,
        drinker_first_name=customer.first_name,
        discount=offers.discount_cents,
        offers=offers.receipt_lines,
        points_earned=points,
    )
    # Orders count for "the usual", the top-10 and "enjoyed by"; creators earn bonus points.
    for line in blend_lines:
        blends.record_blend_ordered(line.item_id, customer.id, line.quantity, at)
    for blend_id, creator_id in creators:
        loyalty.reward_creator(
            creator_id, blend_id=blend_id, by_user_id=customer.id, reason="order", at=at
        )
    return ChargeResult(
        charge,
        ledger.locked_balance(wallet.id),
        wallet.unit,
        greeting(customer.first_name, store),
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
    """Money back to the wallet that paid, by the store that charged (or an admin).

    The points the charge earned are taken back in proportion (loyalty keeps the rule).
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
    points = loyalty.reverse_points_for_refund(
        charge.customer_id, charge_id=charge.id, refunded_cents=amount, charged_cents=charge.amount
    )
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
