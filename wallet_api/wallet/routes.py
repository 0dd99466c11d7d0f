from flask import request
from flask.views import MethodView

from wallet_api.extensions import Blueprint
from wallet_api.extensions.auth import current_principal
from wallet_api.extensions.idempotency import claim_key, request_reference
from wallet_api.extensions.pagination import CursorArgs, page_of
from wallet_api.wallet import service
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


@blp.route("")
class Wallet(MethodView):
    @blp.auth("customer")
    @blp.response(200, WalletSchema)
    def get(self):
        """My balance, currency and limits"""
        return service.wallet_summary(current_principal().id)


@blp.route("/transactions")
class Transactions(MethodView):
    @blp.auth("customer")
    @blp.arguments(CursorArgs, location="query")
    @blp.response(200, page_of(WalletTransactionSchema))
    def get(self, args):
        """My wallet history, newest first"""
        return service.history(current_principal().id, **args)


@blp.route("/top-ups")
class TopUps(MethodView):
    @blp.auth("customer")
    @blp.idempotent(calls_out=True)
    @blp.arguments(TopUpCreateSchema)
    @blp.response(201, TopUpSchema)
    @blp.problems(503)
    def post(self, data):
        """Top up my wallet (sandbox: settled at once; stripe: pending until paid)"""
        started = service.start_top_up(current_principal().id, data["amount"], request_reference())
        claim_key()  # once the provider answered, before anything is written
        return service.record_top_up(started)


@blp.route("/top-ups/<uuid:top_up_id>")
class TopUpById(MethodView):
    @blp.auth("customer")
    @blp.response(200, TopUpSchema)
    @blp.problems(404)
    def get(self, top_up_id):
        """One of my top-ups"""
        return service.get_top_up(current_principal().id, top_up_id)


@webhooks.route("/<string:provider>")
class PaymentWebhook(MethodView):
    @webhooks.response(200, WebhookAckSchema)
    @webhooks.problems(400, 404)
    def post(self, provider):
        """A payment provider's signed event (Stripe: its signature scheme)"""
        outcome = service.handle_webhook(provider, request.get_data(), dict(request.headers))
        return {"received": True, "outcome": outcome}
