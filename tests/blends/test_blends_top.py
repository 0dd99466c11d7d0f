"""The top-10 of user-generated blends: a rating with a prior, plus orders and copies."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.support.api import problem
from tests.support.blends import compose, make_menu, order, rate, simple
from tests.support.stores import counter_scene

M = 10  # PRIOR_VOTES


@pytest.fixture
def menu(api):
    return make_menu(api)


def _top(api, **query):
    response = api.get("/v1/blends/top", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _bayes(stars, mean):
    return (sum(stars) + M * mean) / (len(stars) + M)


def _activity(orders: int) -> float:
    return 0.5 * orders / (orders + 20)


def test_one_five_star_vote_does_not_beat_fifty_votes_of_4_6(api, menu):
    scanner = counter_scene(api, funds=0).scanner
    anna, ben, carl, dana = (api.register(n) for n in ("Anna", "Ben", "Carl", "Dana"))
    raters = [api.register("Rater") for _ in range(50)]
    lucky = compose(api, anna, simple(menu, name="One lucky vote", visibility="public"))
    loved = compose(api, ben, simple(menu, name="Fifty at 4.6", visibility="public"))
    plain = compose(api, carl, simple(menu, name="Thirty at 3", visibility="public"))
    hidden = compose(api, dana, simple(menu, name="Private fives"))
    gone = compose(api, dana, simple(menu, name="Deleted fives", visibility="public"))
    # Each rater has had what they rate below, in one order: 50, 30, 5 and 1 cups.
    for n, rater in enumerate(raters):
        had = [loved, *([plain] if n < 30 else []), *([gone] if n < 5 else [])]
        order(api, scanner, rater, *had, *([lucky] if n == 0 else []))

    rate(api, raters[0], lucky, 5)
    rate(api, anna, lucky, 5)  # her own: not counted
    loved_stars = [5] * 30 + [4] * 20  # mean 4.6
    for rater, stars in zip(raters, loved_stars, strict=True):
        rate(api, rater, loved, stars)
    for rater in raters[:30]:
        rate(api, rater, plain, 3)
    rate(api, dana, hidden, 5)
    for rater in raters[:5]:
        rate(api, rater, gone, 5)
    api.delete(f"/v1/blends/{gone['id']}", as_=dana)

    top = _top(api, window="all")
    assert top["window"] == "all"
    names = [item["blend"]["name"] for item in top["items"]]
    assert names == ["Fifty at 4.6", "One lucky vote", "Thirty at 3"]

    # C: every counted rating, the deleted blend's too (not the creators' own).
    counted = [5, *loved_stars, *[3] * 30, *[5] * 5]
    mean = sum(counted) / len(counted)
    expected = [_bayes(loved_stars, mean), _bayes([5], mean), _bayes([3] * 30, mean)]
    assert [item["weighted_rating"] for item in top["items"]] == pytest.approx(expected, abs=1e-4)
    scores = [w + _activity(a) for w, a in zip(expected, (50, 1, 30), strict=True)]
    assert [item["score"] for item in top["items"]] == pytest.approx(scores, abs=1e-4)
    assert [item["orders"] for item in top["items"]] == [50, 1, 30]
    assert [item["rank"] for item in top["items"]] == [1, 2, 3]
    first = top["items"][0]["blend"]
    assert first["rating"] == {"average": 4.6, "count": 50}
    assert first["creator"]["handle"] == ben.handle
    assert first["my_rating"] is None
    assert top["items"][1]["blend"]["rating"] == {"average": 5.0, "count": 1}

    assert [i["blend"]["name"] for i in _top(api, window="all", limit=1)["items"]] == [
        "Fifty at 4.6"
    ]


def test_fake_raters_cannot_rate_a_blend_into_the_top_10(api, menu):
    """Only ratings by people who had the blend rank it; anyone's are shown, marked."""
    scene = counter_scene(api, funds=0)
    ben, carl = api.register("Ben"), api.register("Carl")
    honest = compose(api, ben, simple(menu, name="Had by three", visibility="public"))
    planted = compose(api, carl, simple(menu, name="Never ordered", visibility="public"))
    for _ in range(3):
        drinker = api.register("Drinker")
        order(api, scene.scanner, drinker, honest)
        rate(api, drinker, honest, 4)
    for _ in range(20):
        rate(api, api.register("Fake"), planted, 5)
    rate(api, carl, planted, 5)  # its creator: never counted either

    for window in ("7d", "all"):
        top = _top(api, window=window, limit=50)["items"]
        assert [i["blend"]["name"] for i in top] == ["Had by three"]
    assert top[0]["blend"]["rating"] == {"average": 4.0, "count": 3}
    shown = api.get(f"/v1/blends/{planted['id']}", as_=ben).get_json()
    assert shown["rating"] == {"average": None, "count": 0}
    ratings = api.get(f"/v1/blends/{planted['id']}/ratings?limit=50", as_=ben).get_json()
    assert len(ratings["items"]) == 21
    assert {r["verified"] for r in ratings["items"]} == {False}
    ratings = api.get(f"/v1/blends/{honest['id']}/ratings", as_=ben).get_json()
    assert [r["verified"] for r in ratings["items"]] == [True] * 3


