"""Blends: compose and price against the menu, who may see them, ratings, copies, orders
and the top-10. No Flask request in here; nothing commits.

Price of a blend in a size (cents, from today's menu)::

    base.price[size]                          the cup, per size, set on the base ingredient
  + shots x base.price_delta                  a base's delta is its price per shot
  + round(sum(bean.price_delta x share) / 100)   beans once per drink, by share (half up)
  + milk.price_delta
  + sum(syrup.price_delta x pumps)
  + sum(topping.price_delta) + sum(extra.price_delta)

Ranking (``top_blends``), for public, not deleted blends with a counted rating::

    C      = mean stars of every counted rating, of every blend (3.0 before any)
    rating = (v x R + m x C) / (v + m)        v counted ratings, R their mean, m = 10
    a      = orders + 2 x copies              cups ordered and copies made in the window,
                                              by people other than the creator
    score  = rating + 0.5 x a / (a + 20)      at most +0.5: half of it at 20 orders

Ratings count for all time; orders and copies only inside the window (``all``: ever).
A rating is "counted" when it is verified (the rater has had the blend, see
``BlendRating.verified``) and not by the blend's creator: ratings by anyone else are shown
but rank nothing. Ties: more counted ratings first, then the blend id.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import CompoundSelect, Float, and_, cast, func, or_, select, text, union, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Result
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload

from wallet_api.auth import service as auth
from wallet_api.auth.errors import UserNotFound
from wallet_api.auth.models import User
from wallet_api.blends.errors import BlendNotFound, NotYourBlend
from wallet_api.blends.models import (
    PRIOR_VOTES,
    RANKED,
    REF_MEAN,
    TOTALS_SHARDS,
    Blend,
    BlendComponent,
    BlendDailyStats,
    BlendEnjoyer,
    BlendRating,
    BlendRatingTotals,
    Visibility,
)
from wallet_api.catalog.errors import ItemUnavailable, SizeUnavailable
from wallet_api.catalog.models import Ingredient, IngredientKind, Size
from wallet_api.catalog.service import PricedLine
from wallet_api.clock import utcnow
from wallet_api.counter.models import Charge, ChargeLine
from wallet_api.extensions import Model, db
from wallet_api.extensions.pagination import keyset_page
from wallet_api.extensions.problems import ValidationFailed
from wallet_api.ledger.service import currency
from wallet_api.loyalty import service as loyalty
from wallet_api.social.service import are_friends

# PRIOR_VOTES (m: about this many votes before a blend's own mean dominates) and REF_MEAN
# live with the models: the stored ``ref_rating`` depends on them.
DEFAULT_MEAN = 3.0  # C while nothing is rated yet
ACTIVITY_WEIGHT = 0.5  # the most that orders and copies can add to a score
ACTIVITY_HALF = 20  # orders (copies count twice) that earn half of that
COPY_WEIGHT = 2  # saving someone's recipe says more than ordering it once
WINDOW_DAYS = {"7d": 7, "30d": 30, "all": None}


# --- who may see a blend ----------------------------------------------------------------


def _visible_levels(owner_id: uuid.UUID, viewer_id: uuid.UUID | None) -> set[Visibility]:
    """The visibilities of ``owner_id``'s blends that ``viewer_id`` may see."""
    if viewer_id == owner_id:
        return set(Visibility)
    if viewer_id is not None and are_friends(owner_id, viewer_id):
        return {Visibility.PUBLIC, Visibility.FRIENDS}
    return {Visibility.PUBLIC}


def can_view(blend: Blend, viewer_id: uuid.UUID | None) -> bool:
    """The visibility rule: the creator sees their blends, friends see `friends` blends,
    everyone sees `public` ones; nobody sees a deleted one. Lists filter by the same
    ``_visible_levels``."""
    return blend.deleted_at is None and blend.visibility in _visible_levels(
        blend.owner_id, viewer_id
    )


def get_visible_blend(blend_id: uuid.UUID, viewer_id: uuid.UUID | None) -> Blend:
    blend = db.session.get(Blend, blend_id)
    if blend is None or not can_view(blend, viewer_id):
        raise BlendNotFound()
    return blend


def get_own_blend(blend_id: uuid.UUID, owner_id: uuid.UUID) -> Blend:
    blend = get_visible_blend(blend_id, owner_id)
    if blend.owner_id != owner_id:
        raise NotYourBlend("Only its creator can change this blend; copy it to make your own.")
    return blend


