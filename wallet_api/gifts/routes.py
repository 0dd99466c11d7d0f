import uuid
from typing import Any

from flask import Response
from flask.views import MethodView

from wallet_api.auth.errors import UserNotFound
from wallet_api.catalog.errors import ItemUnavailable, SizeUnavailable
from wallet_api.extensions import Blueprint, limiter
from wallet_api.extensions.auth import current_principal, principal_key
from wallet_api.extensions.problems import RateLimited
from wallet_api.gifts import service
from wallet_api.gifts.errors import (
    NOT_PENDING,
    GiftAlreadyClaimed,
    GiftAlreadyThanked,
    GiftClaimNotFound,
    GiftClaimOwn,
    GiftIsADrink,
    GiftIsCredit,
    GiftNotFound,
    GiftToSelf,
)
from wallet_api.gifts.page import page
from wallet_api.gifts.schemas import (
    GiftCreateSchema,
    GiftListArgs,
    GiftPageSchema,
    GiftSchema,
    ThanksSchema,
)
from wallet_api.ledger.errors import AccountClosed, BalanceLimitExceeded, InsufficientFunds
from wallet_api.paycodes.qr import qr_endpoint, qr_response
from wallet_api.social.errors import NotAFriend
from wallet_api.transfers.errors import DailyTransferLimitExceeded

blp = Blueprint("gifts", __name__, url_prefix="/v1", description="Gifts of drinks and credit")
# The claim page is HTML for people, not part of the JSON API or its spec: it goes onto the
# app itself, when this blueprint is registered there.
blp.record_once(lambda state: state.app.register_blueprint(page))

# Claim attempts, per signed-in person and (for many accounts behind one address) per
# client address. Guessing a 192-bit token is hopeless anyway; the limits keep anyone
# from trying at volume.
CLAIM_LIMIT = "10 per minute;50 per day"
CLAIM_LIMIT_PER_ADDRESS = "30 per minute;300 per day"

GIVING = (
    "To exactly one of `user_id` or `handle` (a friend; anyone else 422 `not_a_friend`), "
    "`email` or `phone` (anyone: the answer carries `claim_url`, shown this once, for the "
    "app to share). An account that has that email or phone also finds the gift in its "
    "inbox at once; the giver's answer and view are the same either way. `item` is a "
    "standard drink (`product_id`, `size`) or one of my blends (`blend_id`), priced now "
    "and made later exactly as priced; or `amount` of credit (counts against the daily "
    "transfer limit). The money leaves my wallet into gift escrow at once (402 "
    "`insufficient_funds`). Gifts expire after `WALLET_GIFT_TTL_DAYS` (90) and go back."
)


@blp.route("/gifts", operations={"get": "list_gifts", "post": "give_gift"})
class Gifts(MethodView):
    @blp.auth("customer")
    @blp.idempotent
    @blp.arguments(GiftCreateSchema)
    @blp.response(201, GiftSchema)
    @blp.problems(
        InsufficientFunds,
        UserNotFound,
        NotAFriend,
        GiftToSelf,
        ItemUnavailable,
        SizeUnavailable,
        DailyTransferLimitExceeded,
        AccountClosed,
    )
    @blp.doc(description=GIVING)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Give a drink or credit to a friend, or to anyone by email or phone"""
        return service.give(current_principal().user, **data)

    @blp.auth("customer")
    @blp.arguments(GiftListArgs, location="query")
    @blp.response(200, GiftPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Gifts I received or sent, newest first

        Any signed-in person, their own gifts only (`box`: received or sent), each with
        its status as of now; page with the cursor.
        """
        return service.list_gifts(current_principal().user, **args)


@blp.route("/gifts/<uuid:gift_id>", operations={"get": "get_gift"})
class GiftById(MethodView):
    @blp.auth("customer")
    @blp.response(200, GiftSchema)
    @blp.problems(GiftNotFound)
    def get(self, gift_id: uuid.UUID) -> dict[str, Any]:
        """A gift I gave or received

        Its giver or recipient only (anyone else: 404), with its status as of now.
        """
        return service.get_gift(current_principal().user, gift_id)