def test_orders_and_copies_count_inside_the_window(api, app, menu):
    from wallet_api.clock import clock, utcnow

    now = utcnow()
    anna, ben = api.register("Anna"), api.register("Ben")
    raters = [api.register("Rater") for _ in range(3)]
    early = compose(api, anna, simple(menu, name="Ordered a lot, 20 days ago", visibility="public"))
    recent = compose(api, ben, simple(menu, name="Ordered a little, today", visibility="public"))
    quiet = compose(api, ben, simple(menu, name="Never ordered", visibility="public"))
    for blend in (early, recent, quiet):
        for rater in raters:
            # No ties: "never ordered" a little lower than the two with the same 4 stars.
            rate(api, rater, blend, 3 if blend is quiet and rater is raters[0] else 4)
    with app.app_context():
        from wallet_api.blends.service import record_blend_ordered, verify_ratings_of
        from wallet_api.extensions import db

        record_blend_ordered(uuid.UUID(early["id"]), uuid.UUID(ben.id), 40, now - timedelta(20))
        record_blend_ordered(uuid.UUID(recent["id"]), uuid.UUID(anna.id), 3, now)
        # What a charge of the three blends to each rater does to their ratings (a charge
        # would count as orders "today" too).
        for rater in raters:
            verify_ratings_of(
                uuid.UUID(rater.id), [uuid.UUID(b["id"]) for b in (early, recent, quiet)]
            )
        db.session.commit()
    clock.freeze(now)
    api.post(f"/v1/blends/{recent['id']}/copy", as_=raters[0])  # a copy counts twice

    week = _top(api, window="7d")["items"]
    assert [i["blend"]["name"] for i in week] == [
        "Ordered a little, today",
        "Ordered a lot, 20 days ago",
        "Never ordered",
    ]
    assert [(i["orders"], i["copies"]) for i in week] == [(3, 1), (0, 0), (0, 0)]
    four_stars = _bayes([4, 4, 4], mean=(8 * 4 + 3) / 9)
    activity = 3 + 2 * 1
    assert week[0]["score"] == pytest.approx(
        four_stars + 0.5 * activity / (activity + 20), abs=1e-4
    )
    assert week[1]["score"] == pytest.approx(four_stars, abs=1e-4)

    for window in ("30d", "all"):
        items = _top(api, window=window)["items"]
        assert [i["blend"]["name"] for i in items] == [
            "Ordered a lot, 20 days ago",
            "Ordered a little, today",
            "Never ordered",
        ]
        assert items[0]["orders"] == 40
        assert items[0]["score"] == pytest.approx(four_stars + 0.5 * 40 / 60, abs=1e-4)

    # The default window is 7 days.
    assert _top(api)["window"] == "7d"


def test_an_unrated_or_private_blend_is_not_ranked(api, menu):
    anna = api.register("Anna")
    compose(api, anna, simple(menu, visibility="public"))
    assert _top(api, window="all")["items"] == []


@pytest.mark.parametrize("query", [{"window": "1y"}, {"limit": 0}, {"limit": 51}])
def test_top_arguments_are_checked(api, query):
    problem(api.get("/v1/blends/top", query_string=query), 422, "validation_error")