# --- the recipe and its price -----------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """A blend's ingredients, resolved from the menu; ``amount`` is share % or pumps."""

    base: Ingredient
    shots: int
    beans: Sequence[tuple[Ingredient, int]]
    milk: Ingredient | None
    syrups: Sequence[tuple[Ingredient, int]]
    toppings: Sequence[Ingredient]
    extras: Sequence[Ingredient]

    @classmethod
    def of(cls, blend: Blend) -> Recipe:
        def amounts(kind: IngredientKind) -> list[tuple[Ingredient, int]]:
            return [(c.ingredient, c.amount) for c in blend.of_kind(kind)]

        return cls(
            base=blend.base,
            shots=blend.shots,
            beans=amounts(IngredientKind.BEAN),
            milk=blend.milk,
            syrups=amounts(IngredientKind.SYRUP),
            toppings=[c.ingredient for c in blend.of_kind(IngredientKind.TOPPING)],
            extras=[c.ingredient for c in blend.of_kind(IngredientKind.EXTRA)],
        )

    def ingredients(self) -> list[Ingredient]:
        milk = [self.milk] if self.milk is not None else []
        return [
            self.base,
            *(i for i, _ in self.beans),
            *milk,
            *(i for i, _ in self.syrups),
            *self.toppings,
            *self.extras,
        ]

    def price(self, size: Size) -> int | None:
        """Today's price in cents (module docstring), or None if the base has no such size."""
        cup = self.base.price_for(size)
        if cup is None:
            return None
        beans = sum(bean.price_delta * share for bean, share in self.beans)
        return (
            cup
            + self.shots * self.base.price_delta
            + (beans + 50) // 100
            + (self.milk.price_delta if self.milk is not None else 0)
            + sum(syrup.price_delta * pumps for syrup, pumps in self.syrups)
            + sum(i.price_delta for i in (*self.toppings, *self.extras))
        )

    def off_menu(self) -> list[Ingredient]:
        return [i for i in self.ingredients() if not i.is_available]


_SLOT_KINDS = {
    "base_id": IngredientKind.BASE,
    "milk_id": IngredientKind.MILK,
    "beans": IngredientKind.BEAN,
    "syrups": IngredientKind.SYRUP,
    "toppings": IngredientKind.TOPPING,
    "extras": IngredientKind.EXTRA,
}
_KIND_NAMES = {
    IngredientKind.BASE: "a base",
    IngredientKind.MILK: "a milk",
    IngredientKind.BEAN: "a bean origin",
    IngredientKind.SYRUP: "a syrup",
    IngredientKind.TOPPING: "a topping",
    IngredientKind.EXTRA: "an extra",
}


def _slots(data: Mapping[str, Any]) -> Iterable[tuple[str, int | None, str | None, uuid.UUID]]:
    """(slot, index in its list, key inside the item, ingredient id) for each ingredient.

    A slot left out, or an item ``None`` or without its id, is one the schema refused (what
    loaded of a refused body is checked too): its own error says so, and it is skipped.
    """
    for slot in ("base_id", "milk_id"):
        if data.get(slot) is not None:
            yield slot, None, None, data[slot]
    for slot in ("beans", "syrups"):
        for index, item in enumerate(data.get(slot) or ()):
            if item is not None and item.get("ingredient_id") is not None:
                yield slot, index, "ingredient_id", item["ingredient_id"]
    for slot in ("toppings", "extras"):
        for index, ingredient_id in enumerate(data.get(slot) or ()):
            if ingredient_id is not None:
                yield slot, index, None, ingredient_id


def _check(
    data: Mapping[str, Any], keep: Collection[uuid.UUID] = ()
) -> tuple[dict[uuid.UUID, Ingredient], dict[str, Any]]:
    """The recipe's ingredients by id, and what the menu says against it (one error per rule).

    ``keep``: ingredients the blend already has, allowed although the menu dropped them
    since (editing a blend's name must not fail on them; it cannot be ordered until they
    are replaced).
    """
    slots = list(_slots(data))
    found = {
        i.id: i
        for i in db.session.scalars(
            select(Ingredient).where(Ingredient.id.in_({s[3] for s in slots}))
        )
    }
    errors: dict[str, Any] = {}
    for slot, index, key, ingredient_id in slots:
        ingredient = found.get(ingredient_id)
        wanted = _SLOT_KINDS[slot]
        if ingredient is None:
            message = "There is no such ingredient."
        elif not ingredient.is_available and ingredient_id not in keep:
            message = f"{ingredient.name} is not on the menu any more."
        elif ingredient.kind != wanted:
            message = (
                f"{ingredient.name} is {_KIND_NAMES[ingredient.kind]}, not {_KIND_NAMES[wanted]}."
            )
        else:
            continue
        error: Any = [message]
        if key is not None:
            error = {key: error}
        if index is None:
            errors[slot] = error
        else:
            errors.setdefault(slot, {})[index] = error
    base_id, size = data.get("base_id"), data.get("size")
    base = found.get(base_id) if base_id is not None else None
    if (
        "base_id" not in errors
        and base is not None
        and size is not None
        and base.price_for(size) is None
    ):
        errors["size"] = [f"{base.name} is not offered in size {size.value}."]
    return found, errors


def _changed(blend: Blend, changes: Mapping[str, Any]) -> tuple[dict[str, Any], set[uuid.UUID]]:
    """A PATCH laid over the saved recipe, and the ingredients the blend may keep."""
    return {**_recipe_fields(blend), **changes}, {i.id for i in Recipe.of(blend).ingredients()}


