"""Birthday treats: a free drink on one's own birthday, once a year, from the daily job."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.catalog import add_product
from tests.support.loyalty import (
    add_reward,
    audit_tags,
    hook,
    inbox,
    order,
    points_of,
    race,
    service,
    sign_in_again,
)
from tests.support.stores import add_scanner, add_store, charge, fund, pay_code
from wallet_api.clock import clock

JOINED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def birthdays(app, *args: str) -> str:
    """Run ``wallet-api loyalty birthdays`` (or another loyalty command); its output."""
    result = app.test_cli_runner().invoke(args=["loyalty", *(args or ("birthdays",))])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def born(api, person, birthday: str) -> None:
    response = api.patch("/v1/me", {"birthday": birthday}, as_=sign_in_again(api, person))
    assert response.status_code == 200, response.get_json()


def on(at: datetime) -> None:
    clock.freeze(at)


def treats(api, person) -> list[dict]:
    sign_in_again(api, person)
    codes = api.get("/v1/loyalty/reward-codes", as_=person).get_json()["items"]
    return [c for c in codes if c["source"] == "birthday"]


@pytest.fixture
def chain(api):
    """Since 5 January 2026: an admin, the free drink, a store in Amsterdam, and Anna."""
    on(JOINED)
    admin = api.admin()
    reward = add_reward(api, admin, "Free drink")  # any drink, any size
    store = add_store(api, admin)  # Europe/Amsterdam: the chain's first store
    anna = api.register("Anna")
    born(api, anna, "1990-03-09")
    return admin, reward, store, anna


def test_a_free_drink_on_ones_birthday_once(api, app, chain):
    admin, reward, store, anna = chain
    on(datetime(2026, 3, 8, 12, 0, tzinfo=UTC))
    assert "gave 0 birthday treats" in birthdays(app)
    on(datetime(2026, 3, 9, 7, 0, tzinfo=UTC))
    assert "gave 1 birthday treats" in birthdays(app)
    assert "gave 0 birthday treats" in birthdays(app)  # again the same day: nothing more
    assert "gave 0 birthday treats" in birthdays(app, "evaluate")

    (code,) = treats(api, anna)
    assert (code["reward"]["id"], code["points_spent"], code["status"]) == (
        reward["id"],
        0,
        "valid",
    )
    assert points_of(app, anna) == 0
    assert [m for m in inbox(api, anna) if m[0] == "birthday_treat"] == [
        (
            "birthday_treat",
            "Anna, happy birthday!",
            "Anna, happy birthday! Free drink is on us: find it in your rewards "
            "(valid for 30 days).",
        )
    ]
    assert audit_tags(app, anna) == ["loyalty:birthday_treat:given"]

    # At the till it is a free drink like any reward: the chain's promotions pay the store.
    till = add_scanner(api, sign_in_again(api, admin), store["id"])
    flat_white = add_product(api, admin, "Flat White")
    shown = api.post(f"/v1/loyalty/reward-codes/{code['id']}/code", as_=anna).get_json()
    drink = charge(api, till, shown["code"], items=order(flat_white))
    assert drink.status_code == 201, drink.get_json()
    assert (drink.get_json()["charge"]["amount"], drink.get_json()["charge"]["discount"]) == (
        0,
        3_90,
    )

    # A year later: the next one.
    on(datetime(2027, 3, 9, 7, 0, tzinfo=UTC))
    assert "gave 1 birthday treats" in birthdays(app)
    assert len(treats(api, anna)) == 2


def test_a_changed_birthday_brings_no_second_treat_that_year(api, app, chain):
    _, _, _, anna = chain
    on(datetime(2026, 3, 9, 7, 0, tzinfo=UTC))
    assert "gave 1 birthday treats" in birthdays(app)
    born(api, anna, "1990-03-20")
    on(datetime(2026, 3, 20, 7, 0, tzinfo=UTC))
    assert "gave 0 birthday treats" in birthdays(app)
    on(datetime(2027, 3, 20, 7, 0, tzinfo=UTC))
    assert "gave 1 birthday treats" in birthdays(app)
    assert len(treats(api, anna)) == 2


def test_new_accounts_wait_thirty_days(api, app, chain):
    on(datetime(2026, 2, 20, 9, 0, tzinfo=UTC))
    ben = api.register("Ben")
    born(api, ben, "1991-03-09")
    on(datetime(2026, 3, 9, 7, 0, tzinfo=UTC))  # Ben is 17 days old; Anna two months
    assert "gave 1 birthday treats" in birthdays(app)
    assert treats(api, ben) == []
    assert len(treats(api, chain[3])) == 1
    on(datetime(2027, 3, 9, 7, 0, tzinfo=UTC))
    assert "gave 2 birthday treats" in birthdays(app)
    assert len(treats(api, ben)) == 1


def test_the_day_is_where_one_last_had_a_drink(api, app, chain):
    """Anna's last visit was in New York; Ben never visited: the chain's first store
    (Amsterdam) gives his day. Both were born on 10 March."""
    admin, _, _, anna = chain
    ben = api.register("Ben")
    for person in (anna, ben):
        born(api, person, "1990-03-10")
    on(datetime(2026, 2, 1, 12, 0, tzinfo=UTC))
    new_york = add_store(
        api, sign_in_again(api, admin), "Times Square", timezone="America/New_York"
    )
    fund(api, anna, 10_00)
    till = add_scanner(api, admin, new_york["id"])
    code = pay_code(api, sign_in_again(api, anna))["code"]
    assert charge(api, till, code, amount=3_00).status_code == 201

    on(datetime(2026, 3, 9, 23, 30, tzinfo=UTC))  # 00:30 in Amsterdam, 19:30 in New York
    assert "gave 1 birthday treats" in birthdays(app)
    assert (len(treats(api, ben)), len(treats(api, anna))) == (1, 0)
    on(datetime(2026, 3, 10, 3, 30, tzinfo=UTC))  # 23:30 on the 9th in New York
    assert "gave 0 birthday treats" in birthdays(app)
    on(datetime(2026, 3, 10, 4, 30, tzinfo=UTC))  # 00:30 on the 10th in New York
    assert "gave 1 birthday treats" in birthdays(app)
    assert (len(treats(api, ben)), len(treats(api, anna))) == (1, 1)


def test_without_any_store_the_day_is_utc(api, app):
    on(JOINED)
    add_reward(api, api.admin())
    anna = api.register("Anna")
    born(api, anna, "1990-03-10")
    on(datetime(2026, 3, 9, 23, 30, tzinfo=UTC))
    assert "gave 0 birthday treats" in birthdays(app)
    on(datetime(2026, 3, 10, 0, 30, tzinfo=UTC))
    assert "gave 1 birthday treats" in birthdays(app)


def test_a_29_february_birthday_is_celebrated_on_28_february_in_common_years(api, app, chain):
    _, _, _, anna = chain
    born(api, anna, "2000-02-29")
    on(datetime(2027, 2, 28, 12, 0, tzinfo=UTC))
    assert "gave 1 birthday treats" in birthdays(app)
    on(datetime(2027, 3, 1, 12, 0, tzinfo=UTC))
    assert "gave 0 birthday treats" in birthdays(app)
    on(datetime(2028, 2, 28, 12, 0, tzinfo=UTC))  # a leap year: the day itself
    assert "gave 0 birthday treats" in birthdays(app)
    on(datetime(2028, 2, 29, 12, 0, tzinfo=UTC))
    assert "gave 1 birthday treats" in birthdays(app)
    assert len(treats(api, anna)) == 2


def test_no_free_drink_in_the_catalog_no_treats(api, app, chain):
    admin, reward, _, anna = chain
    response = api.patch(f"/v1/loyalty/rewards/{reward['id']}", {"is_active": False}, as_=admin)
    assert response.status_code == 200, response.get_json()
    on(datetime(2026, 3, 9, 7, 0, tzinfo=UTC))
    assert "no reward for any drink" in birthdays(app)
    assert treats(api, anna) == []


def test_two_runs_at_once_give_one_treat(api, app, chain):
    anna = chain[3]
    on(datetime(2026, 3, 9, 7, 0, tzinfo=UTC))
    given = race(4, lambda i: hook(app, lambda: sum(service().give_birthday_treats())))
    assert sorted(given) == [0, 0, 0, 1]
    assert len(treats(api, anna)) == 1
    assert [m[0] for m in inbox(api, anna)].count("birthday_treat") == 1
