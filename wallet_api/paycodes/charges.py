"""The ``pay`` charge: a pay or offline code, paid from the customer's own wallet.

A pay charge, step by step: price the items (the ``subtotal``); ``apply_offers`` gives the
``discount``; the wallet pays ``subtotal - discount`` and the chain's promotions account
the discount, so the store's sales are the subtotal either way; ``award_points_for_charge``
credits points on what the wallet paid (plus offers' bonus points); ``record_offer_use``
uses up once-per-customer offers. A refund takes points back in proportion (loyalty's
``on_refund`` hook at the counter).

Loyalty and blends are called directly: the counter knows neither.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from wallet_api.blends import service as blends
from wallet_api.catalog.service import PricedLine
from wallet_api.clock import utcnow
from wallet_api.counter.registry import ScannedCode
from wallet_api.counter.scanning import customer_of, lock_open_wallet
from wallet_api.counter.service import (
    ChargeResult,
    Posted,
    Receipt,
    Sale,
    priced_order,
    sale_meta,
    sell,
)
from wallet_api.extensions.auth import Principal
from wallet_api.ledger import service as ledger
from wallet_api.ledger.models import AccountKind
from wallet_api.ledger.service import Leg
from wallet_api.loyalty import service as loyalty
from wallet_api.stores.models import Store

PAY_KIND = "pay"


def _item_id(line: PricedLine) -> uuid.UUID:
    return line.item_id


def charge_wallet(
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

    def post(charge_id: uuid.UUID) -> Posted:
        # Points are awarded before the posting (same transaction: if the wallet cannot
        # pay, all of it rolls back) so that the charge's ledger row can say what it earned.
        points = loyalty.award_points_for_charge(
            customer.id,
            charge_id=charge_id,
            amount_cents=paid,
            store_id=store.id,
            at=at,
            offer_bonus_points=offers.bonus_points,
            new_charge=True,  # charge_id is a new uuid4: no spend can hold it yet
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
        # The receipt comes next, before the blends' counts: recording it locks the blends
        # ordered, in id order, to verify the customer's ratings of them (see
        # blends.verify_ratings_of).
        return Posted(transaction, points)

    def then(charge: Receipt) -> int:
        # Orders count for "the usual", the top-10 and "enjoyed by"; creators earn bonus
        # points.
        for line in blend_lines:
            blends.record_blend_ordered(line.item_id, customer.id, line.quantity, at)
        for blend_id, creator_id in creators:
            loyalty.reward_creator(
                creator_id, blend_id=blend_id, by_user_id=customer.id, reason="order", at=at
            )
        return ledger.locked_balance(wallet.id)

    sale = Sale(
        payer_id=customer.id,
        drinker_first_name=customer.first_name,
        lines=priced,
        amount=paid,
        currency=wallet.unit,
        discount=offers.discount_cents,
        offers=offers.receipt_lines,
    )
    return sell(principal, store, scanned, sale, post=post, then=then)
