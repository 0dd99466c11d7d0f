from flask import Response
from flask.views import MethodView

from wallet_api.allowances.errors import AllowanceExceeded, AllowanceExpired, AllowanceRevoked
from wallet_api.auth.errors import UserNotFound
from wallet_api.catalog.errors import ItemUnavailable, SizeUnavailable
from wallet_api.extensions import Blueprint, limiter
from wallet_api.extensions.auth import current_principal, principal_key
from wallet_api.extensions.pagination import CursorArgs, page_of
from wallet_api.extensions.problems import DatabaseUnavailable, GrantToSelf, RateLimited
from wallet_api.gifts.errors import NOT_PENDING, GiftIsCredit
from wallet_api.ledger.errors import AccountClosed, BalanceLimitExceeded, InsufficientFunds
from wallet_api.loyalty.errors import OfferAlreadyUsed, RewardItemMismatch
from wallet_api.social.errors import NotAFriend
from wallet_api.stores import charges, feedback, reports, scanning, service
from wallet_api.stores.errors import (
    ChargeNotFound,
    CodeAlreadyUsed,
    CodeExpired,
    CodeNotChargeable,
    CodeUnknown,
    DeviceNotFound,
    DeviceRevoked,
    FeedbackAlreadyGiven,
    FeedbackNotDrinker,
    InvalidDeviceCredentials,
    NotStoreStaff,
    RefundExceedsCharge,
    StoreClosed,
    StoreNotFound,
    StoreRequired,
)
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


# Why a till may not work at a store now (services.counter_store).
COUNTER_PROBLEMS = (StoreNotFound, StoreRequired, NotStoreStaff, StoreClosed)
# Why a scanned code cannot be used, whatever kind it is: pay (of a wallet or an
# allowance), offline, gift or reward code. The kinds register themselves (stores/codes.py).
CODE_PROBLEMS = (
    CodeUnknown,
    CodeExpired,
    CodeAlreadyUsed,
    AllowanceRevoked,
    AllowanceExpired,
    NotAFriend,
    GiftIsCredit,
    *NOT_PENDING,
    AccountClosed,
    RateLimited,
)


# One budget shared by scans and charges: both look codes up.
code_failures = limiter.shared_limit(
    CODE_FAILURE_LIMIT,
    scope="code-failures",
    key_func=principal_key,
    deduct_when=_code_failure,
    methods=["POST"],
)


@blp.route("/stores", operations={"get": "list_stores", "post": "create_store"})
class Stores(MethodView):
    @blp.auth("admin")
    @blp.arguments(StoreSchema)
    @blp.response(201, StoreSchema)
    def post(self, data):
        """Open a new store (admin)

        Admins only. A store has a name and its own time zone, in which its daily
        reports are cut.
        """
        return service.create_store(data)

    @blp.arguments(CursorArgs, location="query")
    @blp.response(200, page_of(StoreSchema))
    @blp.problems(DatabaseUnavailable)
    def get(self, args):
        """All stores, newest first

        Anyone may list them, open and closed; page with the cursor.
        """
        return service.list_stores(**args)


@blp.route("/stores/<uuid:store_id>", operations={"get": "get_store", "patch": "update_store"})
class StoreById(MethodView):
    @blp.response(200, StoreSchema)
    @blp.problems(StoreNotFound, DatabaseUnavailable)
    def get(self, store_id):
        """One store

        Anyone may read it: its name, time zone and whether it is open.
        """
        return service.get_store(store_id)

    @blp.auth("admin")
    @blp.arguments(StorePatchSchema)
    @blp.response(200, StoreSchema)
    @blp.problems(StoreNotFound)
    def patch(self, data, store_id):
        """Rename, open or close a store (admin)

        Admins only. A closed store's tills can neither scan nor charge.
        """
        return service.update_store(service.get_store(store_id), data)


@blp.route("/stores/<uuid:store_id>/staff", operations={"post": "add_store_staff"})
class StoreStaff(MethodView):
    @blp.auth("admin")
    @blp.arguments(StaffAddSchema)
    @blp.response(201, MembershipSchema)
    @blp.problems(StoreNotFound, UserNotFound)
    def post(self, data, store_id):
        """Make a user staff of this store (admin)

        Admins only. The user's role becomes `staff` (an admin stays admin); recorded in
        the audit log.
        """
        store = service.get_store(store_id)
        return service.add_staff(store, data["user_id"], actor=current_principal())


@blp.route("/stores/<uuid:store_id>/devices", operations={"post": "create_device"})
class StoreDevices(MethodView):
    @blp.auth("admin")
    @blp.arguments(DeviceCreateSchema)
    @blp.response(201, DeviceCreatedSchema)
    @blp.problems(StoreNotFound)
    def post(self, data, store_id):
        """Add a scanner; its secret is shown once (admin)

        Admins only. The scanner trades its id and secret for a token at
        `POST /v1/auth/device-token`; recorded in the audit log.
        """
        store = service.get_store(store_id)
        device, secret = service.create_device(store, data["name"], actor=current_principal())
        return {
            "id": device.id,
            "store_id": device.store_id,
            "name": device.name,
            "device_secret": secret,
            "created_at": device.created_at,
        }


