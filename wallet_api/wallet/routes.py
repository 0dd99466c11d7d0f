import uuid
from typing import Any

from flask import request
from flask.views import MethodView

from wallet_api.extensions import Blueprint
from wallet_api.extensions.auth import current_principal
from wallet_api.extensions.idempotency import claim_key, request_reference
from wallet_api.extensions.pagination import CursorArgs, page_of
from wallet_api.extensions.problems import DatabaseUnavailable, PayloadTooLarge
from wallet_api.ledger.errors import AccountClosed, BalanceLimitExceeded
from wallet_api.wallet import service
from wallet_api.wallet.errors import (
    PaymentProviderUnavailable,
    TopUpNotFound,
    TopUpTooLarge,
    TopUpTooSmall,
    UnknownPaymentProvider,
    WebhookSignatureInvalid,
)
from wallet_api.wallet.models import TopUp
from wallet_api.wallet.schemas import (
    TopUpCreateSchema,
    TopUpSchema,
    WalletSchema,
    WalletTransactionSchema,
    WebhookAckSchema,
)

blp = Blueprint("wallet", __name__, url_prefix="/v1/wallet", description="Balance and top-ups")
webhooks = Blueprint(
    "payment_webhooks",
    __name__,
    url_prefix="/v1/webhooks/payments",
    description="Payment provider callbacks",
)


@blp.route("", operations={"get": "get_wallet"})
class Wallet(MethodView):
    @blp.auth("customer")
    @blp.response(200, WalletSchema)
    def get(self) -> dict[str, Any]:
        """My balance, currency and limits

        Any signed-in person, their own wallet only: the balance in cents, and the top-up
        minimum and maximum and the most the wallet may hold.
        """
        return service.wallet_summary(current_principal().id)


@blp.route("/transactions", operations={"get": "list_wallet_transactions"})
class Transactions(MethodView):
    @blp.auth("customer")
    @blp.arguments(CursorArgs, location="query")
    @blp.response(200, page_of(WalletTransactionSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """My wallet history, newest first

        Any signed-in person, their own wallet only: each top-up, charge, refund, transfer
        and gift with the balance after it and the other party; page with the cursor.
        """
        return service.history(current_principal().id, **args)


@blp.route("/top-ups", operations={"post": "create_top_up"})
class TopUps(MethodView):
    @blp.auth("customer")
    @blp.idempotent(calls_out=True)
    @blp.arguments(TopUpCreateSchema)
    @blp.response(201, TopUpSchema)
    @blp.problems(
        TopUpTooSmall,
        TopUpTooLarge,
        BalanceLimitExceeded,
        AccountClosed,
        PaymentProviderUnavailable,
    )
    def post(self, data: dict[str, Any]) -> TopUp:
        """Top up my wallet (sandbox: settled at once; stripe: pending until paid)

        Any signed-in person, into their own wallet. The amount must lie within the
        top-up limits and leave the balance within its maximum. With Stripe the answer
        carries what the app needs to collect the payment; the wallet is credited when
        Stripe's webhook says it was paid.
        """
        started = service.start_top_up(current_principal().id, data["amount"], request_reference())
        claim_key()  # once the provider answered, before anything is written
        return service.record_top_up(started)


@blp.route("/top-ups/<uuid:top_up_id>", operations={"get": "get_top_up"})
class TopUpById(MethodView):
    @blp.auth("customer")
    @blp.response(200, TopUpSchema)
    @blp.problems(TopUpNotFound)
    def get(self, top_up_id: uuid.UUID) -> TopUp:
        """One of my top-ups

        Its owner only: its status (pending until the provider settles it) and reference.
        """
        return service.get_top_up(current_principal().id, top_up_id)


@webhooks.route("/<string:provider>", operations={"post": "receive_payment_webhook"})
class PaymentWebhook(MethodView):
    @webhooks.response(200, WebhookAckSchema)
    @webhooks.problems(
        UnknownPaymentProvider, WebhookSignatureInvalid, PayloadTooLarge, DatabaseUnavailable
    )
    def post(self, provider: str) -> dict[str, Any]:
        """A payment provider's signed event (Stripe: its signature scheme)

        The provider calls it, proving itself by its signature, not a token. Each event
        is applied once: a redelivered one, or one about a payment that is not ours, is
        acknowledged without effect so the provider stops sending it.
        """
        outcome = service.handle_webhook(provider, request.get_data(), dict(request.headers))
        return {"received": True, "outcome": outcome}
