import uuid
from typing import Any

from flask import Response
from flask.views import MethodView

from wallet_api.allowances.errors import AllowanceExpired, AllowanceNotFound
from wallet_api.counter.errors import CodeAlreadyUsed, CodeExpired
from wallet_api.extensions import Blueprint
from wallet_api.extensions.auth import current_principal
from wallet_api.ledger.errors import AccountClosed
from wallet_api.paycodes import service
from wallet_api.paycodes.errors import OfflineKeyNotFound, PayCodeNotFound
from wallet_api.paycodes.models import OfflineKey, PayCode
from wallet_api.paycodes.qr import qr_endpoint, qr_response
from wallet_api.paycodes.schemas import (
    OfflineKeyCreatedSchema,
    OfflineKeyCreateSchema,
    OfflineKeySchema,
    PayCodeCreateSchema,
    PayCodeSchema,
)
from wallet_api.social.errors import NotAFriend

blp = Blueprint(
    "paycodes", __name__, url_prefix="/v1/wallet", description="Pay codes and offline keys"
)


def _pay_code(code: PayCode, text: str | None = None) -> dict[str, Any]:
    return {
        "id": code.id,
        "code": text or service.pay_code_text(code.id),
        "status": service.pay_code_status(code),
        "created_at": code.created_at,
        "expires_at": code.expires_at,
        "allowance_id": code.allowance_id,
    }


@blp.route("/pay-codes", operations={"post": "create_pay_code"})
class PayCodes(MethodView):
    @blp.auth("customer")
    @blp.arguments(PayCodeCreateSchema, required=False)
    @blp.response(201, PayCodeSchema)
    @blp.problems(AllowanceNotFound, AllowanceExpired, NotAFriend, AccountClosed)
    @blp.doc(
        description="With `allowance_id` the code pays from a friend's allowance: it must "
        "be mine (else 404 `allowance_not_found`), not expired (410 `allowance_expired`) "
        "and the friend still a friend (422 `not_a_friend`)."
    )
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """A new single-use pay code for the QR at the till"""
        code, text = service.create_pay_code(current_principal().user, data["allowance_id"])
        return _pay_code(code, text)


@blp.route("/pay-codes/<uuid:pay_code_id>", operations={"get": "get_pay_code"})
class PayCodeById(MethodView):
    @blp.auth("customer")
    @blp.response(200, PayCodeSchema)
    @blp.problems(PayCodeNotFound)
    def get(self, pay_code_id: uuid.UUID) -> dict[str, Any]:
        """One of my pay codes

        Its owner only: whether it is live, used or expired (the till's scan uses it).
        """
        return _pay_code(service.get_pay_code(current_principal().user, pay_code_id))


@blp.route("/pay-codes/<uuid:pay_code_id>/qr", operations={"get": "get_pay_code_qr"})
class PayCodeQr(MethodView):
    @blp.auth("customer")
    @qr_endpoint(blp, "The QR code", PayCodeNotFound, CodeAlreadyUsed, CodeExpired)
    def get(self, args: dict[str, Any], pay_code_id: uuid.UUID) -> Response:
        """The QR image of one of my live pay codes (PNG or SVG)

        Its owner only, while the code can still pay: a used or expired code has no image.
        """
        text = service.live_pay_code_text(current_principal().user, pay_code_id)
        return qr_response(text, args["format"])


@blp.route("/offline-keys", operations={"get": "list_offline_keys", "post": "create_offline_key"})
class OfflineKeys(MethodView):
    @blp.auth("customer")
    @blp.arguments(OfflineKeyCreateSchema)
    @blp.response(201, OfflineKeyCreatedSchema)
    @blp.problems(service.TooManyOfflineKeys)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Register a phone to make offline pay codes; the secret is shown once

        Any signed-in person, for their own wallet, up to a few phones. The phone derives
        time-based codes from the secret, which a till accepts without the phone online.
        """
        key, secret = service.create_offline_key(current_principal().user, data["name"])
        return {
            "id": key.id,
            "key_id": key.key_id,
            "name": key.name,
            "created_at": key.created_at,
            "secret": secret,
            "algorithm": service.OFFLINE_ALGORITHM,
            "digits": service.OFFLINE_DIGITS,
            "period": service.OFFLINE_PERIOD,
            "code_prefix": service.OFFLINE_CODE_PREFIX + key.key_id,
        }

    @blp.auth("customer")
    @blp.response(200, OfflineKeySchema(many=True))
    def get(self) -> list[OfflineKey]:
        """My phones that can make offline pay codes

        Any signed-in person, their own keys only; secrets are never shown again.
        """
        return service.list_offline_keys(current_principal().user)


@blp.route("/offline-keys/<uuid:offline_key_id>", operations={"delete": "revoke_offline_key"})
class OfflineKeyById(MethodView):
    @blp.auth("customer")
    @blp.response(204)
    @blp.problems(OfflineKeyNotFound)
    def delete(self, offline_key_id: uuid.UUID) -> None:
        """Revoke a phone's offline key (a lost phone)

        Its owner only. Codes from that phone are refused from now on.
        """
        service.revoke_offline_key(current_principal().user, offline_key_id)
