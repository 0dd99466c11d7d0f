import uuid
from typing import Any

from flask.views import MethodView

from wallet_api.allowances import service
from wallet_api.allowances.errors import AllowanceExists, AllowanceNotFound, AllowanceToSelf
from wallet_api.allowances.schemas import (
    PERIODS,
    AllowanceCreateSchema,
    AllowanceListSchema,
    AllowanceSchema,
)
from wallet_api.auth.errors import UserNotFound
from wallet_api.extensions import Blueprint
from wallet_api.extensions.auth import current_principal
from wallet_api.social.errors import NotAFriend

blp = Blueprint(
    "allowances",
    __name__,
    url_prefix="/v1/allowances",
    description="Let a friend pay from my wallet, up to an amount per period",
)

HOW = (
    "The grantee asks for a pay code with `allowance_id` (POST /v1/wallet/pay-codes); "
    "the till sees kind `allowance` and the charge is paid from the owner's wallet, never "
    "more than what is left of the period (422 `allowance_exceeded`) nor than the owner's "
    f"balance (402). Periods are {PERIODS}. One live allowance per friend (409 "
    "`allowance_exists`); the grantee must be a friend (422 `not_a_friend`)."
)


@blp.route("", operations={"get": "list_allowances", "post": "grant_allowance"})
class Allowances(MethodView):
    @blp.auth("customer")
    @blp.arguments(AllowanceCreateSchema)
    @blp.response(201, AllowanceSchema)
    @blp.problems(UserNotFound, NotAFriend, AllowanceToSelf, AllowanceExists)
    @blp.doc(description=HOW)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Let a friend pay from my wallet, up to an amount per day, week or month"""
        return service.grant(current_principal().user, **data)

    @blp.auth("customer")
    @blp.response(200, AllowanceListSchema)
    def get(self) -> dict[str, list[dict[str, Any]]]:
        """The live allowances I give and was given, with what is left this period

        Any signed-in person, their own allowances only, as owner and as grantee.
        """
        return service.list_allowances(current_principal().user)


@blp.route("/<uuid:allowance_id>", operations={"delete": "revoke_allowance"})
class AllowanceById(MethodView):
    @blp.auth("customer")
    @blp.response(204)
    @blp.problems(AllowanceNotFound)
    def delete(self, allowance_id: uuid.UUID) -> None:
        """Revoke an allowance I give, at once

        Its owner only. The grantee's pay codes drawing on it stop working at once.
        """
        service.revoke(current_principal().user, allowance_id)
