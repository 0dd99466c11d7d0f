"""Offers with parity: nothing is kept from the people who have been coming for years."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.support.api import problem
from tests.support.catalog import add_product
from tests.support.loyalty import (
    OTHER_STORE,
    START,
    STORE,
    add_offer,
    charge,
    hook,
    offer_body,
    service,
    sign_in_again,
    uid,
)
from wallet_api.clock import clock, utcnow


def _apply(app, person, subtotal, *, lines=(), store_id=STORE):
    return hook(
        app,
        service().apply_offers,
        uid(person),
        store_id=store_id,
        subtotal_cents=subtotal,
        lines=list(lines),
        at=utcnow(),
    )


def _titles(api, person, **query):
    response = api.get("/v1/offers", as_=person, query_string=query)
    assert response.status_code == 200, response.get_json()
    return {offer["title"] for offer in response.get_json()["items"]}


@pytest.mark.parametrize(
    "audience",
    [
        {"audience": "new_customers"},
        {"audience": "first_time"},
        {"new_customers_only": True},
        {"first_purchase_only": True},
        {"max_tenure_days": 30},
        {"member_since_after": "2025-01-01T00:00:00+00:00"},
        {"max_tier": "green"},
        {"max_tier": "gold"},
        {"is_welcome": True, "min_tier": "gold"},
    ],
)
def test_an_offer_for_new_customers_only_is_refused(api, audience):
    ada = api.admin()
    response = api.post("/v1/offers", offer_body("New here?", **audience), as_=ada)
    body = problem(response, 422, "offer_parity_violation")
    assert set(body["errors"]) & (set(audience) | {"min_tier"})
    assert "Loyal customers never get a worse deal" in body["detail"]
    assert _titles(api, api.register("Anna")) == set()


@pytest.mark.parametrize(
    "harmless",
    [
        {"audience": "everyone"},
        {"new_customers_only": False},
        {"first_purchase_only": False},
        {"max_tenure_days": None},
        {"max_tier": "platinum"},
    ],
)
def test_audience_fields_that_leave_nobody_out_are_accepted(api, harmless):
    offer = add_offer(api, api.admin(), **harmless)
    assert not set(harmless) & set(offer)


def test_offer_validation(api):
    ada, anna = api.admin(), api.register("Anna")
    problem(api.post("/v1/offers", offer_body(), as_=anna), 403, "forbidden")
    now = utcnow()
    backwards = offer_body(starts_at=now.isoformat(), ends_at=(now - timedelta(1)).isoformat())
    assert (
        "ends_at"
        in problem(api.post("/v1/offers", backwards, as_=ada), 422, "validation_error")["errors"]
    )
    too_much = offer_body(value=150)
    assert (
        "value"
        in problem(api.post("/v1/offers", too_much, as_=ada), 422, "validation_error")["errors"]
    )
    naive = offer_body(starts_at="2025-01-01T00:00:00")
    problem(api.post("/v1/offers", naive, as_=ada), 422, "validation_error")
    unknown = offer_body(product_id=str(uuid.uuid4()))
    problem(api.post("/v1/offers", unknown, as_=ada), 422, "product_unknown")


def test_an_existing_customer_sees_every_offer_a_new_customer_sees(api, app):
    clock.freeze(START)
    ada = api.admin()
    old = api.register("Olga")
    charge(app, old, 300_00)  # gold
    clock.freeze(START + timedelta(days=2 * 365))
    sign_in_again(api, ada)
    now = utcnow()
    add_offer(api, ada, "Everyone 10%")
    add_offer(api, ada, "Welcome", kind="fixed", value=100, is_welcome=True)
    add_offer(api, ada, "Gold and up", min_tier="gold", kind="bonus_points", value=50)
    add_offer(api, ada, "Only at the station", store_ids=[str(STORE)])
    add_offer(
        api,
        ada,
        "Next month",
        starts_at=(now + timedelta(days=30)).isoformat(),
        ends_at=(now + timedelta(days=60)).isoformat(),
    )
    add_offer(
        api,
        ada,
        "Last year",
        starts_at=(now - timedelta(days=400)).isoformat(),
        ends_at=(now - timedelta(days=300)).isoformat(),
    )
    new = api.register("Nina")
    sign_in_again(api, old)

    assert _titles(api, new) == {"Everyone 10%", "Welcome", "Only at the station"}
    assert _titles(api, old) >= _titles(api, new)
    assert "Gold and up" in _titles(api, old)
    for store in (STORE, OTHER_STORE):
        assert _titles(api, old, store_id=store) >= _titles(api, new, store_id=store)
    assert "Only at the station" not in _titles(api, new, store_id=OTHER_STORE)


def test_a_welcome_offer_is_granted_to_an_existing_customer_who_never_had_it(api, app):
    clock.freeze(START)
    olga = api.register("Olga")
    charge(app, olga, 20_00)
    clock.freeze(START + timedelta(days=5 * 365))
    ada = api.admin()
    welcome = add_offer(api, ada, "Welcome", kind="fixed", value=1_00, is_welcome=True)
    assert welcome["once_per_customer"] is True

    result = _apply(app, olga, 3_90)
    assert [a.title for a in result.applied] == ["Welcome"]
    assert result.discount_cents == 1_00
    charge_id = uuid.uuid4()
    hook(app, service().record_offer_use, uid(olga), charge_id=charge_id, applied=result.applied)
    # Recording the same charge again (a retry) changes nothing ...
    hook(app, service().record_offer_use, uid(olga), charge_id=charge_id, applied=result.applied)
    # ... and once used, it is used.
    assert _apply(app, olga, 3_90).applied == []
    assert "Welcome" not in _titles(api, sign_in_again(api, olga))


def test_two_charges_racing_for_a_once_per_customer_offer_use_it_once(api, app):
    from wallet_api.loyalty.errors import OfferAlreadyUsed

    ada, anna = api.admin(), api.register("Anna")
    add_offer(api, ada, "Welcome", kind="fixed", value=1_00, is_welcome=True)
    # Both tills priced the order before either recorded it.
    first, second = _apply(app, anna, 4_00), _apply(app, anna, 4_00)
    hook(app, service().record_offer_use, uid(anna), charge_id=uuid.uuid4(), applied=first.applied)
    with pytest.raises(OfferAlreadyUsed):
        hook(
            app,
            service().record_offer_use,
            uid(anna),
            charge_id=uuid.uuid4(),
            applied=second.applied,
        )


def test_offers_apply_at_the_charge_with_receipt_text(api, app):
    ada, anna = api.admin(), api.register("Anna")
    add_offer(api, ada, "Autumn", value=10)
    add_offer(api, ada, "Double points", kind="bonus_points", value=40)
    add_offer(api, ada, "Big order", kind="fixed", value=2_00, min_subtotal_cents=20_00)
    result = _apply(app, anna, 3_95)
    assert result.discount_cents == 40  # 10% of 3.95, rounded half up
    assert result.bonus_points == 40
    assert result.receipt_lines == ["Autumn: 10% off, -€0.40", "Double points: +40 points"]

    big = _apply(app, anna, 25_00)
    assert big.discount_cents == 2_50 + 2_00
    points = charge(app, anna, 25_00 - big.discount_cents, offer_bonus_points=big.bonus_points)[1]
    assert points == 205 + 40


def test_the_discount_never_exceeds_the_subtotal(api, app):
    ada, anna = api.admin(), api.register("Anna")
    add_offer(api, ada, "Half", value=60)
    add_offer(api, ada, "Another half", value=60)
    add_offer(api, ada, "And a euro", kind="fixed", value=1_00)
    result = _apply(app, anna, 5_00)
    assert result.discount_cents == 5_00
    # The cap leaves the last one at nothing: it is not applied and not used up.
    assert [a.title for a in result.applied] == ["Half", "Another half"]
    assert [a.discount_cents for a in result.applied] == [3_00, 2_00]


def test_offers_for_a_product_count_only_its_lines(api, app):
    from wallet_api.catalog import service as catalog

    ada, anna = api.admin(), api.register("Anna")
    flat_white = add_product(api, ada)
    espresso = add_product(api, ada, "Espresso")
    add_offer(api, ada, "Flat White week", value=50, product_id=flat_white["id"])
    lines = hook(
        app,
        catalog.price_lines,
        [
            {"product_id": uuid.UUID(flat_white["id"]), "size": "M", "quantity": 2},
            {"product_id": uuid.UUID(espresso["id"]), "size": "S", "quantity": 1},
        ],
        viewer_id=None,
    )
    subtotal = sum(line.total for line in lines)
    result = _apply(app, anna, subtotal, lines=lines)
    assert result.discount_cents == 3_90  # half of two medium Flat Whites
    assert _apply(app, anna, 3_50, lines=lines[1:]).applied == []


def test_tier_and_store_eligibility(api, app):
    ada, anna = api.admin(), api.register("Anna")
    add_offer(api, ada, "Silver treat", min_tier="silver", kind="fixed", value=50)
    add_offer(api, ada, "Station", store_ids=[str(STORE)], kind="fixed", value=30)
    assert [a.title for a in _apply(app, anna, 4_00).applied] == ["Station"]
    assert _apply(app, anna, 4_00, store_id=OTHER_STORE).applied == []
    charge(app, anna, 100_00)  # silver now
    assert [a.title for a in _apply(app, anna, 4_00).applied] == ["Silver treat", "Station"]


def test_an_admin_ends_an_offer_early(api, app):
    ada, anna = api.admin(), api.register("Anna")
    offer = add_offer(api, ada, "Autumn")
    problem(api.delete(f"/v1/offers/{offer['id']}", as_=anna), 403, "forbidden")
    assert api.delete(f"/v1/offers/{offer['id']}", as_=ada).status_code == 204
    assert api.delete(f"/v1/offers/{offer['id']}", as_=ada).status_code == 204
    assert _titles(api, anna) == set()
    assert _apply(app, anna, 4_00).applied == []
    problem(api.delete(f"/v1/offers/{uuid.uuid4()}", as_=ada), 404, "offer_not_found")
