"""Tiers without cliffs, walked through more than two years on a controllable clock."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta

import pytest

from tests.support.api import problem
from tests.support.loyalty import (
    START,
    charge,
    inbox,
    points_of,
    service,
    sign_in_again,
    uid,
)
from wallet_api.clock import clock


def _status(api, person):
    response = api.get("/v1/loyalty", as_=sign_in_again(api, person))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _at(days: float):
    clock.freeze(START + timedelta(days=days))


def test_a_year_and_more_with_anna(api, app):
    _at(0)
    anna = api.register("Anna")

    first = _status(api, anna)
    assert first["tier"] == "green"
    assert first["points"] == 0
    assert first["next_tier"] == {"tier": "silver", "spend_needed_cents": 100_00}
    assert first["protected_until"] is None
    assert first["member_since"] == START.isoformat()
    assert first["tenure_years"] == 0

    # January: five coffees of 20.00 reach Silver; the fifth already earns at Silver's rate.
    earned = []
    for day in range(5):
        _at(day)
        earned.append(charge(app, anna, 20_00)[1])
    assert earned == [200, 200, 200, 200, 250]
    # An office order of 200.00 on day 10 reaches Gold and earns 1.5x.
    _at(10)
    assert charge(app, anna, 200_00)[1] == 3000
    gold = _status(api, anna)
    assert gold["tier"] == "gold"
    assert gold["points"] == 4050
    assert gold["multiplier_pct"] == 150
    assert gold["qualifying_spend_cents"] == 300_00
    assert gold["next_tier"] == {"tier": "platinum", "spend_needed_cents": 450_00}
    bodies = [body for _, _, body in inbox(api, anna)]
    assert bodies[0].startswith("Anna, you're Silver now")
    assert bodies[1].startswith("Anna, you're Gold now")

    # Then a quiet year. A year after the first coffee the spend stops qualifying for Gold:
    # the tier is protected for the grace period, not taken away.
    _at(365.5)
    quiet = _status(api, anna)
    assert quiet["tier"] == "gold"
    assert quiet["qualifying_spend_cents"] == 280_00
    assert quiet["spend_to_keep_tier_cents"] == 20_00
    assert quiet["protected_until"] == (START + timedelta(days=425.5)).isoformat()
    kind, title, body = inbox(api, anna)[-1]
    assert kind == "tier_protected"
    assert title == "Anna, your Gold status is protected"
    assert body.startswith("Anna, you're Gold until at least")

    _at(425)
    assert _status(api, anna)["tier"] == "gold"

    # Grace is over and nothing was spent for more than a year: one level down, not two.
    _at(427)
    dropped = _status(api, anna)
    assert dropped["qualifying_spend_cents"] == 0
    assert dropped["tier"] == "silver"
    assert dropped["protected_until"] == (START + timedelta(days=427 + 365)).isoformat()
    assert inbox(api, anna)[-1][2].startswith("Anna, you're Silver now, one step down from Gold")

    # A year of membership counts: +5% on top of Silver's 125%.
    assert dropped["tenure_years"] == 1
    assert dropped["tenure_bonus_pct"] == 5
    assert charge(app, anna, 10_00)[1] == 130

    # Silver holds for a qualification year after the drop, then goes one more level.
    _at(600)
    assert _status(api, anna)["tier"] == "silver"
    _at(793)
    last = _status(api, anna)
    assert last["tier"] == "green"
    assert last["protected_until"] is None
    assert last["points"] == 4050 + 130
    assert last["tenure_years"] == 2
    assert [kind for kind, _, _ in inbox(api, anna)] == [
        "tier_changed",  # up to Silver
        "tier_changed",  # up to Gold
        "tier_protected",
        "tier_changed",  # down to Silver
        "tier_changed",  # down to Green
    ]


def test_spending_again_during_grace_keeps_the_tier(api, app):
    _at(0)
    ben = api.register("Ben")
    charge(app, ben, 100_00)
    _at(366)
    assert _status(api, ben)["protected_until"] is not None
    charge(app, ben, 100_00)
    kept = _status(api, ben)
    assert kept["tier"] == "silver"
    assert kept["protected_until"] is None
    # Both messages carry the same (frozen) time, so their order in the inbox is open.
    last_two = {message[:2] for message in inbox(api, ben)[-2:]}
    assert last_two == {
        ("tier_protected", "Ben, your Silver status is protected"),
        ("tier_kept", "Ben, you've kept Silver"),
    }


def test_a_drop_waits_for_the_grace_period_even_when_evaluated_late(api, app):
    """Nobody looked for two years: the first look starts the grace, it does not drop."""
    _at(0)
    cleo = api.register("Cleo")
    charge(app, cleo, 800_00)
    _at(800)
    status = _status(api, cleo)
    assert status["tier"] == "platinum"
    assert status["protected_until"] == (START + timedelta(days=860)).isoformat()


def test_upgrades_are_immediate_and_may_skip_levels(api, app):
    _at(0)
    dana = api.register("Dana")
    assert charge(app, dana, 750_00)[1] == 15000  # platinum at once, 2x
    assert _status(api, dana)["next_tier"] is None


def test_the_daily_job_drops_tiers_without_anyone_looking(api, app):
    _at(0)
    eve = api.register("Eve")
    charge(app, eve, 100_00)
    runner = app.test_cli_runner()
    _at(366)
    result = runner.invoke(args=["loyalty", "evaluate"])
    assert result.exit_code == 0, result.output
    assert "evaluated 1 members" in result.output
    _at(427)
    runner.invoke(args=["loyalty", "evaluate"])
    assert [kind for kind, _, _ in inbox(api, eve)] == [
        "tier_changed",
        "tier_protected",
        "tier_changed",
    ]
    assert _status(api, eve)["tier"] == "green"


def test_a_refund_reduces_the_spend_but_the_tier_is_still_protected(api, app):
    _at(0)
    finn = api.register("Finn")
    charge_id, _ = charge(app, finn, 100_00)
    from tests.support.loyalty import hook

    hook(
        app,
        service().reverse_points_for_refund,
        uid(finn),
        charge_id=charge_id,
        refunded_cents=100_00,
        charged_cents=100_00,
    )
    status = _status(api, finn)
    assert status["qualifying_spend_cents"] == 0
    assert status["tier"] == "silver"
    assert status["protected_until"] == (START + timedelta(days=60)).isoformat()
    assert points_of(app, finn) == 0


@pytest.mark.parametrize(
    ("years", "bonus", "a_second_before"),
    [(0, 0, 0), (1, 5, 0), (3, 15, 10), (10, 50, 45), (25, 50, 50)],
)
def test_tenure_bonus_grows_each_full_year_up_to_the_maximum(app, years, bonus, a_second_before):
    from wallet_api.loyalty.rules import LoyaltyRules

    anniversary = START.replace(year=START.year + years)
    rules = LoyaltyRules()
    assert service().tenure_bonus_pct(START, anniversary, rules) == bonus
    before = anniversary - timedelta(seconds=1)
    assert service().tenure_bonus_pct(START, max(before, START), rules) == a_second_before


def test_status_needs_a_token(api):
    problem(api.get("/v1/loyalty"), 401, "token_missing")


def test_rules_come_from_the_environment_at_start_up(app, monkeypatch):
    from wallet_api.config import ConfigError
    from wallet_api.loyalty.rules import LoyaltyRules, install

    assert isinstance(app.config["WALLET_LOYALTY_RULES"], LoyaltyRules)

    monkeypatch.setenv("WALLET_LOYALTY_GRACE_DAYS", "30")
    monkeypatch.setenv("WALLET_LOYALTY_TIER_SPEND", "5000,20000,50000")
    config: dict = {}
    install(config)
    rules = config["WALLET_LOYALTY_RULES"]
    assert rules.grace_days == 30
    assert rules.tier_spend == (5000, 20000, 50000)
    assert rules.points_per_euro == LoyaltyRules().points_per_euro

    # Rules given to create_app win over the environment.
    given = {"WALLET_LOYALTY_RULES": {"grace_days": 90}}
    install(given)
    assert given["WALLET_LOYALTY_RULES"].grace_days == 90

    monkeypatch.setenv("WALLET_LOYALTY_TIER_MULTIPLIERS", "100,150,125,200")
    with pytest.raises(ConfigError, match="TIER_MULTIPLIERS"):
        install({})


@pytest.mark.parametrize(
    "env",
    [
        {"WALLET_LOYALTY_GRACE_DAYS": "sixty"},
        {"WALLET_LOYALTY_TIER_SPEND": "100,50,200"},
        {"WALLET_LOYALTY_TIER_SPEND": "100,200"},
        {"WALLET_LOYALTY_APOLOGY_CREDIT_CENTS": "-1"},
        {"WALLET_LOYALTY_QUALIFICATION_DAYS": "0"},
    ],
)
def test_wrong_rules_stop_the_start(env):
    from wallet_api.config import ConfigError
    from wallet_api.loyalty.rules import LoyaltyRules

    with pytest.raises(ConfigError):
        LoyaltyRules.from_env(env)


def test_rules_can_be_changed_per_app(api, app, monkeypatch):
    rules = app.config["WALLET_LOYALTY_RULES"]
    monkeypatch.setitem(
        app.config, "WALLET_LOYALTY_RULES", dataclasses.replace(rules, points_per_euro=20)
    )
    _at(0)
    gus = api.register("Gus")
    assert charge(app, gus, 5_00)[1] == 100


def test_a_spend_written_in_the_same_transaction_counts_at_once(api, app):
    """A transaction reads a locked member's qualifying spend once per moment (a charge
    evaluates the tier for its offers and again for its points); a spend it writes after
    that must count in the next evaluation, not the sum it read before."""
    from wallet_api.clock import utcnow
    from wallet_api.extensions import db

    _at(0)
    anna = api.register("Anna")
    charge(app, anna, 1_00)  # her member row and points account exist from here
    _at(1)
    loyalty = service()
    with app.app_context():
        at = utcnow()
        assert loyalty.current_tier(uid(anna), at).value == "green"
        loyalty.award_points_for_charge(
            uid(anna), charge_id=uuid.uuid4(), amount_cents=200_00, store_id=None, at=at
        )
        status = loyalty.loyalty_status(uid(anna), at)
        assert status["qualifying_spend_cents"] == 201_00
        assert (status["tier"].value, status["protected_until"]) == ("silver", None)
        db.session.commit()
