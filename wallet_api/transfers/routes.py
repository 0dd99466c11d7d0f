import uuid
from typing import Any

from flask.views import MethodView

from wallet_api.auth.errors import UserNotFound
from wallet_api.extensions import Blueprint
from wallet_api.extensions.auth import current_principal
from wallet_api.ledger.errors import AccountClosed, BalanceLimitExceeded, InsufficientFunds
from wallet_api.social.errors import NotAFriend
from wallet_api.transfers import service
from wallet_api.transfers.errors import (
    DailyTransferLimitExceeded,
    TransferNotFound,
    TransferToSelf,
)
from wallet_api.transfers.schemas import TransferCreateSchema, TransferSchema

blp = Blueprint(
    "transfers", __name__, url_prefix="/v1/wallet/transfers", description="Credit to friends"
)


@blp.route("", operations={"post": "send_credit"})
class Transfers(MethodView):
    @blp.auth("customer")
    @blp.idempotent
    @blp.arguments(TransferCreateSchema)
    @blp.response(201, TransferSchema)
    @blp.problems(
        InsufficientFunds,
        UserNotFound,
        NotAFriend,
        TransferToSelf,
        DailyTransferLimitExceeded,
        BalanceLimitExceeded,
        AccountClosed,
    )
    @blp.doc(
        description="`to` must be a friend (anyone else: 422 `not_a_friend`). At most "
        "`WALLET_DAILY_TRANSFER_LIMIT` cents in any 24 hours (rolling window)."
    )
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Send credit to a friend"""
        return service.send_credit(current_principal().user, **data)


@blp.route("/<uuid:transfer_id>", operations={"get": "get_transfer"})
class TransferById(MethodView):
    @blp.auth("customer")
    @blp.response(200, TransferSchema)
    @blp.problems(TransferNotFound)
    def get(self, transfer_id: uuid.UUID) -> dict[str, Any]:
        """A transfer I sent or received

        Its sender or recipient only (anyone else: 404); each sees the other party.
        """
        return service.get_transfer(current_principal().user, transfer_id)
