import uuid
from typing import Any

import click
from flask.sansio.blueprints import BlueprintSetupState
from flask.views import MethodView

from wallet_api.auth.errors import UserNotFound
from wallet_api.clock import utcnow
from wallet_api.counter import service as counter
from wallet_api.counter.errors import ChargeNotFound, CodeAlreadyUsed, CodeExpired
from wallet_api.extensions import Blueprint, db, writes_on_read
from wallet_api.extensions.auth import current_principal
from wallet_api.extensions.pagination import CursorArgs, keyset_page, page_of
from wallet_api.extensions.problems import GrantToSelf
from wallet_api.ledger.errors import BalanceLimitExceeded, InsufficientPoints
from wallet_api.loyalty import models, rules, service
from wallet_api.loyalty.errors import (
    GoodwillLimitExceeded,
    GoodwillToSelf,
    OfferNotFound,
    OfferParityViolation,
    ProductUnknown,
    RewardCodeNotFound,
    RewardNameTaken,
    RewardNotFound,
    SwitcherBonusAlreadyGranted,
)
from wallet_api.loyalty.models import Goodwill, Offer, Reward, RewardCode
from wallet_api.loyalty.schemas import (
    GoodwillRequestSchema,
    GoodwillSchema,
    IssuedRewardCodeSchema,
    LoyaltyStatusSchema,
    OfferCreateSchema,
    OfferListArgsSchema,
    OfferSchema,
    RewardCodeSchema,
    RewardPatchSchema,
    RewardSchema,
    SwitcherBonusRequestSchema,
    SwitcherBonusSchema,
)

blp = Blueprint(
    "loyalty",
    __name__,
    url_prefix="/v1",
    description="Points, tiers without cliffs, rewards, offers with parity, goodwill",
)


@blp.record_once
def _install_rules(state: BlueprintSetupState) -> None:
    # Read and checked at start-up: a wrong WALLET_LOYALTY_* value stops the app at once.
    rules.install(state.app.config)


@blp.route("/loyalty", operations={"get": "get_loyalty_status"})
class Loyalty(MethodView):
    @writes_on_read  # the tier is evaluated on the way and may change
    @blp.auth("customer")
    @blp.response(200, LoyaltyStatusSchema)
    def get(self) -> dict[str, Any]:
        """My points, tier, progress to the next tier and how long my tier is protected

        Any signed-in person, their own status only. Going up is immediate; going down is
        protected for a while (`protected_until`), then one level at a time.
        """
        return service.loyalty_status(current_principal().id)


