from flask import Response
from flask.views import MethodView

from wallet_api.extensions import Blueprint, limiter
from wallet_api.extensions.auth import current_principal, principal_key
from wallet_api.extensions.pagination import CursorArgs, page_of
from wallet_api.stores import charges, feedback, reports, scanning, service
from wallet_api.stores.schemas import (
    ChargeCreatedSchema,
    ChargeCreateSchema,
    ChargeSchema,
    DailyReportSchema,
    DeviceCreatedSchema,
    DeviceCreateSchema,
    DeviceTokenRequestSchema,
    DeviceTokenSchema,
    FeedbackCreateSchema,
    FeedbackSchema,
    MembershipSchema,
    RefundCreateSchema,
    RefundSchema,
    ReportArgsSchema,
    ScanPreviewSchema,
    ScanSchema,
    StaffAddSchema,
    StorePatchSchema,
    StoreSchema,
)

blp = Blueprint(
    "stores",
    __name__,
    url_prefix="/v1",
    description="Stores, scanner devices, scans, charges, refunds and daily reports",
)

DEVICE_SIGN_IN_LIMIT = "10 per minute;100 per hour"
# Failed code look-ups per scanner (or staff member): guessing codes is hopeless at this
# rate, while a till that misreads a QR now and then never notices the limit.
CODE_FAILURE_LIMIT = "10 per minute;60 per hour"


def _code_failure(response: Response) -> bool:
    if response.status_code not in (404, 409, 410):
        return False
    body = response.get_json(silent=True) or {}
    return str(body.get("code", "")).startswith("code_")


# One budget shared by scans and charges: both look codes up.
code_failures = limiter.shared_limit(
    CODE_FAILURE_LIMIT,
    scope="code-failures",
    key_func=principal_key,
    deduct_when=_code_failure,
    methods=["POST"],
)


@blp.route("/stores")
class Stores(MethodView):
    @blp.auth("admin")
    @blp.arguments(StoreSchema)
    @blp.response(201, StoreSchema)
    def post(self, data):
        """Open a new store (admin)"""
        return service.create_store(data)

    @blp.arguments(CursorArgs, location="query")
    @blp.response(200, page_of(StoreSchema))
    def get(self, args):
        """All stores, newest first"""
        return service.list_stores(**args)


@blp.route("/stores/<uuid:store_id>")
class StoreById(MethodView):
    @blp.response(200, StoreSchema)
    @blp.problems(404)
    def get(self, store_id):
        """One store"""
        return service.get_store(store_id)

    @blp.auth("admin")
    @blp.arguments(StorePatchSchema)
    @blp.response(200, StoreSchema)
    @blp.problems(404)
    def patch(self, data, store_id):
        """Rename, open or close a store (admin)"""
        return service.update_store(service.get_store(store_id), data)


@blp.route("/stores/<uuid:store_id>/staff")
class StoreStaff(MethodView):
    @blp.auth("admin")
    @blp.arguments(StaffAddSchema)
    @blp.response(201, MembershipSchema)
    @blp.problems(404)
    def post(self, data, store_id):
        """Make a user staff of this store (admin)"""
        store = service.get_store(store_id)
        return service.add_staff(store, data["user_id"], actor=current_principal())


@blp.route("/stores/<uuid:store_id>/devices")
class StoreDevices(MethodView):
    @blp.auth("admin")
    @blp.arguments(DeviceCreateSchema)
    @blp.response(201, DeviceCreatedSchema)
    @blp.problems(404)
    def post(self, data, store_id):
        """Add a scanner; its secret is shown once (admin)"""
        store = service.get_store(store_id)
        device, secret = service.create_device(store, data["name"], actor=current_principal())
        return {
            "id": device.id,
            "store_id": device.store_id,
            "name": device.name,
            "device_secret": secret,
            "created_at": device.created_at,
        }


@blp.route("/stores/<uuid:store_id>/devices/<uuid:device_id>")
class StoreDeviceById(MethodView):
    @blp.auth("admin")
    @blp.response(204)
    @blp.problems(404)
    def delete(self, store_id, device_id):
        """Revoke a scanner at once (admin)"""
        store = service.get_store(store_id)
        service.revoke_device(store, device_id, actor=current_principal())


@blp.route("/stores/<uuid:store_id>/reports/daily")
class DailyReport(MethodView):
    @blp.auth("staff")
    @blp.arguments(ReportArgsSchema, location="query")
    @blp.response(200, DailyReportSchema)
    @blp.problems(404)
    def get(self, args, store_id):
        """A day of this store in its own time zone (staff of the store, admin)"""
        store = service.get_store(store_id)
        return reports.daily_report(current_principal(), store, args["date"])


@blp.route("/auth/device-token")
class DeviceToken(MethodView):
    decorators = [limiter.limit(DEVICE_SIGN_IN_LIMIT, methods=["POST"])]

    @blp.arguments(DeviceTokenRequestSchema)
    @blp.response(200, DeviceTokenSchema)
    @blp.problems(401, 429)
    def post(self, data):
        """Trade a device id and secret for a scanner token scoped to its store"""
        return service.issue_device_token(data["device_id"], data["device_secret"])


@blp.route("/scans")
class Scans(MethodView):
    decorators = [code_failures]

    @blp.auth("device", "staff")
    @blp.arguments(ScanSchema)
    @blp.response(200, ScanPreviewSchema)
    @blp.problems(404, 409, 410, 429)
    def post(self, data):
        """Preview a scanned code: who it is, the usual, whether the balance covers it"""
        return scanning.scan(
            current_principal(), data["code"], store_id=data["store_id"], amount=data["amount"]
        )


@blp.route("/charges")
class Charges(MethodView):
    decorators = [code_failures]

    @blp.auth("device", "staff")
    @blp.idempotent
    @blp.arguments(ChargeCreateSchema)
    @blp.response(201, ChargeCreatedSchema)
    @blp.problems(402, 404, 409, 410, 429)
    def post(self, data):
        """Charge a scanned code for items priced on the server, or a till amount"""
        return charges.create_charge(current_principal(), data)


@blp.route("/charges/<uuid:charge_id>")
class ChargeById(MethodView):
    @blp.auth("customer", "device")
    @blp.response(200, ChargeSchema)
    @blp.problems(404)
    def get(self, charge_id):
        """A charge: for the customer who paid and the store that charged"""
        return charges.get_charge(current_principal(), charge_id)


@blp.route("/charges/<uuid:charge_id>/refunds")
class ChargeRefunds(MethodView):
    @blp.auth("device", "staff")
    @blp.idempotent
    @blp.arguments(RefundCreateSchema)
    @blp.response(201, RefundSchema)
    @blp.problems(404, 409)
    def post(self, data, charge_id):
        """Refund all or part of a charge to the wallet that paid (the store, or an admin)"""
        return charges.refund_charge(current_principal(), charge_id, **data)


@blp.route("/charges/<uuid:charge_id>/feedback")
class ChargeFeedback(MethodView):
    @blp.auth("customer")
    @blp.idempotent  # a low rating credits money: a retry replays, it never credits again
    @blp.arguments(FeedbackCreateSchema)
    @blp.response(201, FeedbackSchema)
    @blp.problems(404, 409)
    def post(self, data, charge_id):
        """Rate a visit I had, once; 1-2 stars bring an apology (credit if I paid for it)"""
        return feedback.give_feedback(current_principal(), charge_id, **data)
