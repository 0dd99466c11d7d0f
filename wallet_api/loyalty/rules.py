"""The loyalty programme's rules: configuration, never code constants.

Every rule has a ``WALLET_LOYALTY_*`` environment variable. The rules are read once when
the app starts (a wrong value stops the start, not the first charge) and kept in
``app.config["WALLET_LOYALTY_RULES"]``; ``create_app({"WALLET_LOYALTY_RULES": ...})`` or a
test may replace them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from itertools import pairwise
from typing import Any

from flask import current_app

from wallet_api.config import ConfigError

CONFIG_KEY = "WALLET_LOYALTY_RULES"
ENV_PREFIX = "WALLET_LOYALTY_"


@dataclass(frozen=True)
class LoyaltyRules:
    # Points earned per 1.00 of paid spend (per 100 minor units), before multipliers.
    points_per_euro: int = 10
    # Spend in cents over the qualification window to reach silver, gold, platinum.
    tier_spend: tuple[int, ...] = (10_000, 30_000, 75_000)
    # Points multiplier in percent for green, silver, gold, platinum.
    tier_multipliers: tuple[int, ...] = (100, 125, 150, 200)
    # The window of paid spend that sets the tier, and the least time between two drops.
    qualification_days: int = 365
    # How long a tier is kept once the spend no longer qualifies for it.
    grace_days: int = 60
    # Extra points in percent of the base per full year of membership, up to the maximum.
    tenure_bonus_pct_per_year: int = 5
    tenure_bonus_max_pct: int = 50
    # Points to a creator when someone else orders or copies their public blend.
    creator_bonus_points: int = 20
    creator_daily_cap: int = 200
    # Credit (cents) for a purchase rated 1 or 2 stars, once per charge, at most what the
    # visit cost the rater; and at most one such credit per person in this many days.
    apology_credit_cents: int = 200
    apology_cooldown_days: int = 30
    # Goodwill each staff member (or admin) may give per UTC day.
    goodwill_daily_cents: int = 2_500
    goodwill_daily_grants: int = 10
    # One-time points for a customer who shows another chain's loyalty card.
    switcher_bonus_points: int = 500
    # How long a reward code stays redeemable.
    reward_code_ttl_days: int = 30
    # A free drink on one's birthday, once a year, for accounts at least this many days old.
    birthday_min_member_days: int = 30

    def __post_init__(self) -> None:
        problems = []
        if len(self.tier_spend) != 3 or any(b <= a for a, b in pairwise((0, *self.tier_spend))):
            problems.append("TIER_SPEND is three ascending positive amounts in cents")
        if len(self.tier_multipliers) != 4 or any(
            b < a for a, b in pairwise((100, *self.tier_multipliers))
        ):
            # A higher tier never earns less than a lower one: that would punish loyalty.
            problems.append("TIER_MULTIPLIERS is four non-decreasing percentages of at least 100")
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, int) and value < 0:
                problems.append(f"{f.name.upper()} must not be negative")
        if self.qualification_days < 1 or self.reward_code_ttl_days < 1:
            problems.append("QUALIFICATION_DAYS and REWARD_CODE_TTL_DAYS are at least 1")
        if problems:
            raise ConfigError("loyalty rules: " + "; ".join(problems))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LoyaltyRules:
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper(), "").strip()
            if not raw:
                continue
            try:
                if f.name in ("tier_spend", "tier_multipliers"):
                    values[f.name] = tuple(int(part) for part in raw.split(","))
                else:
                    values[f.name] = int(raw)
            except ValueError as exc:
                raise ConfigError(
                    f"{ENV_PREFIX}{f.name.upper()} must be an integer"
                    + (" list" if "," in raw else "")
                    + f", got {raw!r}"
                ) from exc
        return cls(**values)


def install(config: dict[str, Any]) -> None:
    """Put the rules in the app config at start-up unless the app was given its own."""
    given = config.get(CONFIG_KEY)
    if given is None:
        config[CONFIG_KEY] = LoyaltyRules.from_env()
    elif isinstance(given, Mapping):
        config[CONFIG_KEY] = LoyaltyRules(**given)


def current_rules() -> LoyaltyRules:
    installed: LoyaltyRules = current_app.config[CONFIG_KEY]
    return installed