@blp.route("/loyalty/rewards", operations={"get": "list_rewards", "post": "create_reward"})
class Rewards(MethodView):
    @blp.auth("customer")
    @blp.arguments(CursorArgs, location="query")
    @blp.response(200, page_of(RewardSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The rewards catalog and what each costs in points

        Any signed-in person: the rewards on offer now; page with the cursor.
        """
        return keyset_page(service.rewards_query(), [Reward.created_at, Reward.id], **args)

    @blp.auth("admin")
    @blp.arguments(RewardSchema)
    @blp.response(201, RewardSchema)
    @blp.problems(RewardNameTaken, ProductUnknown)
    def post(self, data: dict[str, Any]) -> Reward:
        """Add a reward to the catalog (admin)

        Admins only. The name must be unused; a reward for a drink names a product on
        the menu.
        """
        return service.create_reward(data)


@blp.route("/loyalty/rewards/<uuid:reward_id>", operations={"patch": "update_reward"})
class RewardById(MethodView):
    @blp.auth("admin")
    @blp.arguments(RewardPatchSchema)
    @blp.response(200, RewardSchema)
    @blp.problems(RewardNotFound, RewardNameTaken, ProductUnknown)
    def patch(self, data: dict[str, Any], reward_id: uuid.UUID) -> Reward:
        """Change or retire a reward (admin); codes already bought keep working

        Admins only. Fields left out stay as they are.
        """
        return service.update_reward(reward_id, data)


@blp.route("/loyalty/rewards/<uuid:reward_id>/redeem", operations={"post": "redeem_reward"})
class RedeemReward(MethodView):
    @blp.auth("customer")
    @blp.idempotent
    @blp.response(201, IssuedRewardCodeSchema)
    @blp.problems(RewardNotFound, InsufficientPoints)
    def post(self, reward_id: uuid.UUID) -> service.IssuedCode:
        """Spend points on a reward: a single-use code to show at the till

        Any signed-in person, with their own points. The code is shown in this answer
        only (a lost one can be replaced); it expires unused after a while.
        """
        return service.redeem_reward(current_principal().id, reward_id)


@blp.route("/loyalty/reward-codes", operations={"get": "list_reward_codes"})
class RewardCodes(MethodView):
    @blp.auth("customer")
    @blp.arguments(CursorArgs, location="query")
    @blp.response(200, page_of(RewardCodeSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """My reward codes, newest first (the codes themselves are never shown again)

        Any signed-in person, their own codes only: bought with points or given as
        goodwill, with whether each is live, used or expired.
        """
        query = service.reward_codes_query(current_principal().id)
        return keyset_page(query, [RewardCode.created_at, RewardCode.id], **args)


@blp.route("/loyalty/reward-codes/<uuid:code_id>/code", operations={"post": "reissue_reward_code"})
class RevealRewardCode(MethodView):
    @blp.auth("customer")
    @blp.response(200, IssuedRewardCodeSchema)
    @blp.problems(RewardCodeNotFound, CodeAlreadyUsed, CodeExpired)
    def post(self, code_id: uuid.UUID) -> service.IssuedCode:
        """A fresh code for one of my unused rewards (the previous code stops working)

        Its owner only, while the reward is unused and unexpired. This is also how a
        reward given as goodwill reaches the customer.
        """
        return service.reveal_code(current_principal().id, code_id)


@blp.route("/loyalty/switcher-bonus", operations={"post": "grant_switcher_bonus"})
class SwitcherBonus(MethodView):
    @blp.auth("staff", "admin")
    @blp.idempotent
    @blp.arguments(SwitcherBonusRequestSchema)
    @blp.response(201, SwitcherBonusSchema)
    @blp.problems(UserNotFound, GrantToSelf, SwitcherBonusAlreadyGranted)
    def post(self, data: dict[str, Any]) -> models.SwitcherBonus:
        """Welcome points for a customer who shows another chain's card (once, ever)

        Staff and admins, for a customer other than themselves. Each customer gets it
        once in their life, whichever chain's card they show.
        """
        return service.grant_switcher_bonus(
            data["user_id"], chain_name=data["chain_name"], staff=current_principal().user
        )


@blp.route("/offers", operations={"get": "list_offers", "post": "create_offer"})
class Offers(MethodView):
    @writes_on_read  # eligibility evaluates the tier, which may change
    @blp.auth("customer")
    @blp.arguments(OfferListArgsSchema, location="query")
    @blp.response(200, page_of(OfferSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The offers I can use now (never fewer than a new customer gets)

        Any signed-in person: the offers for their tier (optionally at one store), never
        fewer than a brand-new customer would see; page with the cursor.
        """
        user_id, at = current_principal().id, utcnow()
        tier = service.current_tier(user_id, at)
        query = service.eligible_offers_query(user_id, tier, at, store_id=args.pop("store_id"))
        return keyset_page(query, [Offer.created_at, Offer.id], **args)

    @blp.auth("admin")
    @blp.arguments(OfferCreateSchema)
    @blp.response(201, OfferSchema)
    @blp.problems(OfferParityViolation, ProductUnknown)
    def post(self, data: dict[str, Any]) -> Offer:
        """Create an offer (admin); an offer cannot be restricted to new customers

        Admins only. Existing customers always get what new ones get
        (`offer_parity_violation` otherwise).
        """
        return service.create_offer(data, created_by=current_principal().id)


@blp.route("/offers/<uuid:offer_id>", operations={"delete": "end_offer"})
class OfferById(MethodView):
    @blp.auth("admin")
    @blp.response(204)
    @blp.problems(OfferNotFound)
    def delete(self, offer_id: uuid.UUID) -> None:
        """End an offer now (admin); receipts that show it keep it

        Admins only. Charges from now on no longer apply it.
        """
        service.end_offer(offer_id, ended_by=current_principal().id)


@blp.route("/goodwill", operations={"post": "give_goodwill"})
class GoodwillGrants(MethodView):
    @blp.auth("staff", "admin")
    @blp.idempotent
    @blp.arguments(GoodwillRequestSchema)
    @blp.response(201, GoodwillSchema)
    @blp.problems(
        UserNotFound,
        ChargeNotFound,
        RewardNotFound,
        GoodwillToSelf,
        GoodwillLimitExceeded,
        BalanceLimitExceeded,
    )
    def post(self, data: dict[str, Any]) -> Goodwill:
        """Make it right: credit money or a reward with a reason and a personal message

        Staff and admins, for a customer other than themselves, up to a daily goodwill
        limit; a charge named must be of a store the staff member works at. The customer
        finds the message in their inbox; recorded in the audit log.
        """
        principal, charge = current_principal(), None
        if data["charge_id"] is not None:
            # 404 unless the charge is of a store this staff member works at (or an admin).
            charge = counter.charge_for_goodwill(principal, data["charge_id"])
        return service.give_goodwill(
            staff=principal.user,
            user_id=charge.customer_id if charge else data["user_id"],
            charge=counter.charge_ref(charge) if charge else None,
            reason=data["reason"],
            message=data["message"],
            amount_cents=data["amount"],
            reward_id=data["reward_id"],
        )


@blp.cli.command("evaluate")
def evaluate_command() -> None:
    """Daily job: re-evaluate tiers (grace periods, drops), return points of expired codes
    and give today's birthday treats."""
    members = codes = 0
    for count in service.evaluate_all():
        db.session.commit()
        members += count
    for count in service.return_expired_codes():
        db.session.commit()
        codes += count
    db.session.commit()
    click.echo(f"loyalty: evaluated {members} members, returned points of {codes} expired codes")
    _birthdays()


@blp.cli.command("birthdays")
def birthdays_command() -> None:
    """Give today's birthday treats (part of ``evaluate``; safe to run often, and at once)."""
    _birthdays()


def _birthdays() -> None:
    if service.birthday_reward() is None:
        click.echo("loyalty: no birthday treats: the catalog has no reward for any drink")
        return
    treats = 0
    for count in service.give_birthday_treats():
        db.session.commit()
        treats += count
    click.echo(f"loyalty: gave {treats} birthday treats")