def menu_errors(data: Mapping[str, Any], blend: Blend | None = None) -> dict[str, Any]:
    """What the menu says against a new recipe, or against ``blend`` changed by ``data``, by
    field: for a body the schema refused, so that one 422 tells every broken rule."""
    if blend is not None:
        return _check(*_changed(blend, data))[1]
    return _check(data)[1]


def _resolve(data: Mapping[str, Any], *, keep: Collection[uuid.UUID] = ()) -> Recipe:
    """Check a recipe (already shaped by the schema) against the menu."""
    found, errors = _check(data, keep)
    if errors:
        raise ValidationFailed("The recipe does not fit the menu; see errors.", errors=errors)

    return Recipe(
        base=found[data["base_id"]],
        shots=data["shots"],
        beans=[(found[b["ingredient_id"]], b["share"]) for b in data["beans"]],
        milk=found[data["milk_id"]] if data.get("milk_id") is not None else None,
        syrups=[(found[s["ingredient_id"]], s["pumps"]) for s in data["syrups"]],
        toppings=[found[i] for i in data["toppings"]],
        extras=[found[i] for i in data["extras"]],
    )


def _set_recipe(blend: Blend, recipe: Recipe) -> None:
    blend.base = recipe.base
    blend.shots = recipe.shots
    blend.milk = recipe.milk
    rows = [
        *((IngredientKind.BEAN, i, share) for i, share in recipe.beans),
        *((IngredientKind.SYRUP, i, pumps) for i, pumps in recipe.syrups),
        *((IngredientKind.TOPPING, i, 1) for i in recipe.toppings),
        *((IngredientKind.EXTRA, i, 1) for i in recipe.extras),
    ]
    if blend.components:
        # Replaced rows go first: the unit of work would insert the new ones before deleting
        # the old, and an ingredient kept in the blend would then be listed twice.
        blend.components.clear()
        db.session.flush()
    blend.components = [
        BlendComponent(ingredient=ingredient, kind=kind, position=position, amount=amount)
        for position, (kind, ingredient, amount) in enumerate(rows)
    ]


def _recipe_fields(blend: Blend) -> dict[str, Any]:
    """A saved blend in the shape the schemas load, to lay a PATCH over it."""
    recipe = Recipe.of(blend)
    return {
        "size": blend.size,
        "base_id": recipe.base.id,
        "shots": recipe.shots,
        "beans": [{"ingredient_id": i.id, "share": share} for i, share in recipe.beans],
        "milk_id": recipe.milk.id if recipe.milk is not None else None,
        "syrups": [{"ingredient_id": i.id, "pumps": pumps} for i, pumps in recipe.syrups],
        "toppings": [i.id for i in recipe.toppings],
        "extras": [i.id for i in recipe.extras],
    }


# --- creating, changing, deleting -------------------------------------------------------

_PLAIN_FIELDS = ("name", "size", "notes", "visibility")


def create_blend(owner_id: uuid.UUID, data: Mapping[str, Any]) -> Blend:
    recipe = _resolve(data)
    now = utcnow()
    blend = Blend(
        owner_id=owner_id,
        **{name: data[name] for name in _PLAIN_FIELDS},
        created_at=now,
        updated_at=now,
    )
    _set_recipe(blend, recipe)
    db.session.add(blend)
    db.session.flush()
    return blend


def update_blend(blend: Blend, changes: Mapping[str, Any]) -> Blend:
    """Apply a PATCH: the whole recipe is checked and priced again."""
    data, keep = _changed(blend, changes)
    recipe = _resolve(data, keep=keep)
    for name in _PLAIN_FIELDS:
        if name in changes:
            setattr(blend, name, changes[name])
    _set_recipe(blend, recipe)
    blend.updated_at = utcnow()
    db.session.flush()
    return blend


def delete_blend(blend: Blend) -> None:
    """Soft: it leaves every list; copies, receipts and gifts keep what they refer to."""
    blend.deleted_at = utcnow()
    db.session.flush()


def copy_blend(
    blend_id: uuid.UUID,
    user_id: uuid.UUID,
    *,
    name: str | None = None,
    visibility: Visibility = Visibility.PRIVATE,
) -> Blend:
    """My own copy of a blend ("one of what they're having"), crediting its creator."""
    source = get_visible_blend(blend_id, user_id)
    now = utcnow()
    copy = Blend(
        owner_id=user_id,
        name=name or source.name,
        size=source.size,
        notes=source.notes,
        visibility=visibility,
        copied_from_id=source.id,
        origin_id=source.origin_id or source.id,
        original_creator_id=source.original_creator_id or source.owner_id,
        created_at=now,
        updated_at=now,
    )
    _set_recipe(copy, Recipe.of(source))
    db.session.add(copy)
    db.session.flush()
    _credit(source, user_id, copies=1, at=now)
    # The creator's bonus comes with a person's first copy only: copying takes no
    # Idempotency-Key, so a retried or repeated copy must not move points again.
    earlier = db.session.scalar(
        select(func.count(Blend.id)).where(
            Blend.owner_id == user_id, Blend.copied_from_id == source.id, Blend.id != copy.id
        )
    )
    if not earlier:
        for blend_id, creator_id in creators_credited(source.id, user_id):
            loyalty.reward_creator(
                creator_id, blend_id=blend_id, by_user_id=user_id, reason="copy", at=now
            )
    return copy


