import uuid
from typing import Any

from flask.views import MethodView

from wallet_api.auth.errors import UserNotFound
from wallet_api.blends import service
from wallet_api.blends.errors import BlendNotFound, NotYourBlend
from wallet_api.blends.schemas import (
    BlendCreateSchema,
    BlendPatchSchema,
    BlendSchema,
    CopySchema,
    RatingInSchema,
    RatingSchema,
    TopArgsSchema,
    TopSchema,
)
from wallet_api.extensions import Blueprint
from wallet_api.extensions.auth import current_principal
from wallet_api.extensions.pagination import CursorArgs, page_of
from wallet_api.extensions.problems import DatabaseUnavailable

blp = Blueprint(
    "blends",
    __name__,
    url_prefix="/v1",
    description="Custom blends: compose, rate, share, copy, and the top-10",
)


def _page(page: dict[str, Any], viewer_id: uuid.UUID) -> dict[str, Any]:
    return {**page, "items": service.present_all(page["items"], viewer_id)}


def _menu_errors(loaded: dict[str, Any], blend_id: uuid.UUID | None = None) -> dict[str, Any]:
    # A body the schema refused: the menu's say on what did load joins the schema's.
    blend = None
    if blend_id is not None:
        blend = service.get_own_blend(blend_id, current_principal().id)
    return service.menu_errors(loaded, blend)


@blp.route("/blends", operations={"get": "list_my_blends", "post": "create_blend"})
class Blends(MethodView):
    @blp.auth("customer")
    @blp.arguments(BlendCreateSchema, more_errors=_menu_errors)
    @blp.response(201, BlendSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Compose a blend; the server checks it against the menu and prices it

        Any signed-in person. A base and ingredients on the menu now, in a size the base
        comes in; what does not fit the menu is named per field in one 422. Visibility
        is private, friends or public.
        """
        me = current_principal().id
        return service.present_one(service.create_blend(me, data), me)

    @blp.auth("customer")
    @blp.arguments(CursorArgs, location="query")
    @blp.response(200, page_of(BlendSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """My blends, newest first

        Any signed-in person, their own blends only; page with the cursor.
        """
        me = current_principal().id
        return _page(service.list_my_blends(me, **args), me)


@blp.route("/blends/top", operations={"get": "list_top_blends"})
class TopBlends(MethodView):
    @blp.arguments(TopArgsSchema, location="query")
    @blp.response(200, TopSchema)
    @blp.problems(DatabaseUnavailable)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The top user-generated blends: verified ratings with a prior, plus orders and copies

        Only ratings by people who have had the blend (ordered it or a copy of it, or were
        given it) count, and not its creator's own.
        """
        return {"window": args["window"], "items": service.top_blends(**args)}


@blp.route(
    "/blends/<uuid:blend_id>",
    operations={"get": "get_blend", "patch": "update_blend", "delete": "delete_blend"},
)
class BlendById(MethodView):
    @blp.auth("customer")
    @blp.response(200, BlendSchema)
    @blp.problems(BlendNotFound)
    def get(self, blend_id: uuid.UUID) -> dict[str, Any]:
        """A blend I may see (mine, a friend's shared with friends, or a public one)

        Any signed-in person; a blend they may not see is 404, as if it did not exist.
        """
        me = current_principal().id
        return service.present_one(service.get_visible_blend(blend_id, me), me)

    @blp.auth("customer")
    @blp.arguments(BlendPatchSchema, more_errors=_menu_errors)
    @blp.response(200, BlendSchema)
    @blp.problems(BlendNotFound, NotYourBlend)
    def patch(self, data: dict[str, Any], blend_id: uuid.UUID) -> dict[str, Any]:
        """Change my blend; it is checked and priced again

        Its creator only (another who may see it: 403 `not_blend_owner`; copy it instead).
        Fields left out stay as they are.
        """
        me = current_principal().id
        blend = service.update_blend(service.get_own_blend(blend_id, me), data)
        return service.present_one(blend, me)

    @blp.auth("customer")
    @blp.response(204)
    @blp.problems(BlendNotFound, NotYourBlend)
    def delete(self, blend_id: uuid.UUID) -> None:
        """Delete my blend (receipts, gifts and copies keep what they refer to)

        Its creator only (another who may see it: 403 `not_blend_owner`).
        """
        service.delete_blend(service.get_own_blend(blend_id, current_principal().id))


@blp.route(
    "/blends/<uuid:blend_id>/ratings",
    operations={"get": "list_blend_ratings", "post": "rate_blend"},
)
class BlendRatings(MethodView):
    @blp.auth("customer")
    @blp.arguments(RatingInSchema)
    @blp.response(201, RatingSchema, description="Rated for the first time")
    @blp.alt_response(200, schema=RatingSchema, description="My earlier rating, changed")
    @blp.problems(BlendNotFound)
    def post(self, data: dict[str, Any], blend_id: uuid.UUID) -> tuple[dict[str, Any], int]:
        """Rate a blend, 1-5 stars and a comment; rating again changes my rating

        Anyone who may see the blend may rate it; the rating is `verified` when I have had
        it (ordered it or a copy of it, or redeemed it as a gift), and only a verified
        rating counts toward its average and the top-10. One made before I had it counts
        from my first order on.
        """
        me = current_principal().id
        rating, created = service.rate_blend(blend_id, me, data["stars"], data["comment"])
        return service.present_rating(rating), 201 if created else 200

    @blp.auth("customer")
    @blp.arguments(CursorArgs, location="query")
    @blp.response(200, page_of(RatingSchema))
    @blp.problems(BlendNotFound)
    def get(self, args: dict[str, Any], blend_id: uuid.UUID) -> dict[str, Any]:
        """The ratings of a blend I may see, newest first, each marked `verified` or not

        Any signed-in person who may see the blend; page with the cursor.
        """
        blend = service.get_visible_blend(blend_id, current_principal().id)
        return service.list_ratings(blend, **args)


@blp.route("/blends/<uuid:blend_id>/copy", operations={"post": "copy_blend"})
class CopyBlend(MethodView):
    @blp.auth("customer")
    @blp.arguments(CopySchema, required=False)
    @blp.response(201, BlendSchema)
    @blp.problems(BlendNotFound)
    def post(self, data: dict[str, Any], blend_id: uuid.UUID) -> dict[str, Any]:
        """One of what they're having: a copy in my blends that credits the creator

        Any signed-in person who may see the blend. The copy is mine to change, private
        unless I say otherwise.
        """
        me = current_principal().id
        return service.present_one(service.copy_blend(blend_id, me, **data), me)


@blp.route("/users/<string:handle>/blends", operations={"get": "list_user_blends"})
class UserBlends(MethodView):
    @blp.auth("customer")
    @blp.arguments(CursorArgs, location="query")
    @blp.response(200, page_of(BlendSchema))
    @blp.problems(UserNotFound)
    def get(self, args: dict[str, Any], handle: str) -> dict[str, Any]:
        """The blends of this person that I may see

        Any signed-in person: their public blends, and those shared with friends when we
        are friends; page with the cursor.
        """
        me = current_principal().id
        return _page(service.list_blends_of(handle, me, **args), me)