@blp.route("/gifts/<uuid:gift_id>/qr", operations={"get": "get_gift_qr"})
class GiftQr(MethodView):
    @blp.auth("customer")
    @qr_endpoint(
        blp, "The QR code to redeem the gift at any store", GiftNotFound, GiftIsCredit, *NOT_PENDING
    )
    def get(self, args: dict[str, Any], gift_id: uuid.UUID) -> Response:
        """The QR code of a drink I received, to redeem it at any store

        Its recipient only, while the gift is pending; a gift of credit has no code.
        """
        text = service.redeemable_code(current_principal().user, gift_id)
        return qr_response(text, args["format"])


@blp.route("/gifts/<uuid:gift_id>/decline", operations={"post": "decline_gift"})
class DeclineGift(MethodView):
    @blp.auth("customer")
    @blp.idempotent
    @blp.response(200, GiftSchema)
    @blp.problems(GiftNotFound, *NOT_PENDING, BalanceLimitExceeded)
    def post(self, gift_id: uuid.UUID) -> dict[str, Any]:
        """Decline a gift I received: the giver gets the money back

        Its recipient only, while the gift is pending. The giver is refunded from escrow.
        """
        return service.decline(current_principal().user, gift_id)


@blp.route("/gifts/<uuid:gift_id>/accept", operations={"post": "accept_gift"})
class AcceptGift(MethodView):
    @blp.auth("customer")
    @blp.idempotent
    @blp.response(200, GiftSchema)
    @blp.problems(GiftNotFound, GiftIsADrink, *NOT_PENDING, BalanceLimitExceeded)
    @blp.doc(
        description="A gift of credit lands in my wallet, once (422 "
        "`balance_limit_exceeded` if it would pass the maximum balance). A drink is not "
        "accepted but redeemed at a store (409 `gift_is_a_drink`)."
    )
    def post(self, gift_id: uuid.UUID) -> dict[str, Any]:
        """Accept a gift of credit into my wallet"""
        return service.accept(current_principal().user, gift_id)


@blp.route("/gifts/<uuid:gift_id>/thanks", operations={"post": "thank_for_gift"})
class ThankForGift(MethodView):
    @blp.auth("customer")
    @blp.arguments(ThanksSchema)
    @blp.response(200, GiftSchema)
    @blp.problems(GiftNotFound, GiftAlreadyThanked)
    def post(self, data: dict[str, Any], gift_id: uuid.UUID) -> dict[str, Any]:
        """Say thanks for a gift I received: a message in the giver's inbox (once)

        Its recipient only, once per gift, in whatever state the gift is.
        """
        return service.thank(current_principal().user, gift_id, data["message"])


@blp.route("/gift-claims/<string:token>", operations={"post": "claim_gift"})
class GiftClaim(MethodView):
    decorators = [
        limiter.limit(CLAIM_LIMIT, key_func=principal_key, scope="gift-claims-user"),
        limiter.limit(CLAIM_LIMIT_PER_ADDRESS, scope="gift-claims-address"),
    ]

    @blp.auth("customer")
    @blp.idempotent
    @blp.response(200, GiftSchema)
    @blp.problems(
        GiftClaimNotFound,
        GiftClaimOwn,
        GiftAlreadyClaimed,
        *NOT_PENDING,
        BalanceLimitExceeded,
        RateLimited,
    )
    @blp.doc(
        description="The token is the last part of the claim link. The gift becomes mine: "
        "credit lands in my wallet, a drink joins my received gifts with a new QR code "
        "(the one on the link's page stops working). Unknown link 404 "
        "`gift_claim_not_found`; claimed already (by anyone) 409 `gift_already_claimed`; "
        "my own gift 422 `gift_claim_own`."
    )
    def post(self, token: str) -> dict[str, Any]:
        """Claim a gift sent to me by link into my account"""
        return service.claim(current_principal().user, token)