@blp.route(
    "/stores/<uuid:store_id>/devices/<uuid:device_id>", operations={"delete": "revoke_device"}
)
class StoreDeviceById(MethodView):
    @blp.auth("admin")
    @blp.response(204)
    @blp.problems(StoreNotFound, DeviceNotFound)
    def delete(self, store_id, device_id):
        """Revoke a scanner at once (admin)

        Admins only. Its tokens are refused from the next request (`device_revoked`);
        recorded in the audit log.
        """
        store = service.get_store(store_id)
        service.revoke_device(store, device_id, actor=current_principal())


@blp.route("/stores/<uuid:store_id>/reports/daily", operations={"get": "get_daily_report"})
class DailyReport(MethodView):
    @blp.auth("staff")
    @blp.arguments(ReportArgsSchema, location="query")
    @blp.response(200, DailyReportSchema)
    @blp.problems(StoreNotFound, NotStoreStaff)
    def get(self, args, store_id):
        """A day of this store in its own time zone (staff of the store, admin)

        Staff of this store and admins. Sales, refunds, top items and feedback of one
        local day (today by default).
        """
        store = service.get_store(store_id)
        return reports.daily_report(current_principal(), store, args["date"])


@blp.route("/auth/device-token", operations={"post": "create_device_token"})
class DeviceToken(MethodView):
    decorators = [limiter.limit(DEVICE_SIGN_IN_LIMIT, methods=["POST"])]

    @blp.arguments(DeviceTokenRequestSchema)
    @blp.response(200, DeviceTokenSchema)
    @blp.problems(InvalidDeviceCredentials, DeviceRevoked, RateLimited, DatabaseUnavailable)
    def post(self, data):
        """Trade a device id and secret for a scanner token scoped to its store

        Anyone holding a device's secret may call it, within limits per client address.
        The token lets the scanner scan and charge at its own store only.
        """
        return service.issue_device_token(data["device_id"], data["device_secret"])


@blp.route("/scans", operations={"post": "scan_code"})
class Scans(MethodView):
    decorators = [code_failures]

    @blp.auth("device", "staff")
    @blp.arguments(ScanSchema)
    @blp.response(200, ScanPreviewSchema)
    @blp.problems(*COUNTER_PROBLEMS, *CODE_PROBLEMS)
    def post(self, data):
        """Preview a scanned code: who it is, the usual, whether the balance covers it

        A store's scanner, or its staff working at it. Nothing is charged or used up.
        Failed code look-ups count against a limit per scanner or staff member.
        """
        return scanning.scan(
            current_principal(), data["code"], store_id=data["store_id"], amount=data["amount"]
        )


@blp.route("/charges", operations={"post": "create_charge"})
class Charges(MethodView):
    decorators = [code_failures]

    @blp.auth("device", "staff")
    @blp.idempotent
    @blp.arguments(ChargeCreateSchema)
    @blp.response(201, ChargeCreatedSchema)
    @blp.problems(
        *COUNTER_PROBLEMS,
        *CODE_PROBLEMS,
        CodeNotChargeable,
        InsufficientFunds,
        AllowanceExceeded,
        ItemUnavailable,
        SizeUnavailable,
        RewardItemMismatch,
        OfferAlreadyUsed,
    )
    def post(self, data):
        """Charge a scanned code for items priced on the server, or a till amount

        A store's scanner, or its staff working at it. Pay codes are paid from the wallet
        (or a friend's allowance), gift and reward codes redeem their drink. The code is
        used up with the charge; offers apply and points are earned. Failed code look-ups
        count against a limit per scanner or staff member.
        """
        return charges.create_charge(current_principal(), data)


@blp.route("/charges/<uuid:charge_id>", operations={"get": "get_charge"})
class ChargeById(MethodView):
    @blp.auth("customer", "device")
    @blp.response(200, ChargeSchema)
    @blp.problems(ChargeNotFound)
    def get(self, charge_id):
        """A charge: for the customer who paid and the store that charged

        The customer who paid and the store's scanners; anyone else gets 404.
        """
        return charges.get_charge(current_principal(), charge_id)


@blp.route("/charges/<uuid:charge_id>/refunds", operations={"post": "refund_charge"})
class ChargeRefunds(MethodView):
    @blp.auth("device", "staff")
    @blp.idempotent
    @blp.arguments(RefundCreateSchema)
    @blp.response(201, RefundSchema)
    @blp.problems(
        ChargeNotFound, GrantToSelf, RefundExceedsCharge, BalanceLimitExceeded, AccountClosed
    )
    def post(self, data, charge_id):
        """Refund all or part of a charge to the wallet that paid (the store, or an admin)

        The store's scanners and staff, and admins; never staff refunding themselves.
        Refunds together never exceed the charge; the points it earned are taken back in
        proportion. Recorded in the audit log.
        """
        return charges.refund_charge(current_principal(), charge_id, **data)


@blp.route("/charges/<uuid:charge_id>/feedback", operations={"post": "give_feedback"})
class ChargeFeedback(MethodView):
    @blp.auth("customer")
    @blp.idempotent  # a low rating credits money: a retry replays, it never credits again
    @blp.arguments(FeedbackCreateSchema)
    @blp.response(201, FeedbackSchema)
    @blp.problems(ChargeNotFound, FeedbackNotDrinker, FeedbackAlreadyGiven, BalanceLimitExceeded)
    def post(self, data, charge_id):
        """Rate a visit I had, once; 1-2 stars bring an apology (credit if I paid for it)

        The person who had the drink only (the payer of a gift or allowance is not). The
        store reads the rating in its daily report.
        """
        return feedback.give_feedback(current_principal(), charge_id, **data)