def test_seed_demo_shares_rates_and_copies_blends_once(app, api):
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["seed-demo"])
        assert result.exit_code == 0, result.output
    ben = api.post(
        "/v1/auth/login", {"email": "ben@demo.beanwallet.test", "password": "coffee-please"}
    ).get_json()["access_token"]
    mine = api.get("/v1/blends", as_=ben).get_json()["items"]
    assert sorted(b["name"] for b in mine) == [
        "Anna's Morning Fog",
        "Kenyan Cold Snap",
        "Sunday Filter",
    ]
    assert all(b["orderable"] and b["price"] > 0 for b in mine)
    top = _top(api, window="7d")["items"]
    assert [i["blend"]["name"] for i in top] == ["Morning Fog", "Kenyan Cold Snap"]
    assert (top[0]["orders"], top[0]["copies"]) == (2, 1)
    assert top[0]["blend"]["enjoyed_by"] == 1


@pytest.mark.parametrize(
    ("regime", "stars"),
    [
        ("harsh raters: C far below the index's reference mean", (1, 1, 1, 2, 2, 3)),
        ("kind raters: C far above it", (5, 5, 5, 4, 4, 3)),
        ("mixed", (1, 2, 3, 4, 5)),
    ],
)
def test_the_ranking_equals_scoring_every_blend(api, app, menu, regime, stars):
    """The pruned ranking gives exactly what scoring every public blend by hand gives."""
    import random

    from wallet_api.auth import service as auth
    from wallet_api.blends import service
    from wallet_api.blends.schemas import BlendCreateSchema
    from wallet_api.clock import utcnow
    from wallet_api.extensions import db

    rng = random.Random(regime)  # noqa: S311  (test data, not secrets)
    now = utcnow()
    with app.app_context():
        people = [
            auth.register_user(
                email=f"p{n}@example.com", password="x" * 12, first_name="P", handle=f"p{n}"
            ).id
            for n in range(12)
        ]
        blends = []
        for n in range(40):
            visibility = rng.choice(["public", "public", "public", "private", "friends"])
            body = BlendCreateSchema().load(simple(menu, name=f"B{n}", visibility=visibility))
            blends.append(service.create_blend(rng.choice(people), body))
        orders: dict[uuid.UUID, list[tuple[int, int]]] = {}
        for blend in blends:
            # Others see only the public ones; creators rate their own too (not counted).
            raters = rng.sample(people, rng.randint(0, 8)) if blend.visibility == "public" else []
            for rater in [*raters, blend.owner_id]:
                service.rate_blend(blend.id, rater, rng.choice(stars), None)
                if rng.random() < 0.7:
                    # Had it after rating (what a charge of it does); some rate again.
                    service.verify_ratings_of(rater, [blend.id])
                    if rng.random() < 0.3:
                        service.rate_blend(blend.id, rater, rng.choice(stars), None)
            for _ in range(rng.randint(0, 3)):
                days_ago, quantity = rng.choice([0, 3, 10, 40]), rng.randint(1, 30)
                buyer = rng.choice(people)
                service.record_blend_ordered(
                    blend.id, buyer, quantity, now - timedelta(days=days_ago)
                )
                if buyer != blend.owner_id:
                    orders.setdefault(blend.id, []).append((days_ago, quantity))
        for blend in rng.sample(blends, 3):
            service.delete_blend(blend)
        db.session.commit()
        assert service.verify_rating_totals() == []

        counted = {
            b.id: [
                r.stars
                for r in db.session.query(service.BlendRating).filter_by(blend_id=b.id)
                if r.verified and r.user_id != b.owner_id
            ]
            for b in blends
        }
        all_stars = [s for v in counted.values() for s in v]
        mean = sum(all_stars) / len(all_stars)
        for window, days in (("7d", 7), ("30d", 30), ("all", None)):
            expected = []
            for b in blends:
                if b.visibility != "public" or b.deleted_at is not None or not counted[b.id]:
                    continue
                v = counted[b.id]
                a = sum(q for d, q in orders.get(b.id, []) if days is None or d < days)
                score = (sum(v) + M * mean) / (len(v) + M) + 0.5 * a / (a + 20)
                expected.append((-round(score, 9), -len(v), b.id))
            expected.sort()
            for limit in (3, 10):
                top = service.top_blends(window, limit)
                assert [i["blend"]["id"] for i in top] == [e[2] for e in expected[:limit]]
                assert [i["score"] for i in top] == pytest.approx(
                    [-e[0] for e in expected[:limit]], abs=1e-4
                )
