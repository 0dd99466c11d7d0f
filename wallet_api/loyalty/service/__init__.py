"""Loyalty as behaviour: the product's stance ("loyal customers never get a worse deal")
turned into rules. No Flask request in here; nothing commits.

Where the rest of the product calls in:

* ``paycodes/charges.py``, a pay charge (one transaction, the wallet locked first)::

      result = apply_offers(user_id, store_id=..., subtotal_cents=..., lines=priced, at=now)
      points = award_points_for_charge(user_id, charge_id=..., amount_cents=paid, ...,
                                       offer_bonus_points=result.bonus_points)
      # ... the wallet pays subtotal - discount, promotions the discount ...
      record_offer_use(user_id, charge_id=..., applied=result.applied, at=now)

  and ``reverse_points_for_refund`` on each refund (``loyalty/counter.py``, a hook the
  counter runs);
* ``loyalty/scanner.py``: reward codes at the till (``preview_reward_code`` for a scan,
  ``redeem_reward_code`` once for a ``reward`` charge);
* ``loyalty/counter.py``, hooked into the counter and the daily report:
  ``apology_for_feedback`` for a 1-2 star rating, ``apologies_for_store`` for the report;
* blends (when merged): ``reward_creator`` and ``blend_enjoyed_by``;
* the daily job (``wallet-api loyalty evaluate``, or ``birthdays`` alone):
  ``evaluate_all``, ``return_expired_codes`` and ``give_birthday_treats``.

Messages to people go through ``_notify`` to the notifications inbox (``social.notify``).
"""

from wallet_api.extensions.money import format_money
from wallet_api.loyalty.service.birthdays import birthday_reward, give_birthday_treats
from wallet_api.loyalty.service.care import (
    apologies_for_store,
    apology_for_feedback,
    give_goodwill,
    grant_switcher_bonus,
)
from wallet_api.loyalty.service.common import _notify, points_balance
from wallet_api.loyalty.service.creators import blend_enjoyed_by, reward_creator
from wallet_api.loyalty.service.offers import (
    AppliedOffer,
    OffersResult,
    apply_offers,
    create_offer,
    eligible_offers_query,
    end_offer,
    record_offer_use,
)
from wallet_api.loyalty.service.points import award_points_for_charge, reverse_points_for_refund
from wallet_api.loyalty.service.rewards import (
    REWARD_CODE_PREFIX,
    IssuedCode,
    create_reward,
    get_reward,
    looks_like_reward_code,
    normalise_code,
    preview_reward_code,
    redeem_reward,
    redeem_reward_code,
    return_expired_codes,
    reveal_code,
    reward_codes_query,
    rewards_query,
    update_reward,
)
from wallet_api.loyalty.service.tiers import (
    current_tier,
    evaluate_all,
    hold_locked_member,
    lock_members,
    loyalty_status,
    qualifying_spend,
    tenure_bonus_pct,
    tenure_years,
    tier_for_spend,
    tier_threshold,
)

__all__ = [
    "REWARD_CODE_PREFIX",
    "AppliedOffer",
    "IssuedCode",
    "OffersResult",
    "_notify",
    "apologies_for_store",
    "apology_for_feedback",
    "apply_offers",
    "award_points_for_charge",
    "birthday_reward",
    "blend_enjoyed_by",
    "create_offer",
    "create_reward",
    "current_tier",
    "eligible_offers_query",
    "end_offer",
    "evaluate_all",
    "format_money",
    "get_reward",
    "give_birthday_treats",
    "give_goodwill",
    "grant_switcher_bonus",
    "hold_locked_member",
    "lock_members",
    "looks_like_reward_code",
    "loyalty_status",
    "normalise_code",
    "points_balance",
    "preview_reward_code",
    "qualifying_spend",
    "record_offer_use",
    "redeem_reward",
    "redeem_reward_code",
    "return_expired_codes",
    "reveal_code",
    "reverse_points_for_refund",
    "reward_codes_query",
    "reward_creator",
    "rewards_query",
    "tenure_bonus_pct",
    "tenure_years",
    "tier_for_spend",
    "tier_threshold",
    "update_reward",
]
