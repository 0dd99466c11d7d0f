"""What charging calls: pricing an order line of a blend and counting the order."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import pytest

from tests.support.blends import compose, make_menu, recipe


@pytest.fixture
def menu(api):
    return make_menu(api)


def _id(thing):
    """The UUID of a person or of a blend as the API showed it."""
    return uuid.UUID(thing["id"] if isinstance(thing, dict) else thing.id)


def test_a_blend_line_is_priced_now_with_the_whole_recipe(api, app, menu):
    anna = api.register("Anna")
    blend = compose(api, anna, recipe(menu))
    with app.app_context():
        from wallet_api.blends.service import price_blend_line

        line = price_blend_line(_id(blend), "L", 2, viewer_id=_id(anna))
        assert (line.kind, line.item_id, line.name) == ("blend", _id(blend), "Morning Fog")
        assert (line.size, line.quantity, line.unit_price, line.total) == ("L", 2, 592, 1184)
        assert line.snapshot == {
            "blend": "Morning Fog",
            "blend_id": blend["id"],
            "creator": "Anna",
            "size": "L",
            "base": "Espresso",
            "shots": 2,
            "beans": [
                {"name": "Yirgacheffe", "origin": "Ethiopia", "share": 60},
                {"name": "Huila", "origin": "Colombia", "share": 40},
            ],
            "milk": "Oat milk",
            "syrups": [{"name": "Vanilla", "pumps": 2}],
            "toppings": ["Whipped cream"],
            "extras": ["Decaf"],
            "notes": "Extra hot, please",
        }
        # Without a size, the blend's own.
        assert price_blend_line(_id(blend), None, 1, viewer_id=_id(anna)).unit_price == 552

    # The current price: the menu changed, so does the line; the old snapshot was a copy.
    api.patch(f"/v1/catalog/ingredients/{menu['Oat milk']}", {"price_delta": 70}, as_=menu.admin)
    with app.app_context():
        from wallet_api.blends.service import price_blend_line

        assert price_blend_line(_id(blend), "M", 1, viewer_id=_id(anna)).unit_price == 572


def test_price_lines_prices_blends_and_standard_drinks_together(api, app, menu):
    from tests.support.catalog import add_product

    anna = api.register("Anna")
    blend = compose(api, anna, recipe(menu))
    latte = add_product(api, menu.admin, "Latte")
    with app.app_context():
        from wallet_api.catalog.service import price_lines

        lines = price_lines(
            [
                {"blend_id": _id(blend), "size": None, "quantity": 3},
                {"product_id": _id(latte), "size": "S", "quantity": 1},
            ],
            viewer_id=_id(anna),
        )
        assert [(line.kind, line.unit_price, line.total) for line in lines] == [
            ("blend", 552, 1656),
            ("product", 350, 350),
        ]


def test_a_blend_the_orderer_may_not_see_cannot_be_ordered(api, app, menu):
    from wallet_api.catalog.errors import ItemUnavailable, SizeUnavailable

    anna, eve = api.register("Anna"), api.register("Eve")
    private = compose(api, anna, recipe(menu))
    friends = compose(api, anna, recipe(menu, visibility="friends"))
    public = compose(api, anna, recipe(menu, visibility="public"))
    gone = compose(api, anna, recipe(menu, visibility="public"))
    api.delete(f"/v1/blends/{gone['id']}", as_=anna)
    cold = compose(
        api, anna, recipe(menu, base_id=menu["Cold Brew"], visibility="public", name="Cold")
    )
    with app.app_context():
        from wallet_api.blends.service import price_blend_line
        from wallet_api.catalog.service import price_lines

        def refused(blend_id, viewer):
            with pytest.raises(ItemUnavailable) as caught:
                price_lines([{"blend_id": blend_id, "size": "M"}], viewer_id=viewer)
            return caught.value.errors

        unknown = refused(uuid.uuid4(), _id(eve))
        assert refused(_id(private), _id(eve)) == unknown
        assert refused(_id(friends), _id(eve)) == unknown
        assert refused(_id(gone), _id(anna)) == unknown
        assert refused(_id(private), None) == unknown
        assert price_blend_line(_id(public), "M", 1, viewer_id=_id(eve)).unit_price == 552
        assert price_blend_line(_id(public), "M", 1, viewer_id=None).unit_price == 552
        with pytest.raises(SizeUnavailable):
            price_blend_line(_id(cold), "S", 1, viewer_id=_id(eve))

    api.delete(f"/v1/catalog/ingredients/{menu['Vanilla']}", as_=menu.admin)
    with app.app_context():
        from wallet_api.blends.service import price_blend_line

        with pytest.raises(ItemUnavailable, match="Vanilla"):
            price_blend_line(_id(public), "M", 1, viewer_id=_id(eve))


def test_orders_are_counted_for_the_creator_and_the_original(api, app, menu):
    anna, ben, carl = api.register("Anna"), api.register("Ben"), api.register("Carl")
    original = compose(api, anna, recipe(menu, visibility="public"))
    copy = api.post(f"/v1/blends/{original['id']}/copy", as_=ben).get_json()
    at = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    with app.app_context():
        from wallet_api.blends.service import record_blend_ordered
        from wallet_api.extensions import db

        record_blend_ordered(_id(original), _id(carl), 2, at)
        record_blend_ordered(_id(original), _id(carl), 1, at)
        record_blend_ordered(_id(original), _id(anna), 5, at)  # her own: not counted
        record_blend_ordered(_id(copy), _id(ben), 3, at)  # Ben's own copy: counts for Anna
        db.session.commit()

    shown = api.get(f"/v1/blends/{original['id']}", as_=anna).get_json()
    # Carl 3 cups, Ben 3 cups of his copy; enjoyed by Ben (copied, ordered) and Carl.
    assert (shown["orders_count"], shown["copies_count"], shown["enjoyed_by"]) == (6, 1, 2)
    bens = api.get(f"/v1/blends/{copy['id']}", as_=ben).get_json()
    assert (bens["orders_count"], bens["enjoyed_by"]) == (0, 0)

    with app.app_context():
        from sqlalchemy import select

        from wallet_api.blends.models import BlendDailyStats
        from wallet_api.extensions import db

        rows = db.session.execute(
            select(BlendDailyStats.day, BlendDailyStats.orders, BlendDailyStats.copies).where(
                BlendDailyStats.blend_id == _id(original)
            )
        ).all()
        today_copy = [r for r in rows if r.copies]
        assert [(r.day.isoformat(), r.orders) for r in rows if r.orders] == [("2026-11-20", 6)]
        assert len(today_copy) == 1


def test_recording_an_order_of_an_unknown_blend_fails(app):
    from wallet_api.blends.errors import BlendNotFound

    with app.app_context():
        from wallet_api.blends.service import record_blend_ordered

        with pytest.raises(BlendNotFound):
            record_blend_ordered(uuid.uuid4(), uuid.uuid4(), 1, datetime.now(UTC))


def _order_at_once(app, blend_id, buyers, quantity):
    """Each buyer's order counted in its own thread, session and committed transaction."""
    barrier = threading.Barrier(len(buyers))
    errors = []

    def run(buyer):
        with app.app_context():
            from wallet_api.blends.service import record_blend_ordered
            from wallet_api.extensions import db

            barrier.wait()
            try:
                record_blend_ordered(blend_id, buyer, quantity, datetime.now(UTC))
                db.session.commit()
            except Exception as exc:  # reported below, with the thread's own error
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(buyer,)) for buyer in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def _counts(app, blend_id):
    with app.app_context():
        from sqlalchemy import func, select

        from wallet_api.blends.models import Blend, BlendDailyStats
        from wallet_api.extensions import db

        blend = db.session.get(Blend, blend_id)
        daily = db.session.scalar(
            select(func.sum(BlendDailyStats.orders)).where(BlendDailyStats.blend_id == blend_id)
        )
        return blend.orders_count, daily, blend.enjoyed_by


def test_orders_at_the_same_moment_are_all_counted_sqlite_too(api, app, menu):
    anna = api.register("Anna")
    buyers = [_id(api.register("Buyer")) for _ in range(3)]
    blend = compose(api, anna, recipe(menu, visibility="public"))
    _order_at_once(app, _id(blend), [*buyers, buyers[0]], 2)
    assert _counts(app, _id(blend)) == (8, 8, 3)


@pytest.mark.postgres_only
def test_many_orders_at_the_same_moment_lose_none(api, app, menu):
    anna = api.register("Anna")
    buyers = [_id(api.register("Buyer")) for _ in range(6)]
    blend = compose(api, anna, recipe(menu, visibility="public"))
    _order_at_once(app, _id(blend), buyers * 2, 3)
    assert _counts(app, _id(blend)) == (36, 36, 6)
