"""Points for charges and their reversal on refunds, through the hooks charges will call."""

from __future__ import annotations

import uuid

import pytest

from tests.support.loyalty import (
    add_reward,
    charge,
    hook,
    points_of,
    service,
    uid,
)


def _refund(app, person, charge_id, refunded, charged):
    return hook(
        app,
        service().reverse_points_for_refund,
        uid(person),
        charge_id=charge_id,
        refunded_cents=refunded,
        charged_cents=charged,
    )


def _spend_row(app, charge_id):
    from sqlalchemy import select

    from wallet_api.extensions import db
    from wallet_api.loyalty.models import Spend

    def read():
        row = db.session.scalar(select(Spend).where(Spend.charge_id == charge_id))
        return row.refunded_cents, row.points_reversed, row.points_shortfall

    return hook(app, read)


def _spend_points(api, app, person, points):
    """Spend points the way a customer does: on a reward that costs exactly that."""
    ada = api.admin()
    reward = add_reward(api, ada, name=f"Reward {uuid.uuid4().hex[:6]}", points_cost=points)
    response = api.post(f"/v1/loyalty/rewards/{reward['id']}/redeem", as_=person, idem=True)
    assert response.status_code == 201, response.get_json()


def test_points_are_floor_of_ten_per_euro(api, app):
    anna = api.register("Anna")
    assert charge(app, anna, 3_95)[1] == 39
    assert charge(app, anna, 9)[1] == 0  # a few cents earn nothing, and move nothing
    assert points_of(app, anna) == 39


def test_a_charge_earns_once(api, app):
    anna = api.register("Anna")
    charge_id, first = charge(app, anna, 4_00)
    _, again = charge(app, anna, 4_00, charge_id=charge_id)
    assert first == again == 40
    assert points_of(app, anna) == 40


def test_offer_bonus_points_come_on_top(api, app):
    anna = api.register("Anna")
    assert charge(app, anna, 4_00, offer_bonus_points=50)[1] == 90


def test_points_are_in_the_ledger_with_what_a_person_needs_to_read_them(api, app):
    from sqlalchemy import select

    from wallet_api.extensions import db
    from wallet_api.ledger.models import LedgerTransaction

    anna = api.register("Anna")
    charge_id, _ = charge(app, anna, 4_00)
    meta = hook(
        app,
        lambda: (
            db.session.scalar(
                select(LedgerTransaction).where(LedgerTransaction.kind == "loyalty_points")
            ).meta
        ),
    )
    assert meta["charge_id"] == str(charge_id)
    assert meta["tier"] == "green"
    assert meta["base_points"] == 40


def test_partial_refunds_reverse_proportionally_and_never_more_than_earned(api, app):
    anna = api.register("Anna")
    charge_id, earned = charge(app, anna, 20_00)
    assert earned == 200
    assert _refund(app, anna, charge_id, 5_00, 20_00) == 50
    assert points_of(app, anna) == 150
    assert _refund(app, anna, charge_id, 3_33, 20_00) == 33  # floor(200 * 833 / 2000) - 50
    assert _refund(app, anna, charge_id, 11_67, 20_00) == 117
    assert points_of(app, anna) == 0
    # Refunding more than was charged takes nothing more.
    assert _refund(app, anna, charge_id, 1_00, 20_00) == 0
    assert _spend_row(app, charge_id) == (20_00, 200, 0)


def test_points_spent_meanwhile_leave_a_recorded_shortfall_not_a_negative_balance(api, app):
    anna = api.register("Anna")
    charge_id, earned = charge(app, anna, 50_00)
    assert earned == 500
    _spend_points(api, app, anna, 300)
    assert points_of(app, anna) == 200
    assert _refund(app, anna, charge_id, 50_00, 50_00) == 200
    assert points_of(app, anna) == 0
    assert _spend_row(app, charge_id) == (50_00, 200, 300)


def test_refund_of_a_charge_that_earned_nothing_is_a_no_op(api, app):
    anna = api.register("Anna")
    assert _refund(app, anna, uuid.uuid4(), 1_00, 1_00) == 0


def test_a_refund_that_does_not_match_its_charge_is_a_bug(api, app):
    anna, ben = api.register("Anna"), api.register("Ben")
    charge_id, _ = charge(app, anna, 10_00)
    with pytest.raises(ValueError, match="does not match"):
        _refund(app, anna, charge_id, 1_00, 9_00)
    with pytest.raises(ValueError, match="does not match"):
        _refund(app, ben, charge_id, 1_00, 10_00)
    assert points_of(app, anna) == 100
