"""What plugs into the counter registers when the app is made, and the counter imports
none of it: the kinds of code (resolver, charge handler, problems) and the hooks of
loyalty and blends."""

from __future__ import annotations

import ast
from pathlib import Path

from wallet_api.counter import registry

COUNTER = Path(__file__).resolve().parents[2] / "wallet_api" / "counter"
PLUGGED_IN = ("paycodes", "gifts", "allowances", "loyalty", "blends")


def test_every_kind_of_code_registers_its_resolver_and_handler(app) -> None:
    from wallet_api.allowances.service import charge_allowance
    from wallet_api.gifts.service import redeem_at_counter, resolve_gift_code
    from wallet_api.loyalty.scanner import charge_reward, resolve_reward_code
    from wallet_api.paycodes.charges import charge_wallet
    from wallet_api.paycodes.service import resolve_offline_code, resolve_pay_code

    kinds = {kind.kind: kind for kind in registry.registered_kinds()}
    assert set(kinds) == {"pay", "allowance", "gift", "reward"}
    assert kinds["pay"].charge is charge_wallet
    assert kinds["allowance"].charge is charge_allowance
    assert kinds["gift"].charge is redeem_at_counter
    assert kinds["reward"].charge is charge_reward
    assert registry.registered_prefixes() == {
        "P": resolve_pay_code,
        "O": resolve_offline_code,
        "G": resolve_gift_code,
        "R": resolve_reward_code,
    }
    codes = {problem.code for kind in kinds.values() for problem in kind.charge_problems}
    assert {"allowance_exceeded", "offer_already_used", "reward_item_mismatch"} <= codes


def test_loyalty_and_blends_hook_into_the_counter(app) -> None:
    from wallet_api.blends.service import verify_ratings_after_charge
    from wallet_api.counter.reports import charges_of_the_day
    from wallet_api.loyalty.counter import (
        apologies_of_the_day,
        apology_for_rating,
        points_back_for_refund,
    )
    from wallet_api.stores.reports import daily_report_figures

    assert list(registry.charge_recorded_hooks()) == [verify_ratings_after_charge]
    assert list(registry.refund_hooks()) == [points_back_for_refund]
    assert list(registry.feedback_hooks()) == [apology_for_rating]
    assert set(daily_report_figures()) == {charges_of_the_day, apologies_of_the_day}


def test_a_second_app_registers_nothing_twice(app) -> None:
    from wallet_api import create_app

    before = (
        registry.registered_kinds(),
        registry.registered_prefixes(),
        list(registry.refund_hooks()),
        list(registry.feedback_hooks()),
        list(registry.charge_recorded_hooks()),
    )
    create_app(dict(app.config))
    assert before == (
        registry.registered_kinds(),
        registry.registered_prefixes(),
        list(registry.refund_hooks()),
        list(registry.feedback_hooks()),
        list(registry.charge_recorded_hooks()),
    )


def test_the_counter_imports_nothing_that_plugs_into_it() -> None:
    imported = set()
    for module in COUNTER.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add((module.name, node.module))
            elif isinstance(node, ast.Import):
                imported.update((module.name, alias.name) for alias in node.names)
    offending = {
        (name, target)
        for name, target in imported
        if target.split(".")[:2] in (["wallet_api", package] for package in PLUGGED_IN)
    }
    assert offending == set()
