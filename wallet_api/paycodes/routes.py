from flask.views import MethodView

from wallet_api.extensions import Blueprint
from wallet_api.extensions.auth import current_principal
from wallet_api.paycodes import service
from wallet_api.paycodes.qr import qr_endpoint, qr_response
from wallet_api.paycodes.schemas import (
    OfflineKeyCreatedSchema,
    OfflineKeyCreateSchema,
    OfflineKeySchema,
    PayCodeCreateSchema,
    PayCodeSchema,
)

blp = Blueprint(
    "paycodes", __name__, url_prefix="/v1/wallet", description="Pay codes and offline keys"
)


def _pay_code(code, text=None):  # type: ignore[no-untyped-def]
    return {
        "id": code.id,
        "code": text or service.pay_code_text(code.id),
        "status": service.pay_code_status(code),
        "created_at": code.created_at,
        "expires_at": code.expires_at,
        "allowance_id": code.allowance_id,
    }


@blp.route("/pay-codes")
class PayCodes(MethodView):
    @blp.auth("customer")
    @blp.arguments(PayCodeCreateSchema, required=False)
    @blp.response(201, PayCodeSchema)
    @blp.problems(404, 409, 410)
    @blp.doc(
        description="With `allowance_id` the code pays from a friend's allowance: it must "
        "be mine (else 404 `allowance_not_found`), not expired (410 `allowance_expired`) "
        "and the friend still a friend (422 `not_a_friend`)."
    )
    def post(self, data):
        """A new single-use pay code for the QR at the till"""
        code, text = service.create_pay_code(current_principal().user, data["allowance_id"])
        return _pay_code(code, text)


@blp.route("/pay-codes/<uuid:pay_code_id>")
class PayCodeById(MethodView):
    @blp.auth("customer")
    @blp.response(200, PayCodeSchema)
    @blp.problems(404)
    def get(self, pay_code_id):
        """One of my pay codes"""
        return _pay_code(service.get_pay_code(current_principal().user, pay_code_id))


@blp.route("/pay-codes/<uuid:pay_code_id>/qr")
class PayCodeQr(MethodView):
    @blp.auth("customer")
    @qr_endpoint(blp, "The QR code")
    def get(self, args, pay_code_id):
        """The QR image of one of my live pay codes (PNG or SVG)"""
        text = service.live_pay_code_text(current_principal().user, pay_code_id)
        return qr_response(text, args["format"])


@blp.route("/offline-keys")
class OfflineKeys(MethodView):
    @blp.auth("customer")
    @blp.arguments(OfflineKeyCreateSchema)
    @blp.response(201, OfflineKeyCreatedSchema)
    @blp.problems(409)
    def post(self, data):
        """Register a phone to make offline pay codes; the secret is shown once"""
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
    def get(self):
        """My phones that can make offline pay codes"""
        return service.list_offline_keys(current_principal().user)


@blp.route("/offline-keys/<uuid:offline_key_id>")
class OfflineKeyById(MethodView):
    @blp.auth("customer")
    @blp.response(204)
    @blp.problems(404)
    def delete(self, offline_key_id):
        """Revoke a phone's offline key (a lost phone)"""
        service.revoke_offline_key(current_principal().user, offline_key_id)