def creators_credited(
    blend_id: uuid.UUID, by_user_id: uuid.UUID
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(blend id, creator id) of the public blends that an order or a copy of ``blend_id``
    by ``by_user_id`` credits: the blend itself and the original it was copied from, never
    the person's own. Their creators earn bonus points (loyalty: creators are rewarded)."""
    blend = db.session.get(Blend, blend_id)
    if blend is None:
        return []
    ids = {blend.id} | ({blend.origin_id} if blend.origin_id else set())
    rows = db.session.execute(
        select(Blend.id, Blend.owner_id).where(
            Blend.id.in_(ids),
            Blend.visibility == Visibility.PUBLIC,
            Blend.deleted_at.is_(None),
            Blend.owner_id != by_user_id,
        )
    )
    return sorted((row.id, row.owner_id) for row in rows)


# --- lists ------------------------------------------------------------------------------


def list_my_blends(owner_id: uuid.UUID, *, limit: int, cursor: str | None) -> dict[str, Any]:
    stmt = select(Blend).where(Blend.owner_id == owner_id, Blend.deleted_at.is_(None))
    return keyset_page(stmt, [Blend.created_at, Blend.id], limit=limit, cursor=cursor)


def list_blends_of(
    handle: str, viewer_id: uuid.UUID, *, limit: int, cursor: str | None
) -> dict[str, Any]:
    """The blends of the person with ``handle`` that ``viewer_id`` may see."""
    owner = auth.find_user_by_handle(handle)
    if owner is None or not owner.is_active:
        raise UserNotFound(f"Nobody has the handle @{handle.lstrip('@')}.")
    stmt = select(Blend).where(
        Blend.owner_id == owner.id,
        Blend.deleted_at.is_(None),
        Blend.visibility.in_(_visible_levels(owner.id, viewer_id)),
    )
    return keyset_page(stmt, [Blend.created_at, Blend.id], limit=limit, cursor=cursor)


# --- showing ----------------------------------------------------------------------------


def _person(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.id, "handle": user.handle, "display_name": user.display_name}


def _ref(ingredient: Ingredient, **extra: Any) -> dict[str, Any]:
    return {
        "ingredient_id": ingredient.id,
        "name": ingredient.name,
        "on_menu": ingredient.is_available,
        **extra,
    }


def rating_average(blend: Blend) -> float | None:
    if not blend.rating_count:
        return None
    return round(blend.rating_sum / blend.rating_count, 2)


def present(blend: Blend, my_rating: BlendRating | None = None) -> dict[str, Any]:
    """A blend as ``BlendSchema`` shows it, priced from today's menu."""
    recipe = Recipe.of(blend)
    price = recipe.price(blend.size)
    return {
        "id": blend.id,
        "name": blend.name,
        "creator": _person(blend.owner),
        "visibility": blend.visibility,
        "size": blend.size,
        "base": _ref(recipe.base),
        "shots": recipe.shots,
        "beans": [_ref(i, origin=i.origin, share=share) for i, share in recipe.beans],
        "milk": _ref(recipe.milk) if recipe.milk is not None else None,
        "syrups": [_ref(i, pumps=pumps) for i, pumps in recipe.syrups],
        "toppings": [_ref(i) for i in recipe.toppings],
        "extras": [_ref(i) for i in recipe.extras],
        "notes": blend.notes,
        "currency": currency(),
        "price": price,
        "prices": [
            {"size": size, "price": p} for size in Size if (p := recipe.price(size)) is not None
        ],
        "orderable": price is not None and not recipe.off_menu(),
        "rating": {"average": rating_average(blend), "count": blend.rating_count},
        "my_rating": my_rating,
        "orders_count": blend.orders_count,
        "copies_count": blend.copies_count,
        "enjoyed_by": blend.enjoyed_by,
        "copied_from_id": blend.copied_from_id,
        "original_creator": _person(blend.original_creator),
        "created_at": blend.created_at,
        "updated_at": blend.updated_at,
    }


def present_all(blends: Sequence[Blend], viewer_id: uuid.UUID | None) -> list[dict[str, Any]]:
    """``present`` for a page of blends: their ingredients and the viewer's own ratings
    each in one query."""
    ids = {i for b in blends for i in (b.base_id, b.milk_id) if i is not None}
    ids.update(c.ingredient_id for b in blends for c in b.components)
    # Held until we return (the session only keeps weak references): the blends'
    # relationships find these in the session instead of loading them one by one.
    _held = list(
        db.session.scalars(
            select(Ingredient).where(Ingredient.id.in_(ids)).options(joinedload(Ingredient.prices))
        ).unique()
    )
    mine: dict[uuid.UUID, BlendRating] = {}
    if viewer_id is not None and blends:
        mine = {
            r.blend_id: r
            for r in db.session.scalars(
                select(BlendRating).where(
                    BlendRating.user_id == viewer_id,
                    BlendRating.blend_id.in_([b.id for b in blends]),
                )
            )
        }
    return [present(b, mine.get(b.id)) for b in blends]


def present_one(blend: Blend, viewer_id: uuid.UUID | None) -> dict[str, Any]:
    return present_all([blend], viewer_id)[0]


# --- ratings ----------------------------------------------------------------------------


def _find_rating(blend_id: uuid.UUID, user_id: uuid.UUID) -> BlendRating | None:
    return db.session.scalar(
        select(BlendRating)
        .where(BlendRating.blend_id == blend_id, BlendRating.user_id == user_id)
        .with_for_update()
    )


def _lock_visible_blend(blend_id: uuid.UUID, viewer_id: uuid.UUID) -> Blend:
    """``get_visible_blend``, with the blend's row locked (``FOR NO KEY UPDATE``) in the
    same statement, as ``verify_ratings_of`` locks it."""
    blend = db.session.scalar(
        select(Blend).where(Blend.id == blend_id).with_for_update(key_share=True, of=Blend)
    )
    if blend is None or not can_view(blend, viewer_id):
        raise BlendNotFound()
    return blend


def _has_had(user_id: uuid.UUID, blend_id: uuid.UUID) -> bool:
    """Whether ``user_id`` drank the blend, a copy made from it or (an original) any copy
    down its chain: the rule of ``BlendRating.verified``, read from their charges."""
    drunk = aliased(Blend)
    return (
        db.session.scalar(
            select(ChargeLine.id)
            .join(Charge, Charge.id == ChargeLine.charge_id)
            .join(drunk, drunk.id == ChargeLine.item_id)
            .where(
                Charge.drinker_id == user_id,
                ChargeLine.kind == "blend",
                or_(
                    drunk.id == blend_id,
                    drunk.copied_from_id == blend_id,
                    drunk.origin_id == blend_id,
                ),
            )
            .limit(1)
        )
        is not None
    )


def _counted(rating: BlendRating, owner_id: uuid.UUID) -> bool:
    return rating.verified and rating.user_id != owner_id


def rate_blend(
    blend_id: uuid.UUID, user_id: uuid.UUID, stars: int, comment: str | None
) -> tuple[BlendRating, bool]:
    """Rate a blend I may see; rating again changes my rating. Returns (rating, created).

    Anyone who may see it may rate it; only a counted rating (verified, not the
    creator's: module docstring) changes the blend's ``rating_count``/``rating_sum``/
    ``ref_rating`` and the totals of all ratings, in this same transaction, by UPDATEs
    that add, so concurrent ratings never lose one another.

    The blend's row is locked before anything is read. A charge verifying ratings locks
    it too (``verify_ratings_of``), so a rating made while its rater's order goes through
    either sees that charge or is found by it: it is never left unverified.
    """
    blend = _lock_visible_blend(blend_id, user_id)
    now = utcnow()
    rating = _find_rating(blend.id, user_id)
    created = rating is None
    if rating is None:
        rating = BlendRating(
            blend_id=blend.id,
            user_id=user_id,
            stars=stars,
            comment=comment or "",
            verified=_has_had(user_id, blend.id),
            created_at=now,
            updated_at=now,
        )
        try:
            with db.session.begin_nested():
                db.session.add(rating)
        except IntegrityError:
            # The same person rated at the same moment (two taps, two devices): that
            # insert won, so this request becomes an update of it.
            rating = _find_rating(blend.id, user_id)
            if rating is None:  # pragma: no cover - the winner's row cannot vanish
                raise
            created = False
    old_stars = 0 if created else rating.stars
    if not created:
        rating.stars = stars
        if comment is not None:
            rating.comment = comment
        rating.updated_at = now
    if _counted(rating, blend.owner_id):
        _count_rating(blend.id, stars - old_stars, 1 if created else 0)
    db.session.flush()
    return rating, created


def verify_ratings_after_charge(drinker_id: uuid.UUID | None, lines: Sequence[PricedLine]) -> None:
    """The counter's ``on_charge_recorded`` hook: the blends of a charge just recorded."""
    verify_ratings_of(drinker_id, [line.item_id for line in lines if line.kind == "blend"])


def verify_ratings_of(drinker_id: uuid.UUID | None, blend_ids: Collection[uuid.UUID]) -> None:
    """``drinker_id`` has just had these blends (the blend lines of a charge, in the
    charge's transaction): their ratings of them, of the blends they were copied from and
    of the originals become verified, and count from now on unless they are the creator's.

    Those blends are locked first, all in one statement in id order (so two charges
    cannot deadlock on them; a pay charge takes them here before ``record_blend_ordered``
    updates them), as ``rate_blend`` locks the blend it rates. Nothing is sent for a
    charge without blends.
    """
    if drinker_id is None or not blend_ids:
        return
    lines = Blend.id.in_(set(blend_ids))
    had: CompoundSelect[uuid.UUID | None] = union(
        select(Blend.id).where(lines),
        select(Blend.copied_from_id).where(lines),
        select(Blend.origin_id).where(lines),
    )
    creators = dict(
        db.session.execute(
            select(Blend.id, Blend.owner_id)
            .where(Blend.id.in_(had))
            .order_by(Blend.id)
            .with_for_update(key_share=True)
        ).all()
    )
    verified = db.session.execute(
        update(BlendRating)
        .where(
            BlendRating.user_id == drinker_id,
            BlendRating.blend_id.in_(list(creators)),
            BlendRating.verified.is_(False),
        )
        .values(verified=True)
        .returning(BlendRating.blend_id, BlendRating.stars)
    ).all()
    # In the order of the totals' shards: two charges counting ratings of different blends
    # into the same two shards must take them in the same order.
    for blend_id, stars in sorted(verified, key=lambda r: (_shard(r.blend_id), r.blend_id)):
        if creators[blend_id] != drinker_id:
            _count_rating(blend_id, stars, 1)


def _shard(blend_id: uuid.UUID) -> int:
    return blend_id.int % TOTALS_SHARDS


def _count_rating(blend_id: uuid.UUID, stars: int, count: int) -> None:
    """Add to the maintained totals, by UPDATEs that add, so concurrent ratings add up."""
    new_sum, new_count = Blend.rating_sum + stars, Blend.rating_count + count
    db.session.execute(
        update(Blend)
        .where(Blend.id == blend_id)
        .values(
            rating_sum=new_sum,
            rating_count=new_count,
            ref_rating=(cast(new_sum, Float) + PRIOR_VOTES * REF_MEAN) / (new_count + PRIOR_VOTES),
        )
    )
    _upsert(
        BlendRatingTotals,
        {"shard": _shard(blend_id), "rating_sum": stars, "rating_count": count},
        ["shard"],
        ["rating_sum", "rating_count"],
    )


def present_rating(rating: BlendRating) -> dict[str, Any]:
    return {
        "id": rating.id,
        "blend_id": rating.blend_id,
        "rater": _person(rating.user),
        "stars": rating.stars,
        "comment": rating.comment,
        "by_creator": rating.user_id == rating.blend.owner_id,
        "verified": rating.verified,
        "created_at": rating.created_at,
        "updated_at": rating.updated_at,
    }


def list_ratings(blend: Blend, *, limit: int, cursor: str | None) -> dict[str, Any]:
    stmt = select(BlendRating).where(BlendRating.blend_id == blend.id)
    page = keyset_page(stmt, [BlendRating.updated_at, BlendRating.id], limit=limit, cursor=cursor)
    page["items"] = [present_rating(r) for r in page["items"]]
    return page


# --- orders, copies and who enjoyed them -------------------------------------------------


def _upsert(
    model: type[Model], values: dict[str, Any], keys: list[str], add: list[str] | None
) -> Result[Any]:
    """INSERT ... ON CONFLICT (PostgreSQL, SQLite): add the ``add`` columns to the row that
    exists, or leave it alone. Returns the keys of the rows it inserted or changed."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(model).values(**values)
    if add:
        table = model.__table__
        stmt = stmt.on_conflict_do_update(
            index_elements=keys,
            set_={c: table.c[c] + getattr(stmt.excluded, c) for c in add},
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=keys)
    return db.session.execute(stmt.returning(*(getattr(model, k) for k in keys)))


def _credit(
    blend: Blend, by_user_id: uuid.UUID, *, at: datetime, orders: int = 0, copies: int = 0
) -> None:
    """Count orders or copies of ``blend`` for it and for the original it was copied from,
    unless the person is that blend's own creator."""
    credited = {blend.id: blend.owner_id}
    if blend.origin_id is not None and blend.original_creator_id is not None:
        credited[blend.origin_id] = blend.original_creator_id
    day = at.astimezone(UTC).date()
    # In id order, as every writer of these rows should, so that two charges crediting the
    # same two blends cannot deadlock on them.
    for blend_id, creator_id in sorted(credited.items()):
        if creator_id == by_user_id:
            continue
        new_enjoyer = _upsert(
            BlendEnjoyer,
            {"blend_id": blend_id, "user_id": by_user_id, "created_at": at},
            ["blend_id", "user_id"],
            None,
        ).first()
        db.session.execute(
            update(Blend)
            .where(Blend.id == blend_id)
            .values(
                orders_count=Blend.orders_count + orders,
                copies_count=Blend.copies_count + copies,
                enjoyed_by=Blend.enjoyed_by + (1 if new_enjoyer is not None else 0),
            )
        )
        _upsert(
            BlendDailyStats,
            {"blend_id": blend_id, "day": day, "orders": orders, "copies": copies},
            ["blend_id", "day"],
            ["orders", "copies"],
        )


def record_blend_ordered(
    blend_id: uuid.UUID, by_user_id: uuid.UUID, quantity: int, at: datetime
) -> None:
    """Count ``quantity`` cups of a blend ordered at ``at`` (orders_count, the top-10
    window, "enjoyed by"); called by charging in the charge's own transaction, once per
    blend line, in blend id order when a charge has several (row locks, see ``_credit``)."""
    blend = db.session.get(Blend, blend_id)
    if blend is None:
        raise BlendNotFound()
    _credit(blend, by_user_id, orders=quantity, at=at)


def price_blend_line(
    blend_id: uuid.UUID, size: Size | str | None, quantity: int, *, viewer_id: uuid.UUID | None
) -> PricedLine:
    """Price an order line of a blend at today's menu; ``size`` None means its own size.

    A blend the orderer may not see is refused exactly like one that does not exist.
    """
    blend = db.session.get(Blend, blend_id)
    if blend is None or not can_view(blend, viewer_id):
        raise ItemUnavailable("There is no such blend.", errors={"blend_id": ["No such blend."]})
    recipe = Recipe.of(blend)
    if off := recipe.off_menu():
        names = ", ".join(i.name for i in off)
        raise ItemUnavailable(
            f"{blend.name} has ingredients that are not on the menu any more: {names}.",
            errors={"blend_id": [f"Not on the menu any more: {names}."]},
        )
    size = Size(size) if size is not None else blend.size
    price = recipe.price(size)
    if price is None:
        raise SizeUnavailable(f"{blend.name} is not offered in size {size.value}.")
    return PricedLine(
        kind="blend",
        item_id=blend.id,
        name=blend.name,
        size=size.value,
        quantity=quantity,
        unit_price=price,
        snapshot=snapshot(blend, recipe, size),
    )


def snapshot(blend: Blend, recipe: Recipe, size: Size) -> dict[str, Any]:
    """What the barista needs to make it, kept with the receipt whatever happens later."""
    return {
        "blend": blend.name,
        "blend_id": str(blend.id),
        "creator": blend.owner.display_name,
        "size": size.value,
        "base": recipe.base.name,
        "shots": recipe.shots,
        "beans": [
            {"name": i.name, "origin": i.origin, "share": share} for i, share in recipe.beans
        ],
        "milk": recipe.milk.name if recipe.milk is not None else None,
        "syrups": [{"name": i.name, "pumps": pumps} for i, pumps in recipe.syrups],
        "toppings": [i.name for i in recipe.toppings],
        "extras": [i.name for i in recipe.extras],
        "notes": blend.notes,
    }


# --- the top-10 -------------------------------------------------------------------------


def window_start(window: str, today: date) -> date | None:
    days = WINDOW_DAYS[window]
    return None if days is None else today - timedelta(days=days - 1)


def _mean() -> Any:
    """C, as SQL: the mean stars of every counted rating, from the maintained totals."""
    totals = BlendRatingTotals
    return (
        select(
            func.coalesce(
                cast(func.sum(totals.rating_sum), Float)
                / func.nullif(cast(func.sum(totals.rating_count), Float), 0),
                DEFAULT_MEAN,
            )
        )
        .correlate(None)
        .scalar_subquery()
    )


def _window_sum(column: Any, blend_id: Any, since: date) -> Any:
    """The sum of a daily count over the window: a range of the primary key, per blend."""
    return (
        select(func.coalesce(func.sum(column), 0))
        .where(BlendDailyStats.blend_id == blend_id, BlendDailyStats.day >= since)
        .scalar_subquery()
    )


def top_blends(window: str = "7d", limit: int = 10) -> list[dict[str, Any]]:
    """The top user-generated blends (formula in the module docstring), exactly.

    Scoring every public blend would read them all. Instead: each blend keeps
    ``ref_rating``, its Bayesian rating at the fixed mean REF_MEAN, indexed (partial index
    ``ix_blends_ranked``) in the same transaction as its ratings. Its real rating differs
    from that by at most ``m x |C - REF_MEAN| / (m + 1)`` (it has a rating, v >= 1), and
    orders add less than ``ACTIVITY_WEIGHT``. So, in one statement:

    1. the ``limit`` blends with the best ``ref_rating`` are scored; the lowest of their
       scores, L, is a score that at least ``limit`` blends reach;
    2. a blend below ``L - slack`` in ``ref_rating`` (slack = both bounds) cannot reach L:
       only the blends above it (a few hundred of 100,000) are scored and sorted;
    3. the winners are read with their creator, recipe and counts in the window.

    Orders in a window are looked up per candidate by the primary key of the daily counts.
    """
    mean = _mean()
    since = window_start(window, utcnow().date())
    if since is None:
        activity: Any = Blend.orders_count + COPY_WEIGHT * Blend.copies_count
    else:
        activity = _window_sum(
            BlendDailyStats.orders + COPY_WEIGHT * BlendDailyStats.copies, Blend.id, since
        )
    weighted = (cast(Blend.rating_sum, Float) + PRIOR_VOTES * mean) / cast(
        Blend.rating_count + PRIOR_VOTES, Float
    )
    # The predicate is the partial index's own text, so both databases use that index.
    ranked = select(
        Blend.id,
        Blend.rating_count,
        weighted.label("weighted"),
        activity.label("activity"),
    ).where(text(RANKED))

    def score(rows: Any) -> Any:
        # weighted + W x a / (a + H), written with ``a`` once: it is a lookup per row.
        a = cast(rows.c.activity, Float)
        return (
            rows.c.weighted
            + ACTIVITY_WEIGHT
            - ACTIVITY_WEIGHT * ACTIVITY_HALF / (a + ACTIVITY_HALF)
        )

    seed = ranked.order_by(Blend.ref_rating.desc()).limit(limit).subquery()
    floor = select(func.min(score(seed))).scalar_subquery()
    # 1e-9: room for rounding, so that a blend exactly at the bound is never left out.
    slack = ACTIVITY_WEIGHT + PRIOR_VOTES * func.abs(mean - REF_MEAN) / (PRIOR_VOTES + 1) + 1e-9
    candidates = ranked.where(Blend.ref_rating >= floor - slack).subquery()
    best = (
        select(
            candidates.c.id,
            candidates.c.rating_count,
            score(candidates).label("score"),
            candidates.c.weighted,
        )
        .order_by(score(candidates).desc(), candidates.c.rating_count.desc(), candidates.c.id)
        .limit(limit)
        .subquery()
    )
    if since is None:
        orders, copies = Blend.orders_count, Blend.copies_count
    else:
        orders = _window_sum(BlendDailyStats.orders, best.c.id, since)
        copies = _window_sum(BlendDailyStats.copies, best.c.id, since)
    if db.session.get_bind().dialect.name == "postgresql":
        # The planner cannot know how few rows pass the bound, and its estimate makes it
        # JIT-compile the query: some 20 ms, several times what running it costs.
        db.session.execute(text("SET LOCAL jit = off"))
    rows = (
        db.session.execute(
            select(Blend, best.c.score, best.c.weighted, orders.label("o"), copies.label("c"))
            .join(best, best.c.id == Blend.id)
            .options(joinedload(Blend.components))
            .order_by(best.c.score.desc(), best.c.rating_count.desc(), best.c.id)
        )
        .unique()
        .all()
    )
    shown = present_all([row.Blend for row in rows], None)
    return [
        {
            "rank": rank,
            "score": round(row.score, 4),
            "weighted_rating": round(row.weighted, 4),
            "orders": int(row.o),
            "copies": int(row.c),
            "blend": blend,
        }
        for rank, (row, blend) in enumerate(zip(rows, shown, strict=True), start=1)
    ]


def verify_rating_totals() -> list[str]:
    """Where the maintained totals differ from the ratings themselves (nothing, normally)."""
    counted = (
        select(
            BlendRating.blend_id,
            func.count().label("n"),
            func.sum(BlendRating.stars).label("total"),
        )
        .join(Blend, Blend.id == BlendRating.blend_id)
        .where(BlendRating.verified.is_(True), BlendRating.user_id != Blend.owner_id)
        .group_by(BlendRating.blend_id)
        .subquery()
    )
    n, total = func.coalesce(counted.c.n, 0), func.coalesce(counted.c.total, 0)
    reference = (cast(total, Float) + PRIOR_VOTES * REF_MEAN) / (n + PRIOR_VOTES)
    wrong = db.session.scalars(
        select(Blend.id)
        .outerjoin(counted, counted.c.blend_id == Blend.id)
        .where(
            ~and_(
                Blend.rating_count == n,
                Blend.rating_sum == total,
                func.abs(Blend.ref_rating - reference) < 1e-9,
            )
        )
    )
    problems = [f"blend {blend_id}: rating totals differ from its ratings" for blend_id in wrong]
    kept = db.session.execute(
        select(
            func.coalesce(func.sum(BlendRatingTotals.rating_sum), 0),
            func.coalesce(func.sum(BlendRatingTotals.rating_count), 0),
        )
    ).one()
    actual = db.session.execute(
        select(func.coalesce(func.sum(counted.c.total), 0), func.coalesce(func.sum(counted.c.n), 0))
    ).one()
    if tuple(kept) != tuple(actual):
        problems.append(f"all ratings: kept {tuple(kept)}, counted {tuple(actual)} (sum, count)")
    return problems
