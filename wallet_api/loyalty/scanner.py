"""Reward codes at the till: the scanner's ``R`` code kind and the ``reward`` charge.

Reward codes read ``RW`` + 24 base32 characters. The scanner dispatches on the first
letter, so loyalty owns ``R`` (``register_code_kind`` refuses a second owner) and checks
the ``W`` itself. A scan previews the code (``preview_reward_code``); a charge redeems it
once (``redeem_reward_code``) for one drink of the reward's kind. The customer pays
nothing: the chain's promotions account pays the store the drink's menu price
(``reward_redemption`` in the ledger), so the store's sales and reports stay true, and the
receipt is a charge of amount 0 whose discount is that price.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from wallet_api.auth.errors import UserNotFound
from wallet_api.catalog.service import PricedLine, price_lines
from wallet_api.clock import utcnow
from wallet_api.counter.errors import CodeUnknown
from wallet_api.counter.registry import CodeKind, ScannedCode, register_code_kind
from wallet_api.counter.scanning import customer_of
from wallet_api.counter.service import ChargeResult, Posted, Sale, sell, store_ref
from wallet_api.extensions.auth import Principal
from wallet_api.extensions.money import format_money
from wallet_api.ledger import service as ledger
from wallet_api.ledger.models import AccountKind
from wallet_api.loyalty.errors import RewardItemMismatch
from wallet_api.loyalty.service import preview_reward_code, redeem_reward_code
from wallet_api.loyalty.service.rewards import REWARD_CODE_PREFIX, looks_like_reward_code
from wallet_api.stores.models import Store

CODE_KIND = "reward"


def _reward_view(reward: Mapping[str, Any]) -> dict[str, Any]:
    """What the till shows about the reward (JSON: ids as strings, None for "any")."""
    return {
        "id": str(reward["id"]),
        "name": reward["name"],
        "description": reward["description"],
        "product_id": str(reward["product_id"]) if reward["product_id"] else None,
        "size": reward["size"],
    }


def resolve_reward_code(text: str) -> ScannedCode:
    """The scanner's look-up of a reward code, without side effects."""
    if not looks_like_reward_code(text):
        raise CodeUnknown("This code is not known.")
    try:
        preview = preview_reward_code(text)  # unknown, expired or used: the scanner's errors
    except UserNotFound as exc:  # the customer closed their account: as for a pay code
        raise CodeUnknown("This code is not known.") from exc
    reward = _reward_view(preview["reward"])

    def consume() -> None:
        # Redeeming needs the store, which only the charge knows: the reward handler calls
        # redeem_reward_code itself. Anything else calling this is a bug.
        raise RuntimeError("reward codes are redeemed by the reward charge handler")

    return ScannedCode(
        kind=CODE_KIND,
        customer_id=preview["customer"]["id"],
        source="reward_code",
        source_id=preview["code_id"],
        consume=consume,
        expires_at=preview["expires_at"],
        details={"reward": reward, "message": f"{reward['name']} is on us today."},
    )


def _the_drink(
    reward: Mapping[str, Any], data: Mapping[str, Any], customer_id: uuid.UUID
) -> PricedLine:
    """The one drink the reward pays for, priced from the menu; refused if it does not fit."""
    if not data.get("items"):
        raise RewardItemMismatch(
            "A reward is redeemed for one drink: send it as items, not an amount.",
            errors={"items": ["One drink of the reward's kind."]},
        )
    priced = price_lines(data["items"], viewer_id=customer_id)
    if len(priced) != 1 or priced[0].quantity != 1:
        raise RewardItemMismatch(
            f"{reward['name']} is one drink; the order has "
            f"{sum(line.quantity for line in priced)}.",
            errors={"items": ["Exactly one drink, quantity 1."]},
        )
    (line,) = priced
    wrong = {}
    product = reward["product_id"]
    if product and (line.kind != "product" or str(line.item_id) != product):
        wrong["product_id"] = [f"{reward['name']} is for another drink."]
    if reward["size"] and line.size != reward["size"]:
        wrong["size"] = [f"{reward['name']} is for size {reward['size']}."]
    if wrong:
        raise RewardItemMismatch(
            f"{line.name} ({line.size}) is not {reward['name']}.", errors=wrong
        )
    return line


def charge_reward(
    principal: Principal, store: Store, scanned: ScannedCode, data: Mapping[str, Any]
) -> ChargeResult:
    """Redeem a reward code for one drink; the promotions account pays the store for it."""
    customer = customer_of(scanned)
    line = _the_drink(scanned.details["reward"], data, customer.id)
    at = utcnow()
    # The reward as the till was shown it: the code's own, read again by the redemption.
    reward = scanned.details["reward"]

    def redeem() -> None:
        # Exactly once, even with two tills at once: the conditional UPDATE decides.
        redeem_reward_code(data["code"], store_id=store.id, at=at)

    def post(charge_id: uuid.UUID) -> Posted:
        return Posted(
            ledger.transfer(
                "reward_redemption",
                ledger.system_account(AccountKind.PROMOTIONS),
                ledger.system_account(AccountKind.STORE_SALES, store.id),
                line.total,
                memo=f"{reward['name']} for {customer.first_name}",
                meta={
                    "store": store_ref(store),
                    "items": [line.receipt()],
                    "charge_id": str(charge_id),
                    "reward": {"id": reward["id"], "name": reward["name"]},
                    "reward_code_id": str(scanned.source_id),
                    "customer": {"id": str(customer.id), "name": customer.first_name},
                },
                event_at=at,
            )
        )

    wallet = ledger.wallet_account(customer.id)
    sale = Sale(
        payer_id=customer.id,
        drinker_first_name=customer.first_name,
        lines=[line],
        amount=0,
        currency=wallet.unit,
        discount=line.total,
        offers=[f"{reward['name']}: reward, -{format_money(line.total)}"],
    )
    return sell(
        principal,
        store,
        scanned,
        sale,
        consume=redeem,
        post=post,
        then=lambda _: ledger.balance_of(wallet),
    )


def register_reward_codes() -> None:
    register_code_kind(
        CodeKind(
            kind=CODE_KIND,
            prefix=REWARD_CODE_PREFIX[0],
            resolve=resolve_reward_code,
            charge=charge_reward,
            charge_problems=(RewardItemMismatch,),
        )
    )
