import uuid
from typing import Any

from flask.views import MethodView

from wallet_api.auth.errors import UserNotFound
from wallet_api.extensions import Blueprint, limiter
from wallet_api.extensions.auth import current_principal
from wallet_api.extensions.pagination import CursorArgs, page_of
from wallet_api.extensions.problems import DatabaseUnavailable, RateLimited
from wallet_api.stores import reports, service
from wallet_api.stores.errors import (
    DeviceNotFound,
    DeviceRevoked,
    InvalidDeviceCredentials,
    NotStoreStaff,
    StoreNotFound,
)
from wallet_api.stores.models import Store
from wallet_api.stores.schemas import (
    DailyReportSchema,
    DeviceCreatedSchema,
    DeviceCreateSchema,
    DeviceTokenRequestSchema,
    DeviceTokenSchema,
    MembershipSchema,
    ReportArgsSchema,
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


@blp.route("/stores", operations={"get": "list_stores", "post": "create_store"})
class Stores(MethodView):
    @blp.auth("admin")
    @blp.arguments(StoreSchema)
    @blp.response(201, StoreSchema)
    def post(self, data: dict[str, Any]) -> Store:
        """Open a new store (admin)

        Admins only. A store has a name and its own time zone, in which its daily
        reports are cut.
        """
        return service.create_store(data)

    @blp.arguments(CursorArgs, location="query")
    @blp.response(200, page_of(StoreSchema))
    @blp.problems(DatabaseUnavailable)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """All stores, newest first

        Anyone may list them, open and closed; page with the cursor.
        """
        return service.list_stores(**args)


@blp.route("/stores/<uuid:store_id>", operations={"get": "get_store", "patch": "update_store"})
class StoreById(MethodView):
    @blp.response(200, StoreSchema)
    @blp.problems(StoreNotFound, DatabaseUnavailable)
    def get(self, store_id: uuid.UUID) -> Store:
        """One store

        Anyone may read it: its name, time zone and whether it is open.
        """
        return service.get_store(store_id)

    @blp.auth("admin")
    @blp.arguments(StorePatchSchema)
    @blp.response(200, StoreSchema)
    @blp.problems(StoreNotFound)
    def patch(self, data: dict[str, Any], store_id: uuid.UUID) -> Store:
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
    def post(self, data: dict[str, Any], store_id: uuid.UUID) -> service.Membership:
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
    def post(self, data: dict[str, Any], store_id: uuid.UUID) -> dict[str, Any]:
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
    def delete(self, store_id: uuid.UUID, device_id: uuid.UUID) -> None:
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
    def get(self, args: dict[str, Any], store_id: uuid.UUID) -> dict[str, Any]:
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
    def post(self, data: dict[str, Any]) -> service.DeviceToken:
        """Trade a device id and secret for a scanner token scoped to its store

        Anyone holding a device's secret may call it, within limits per client address.
        The token lets the scanner scan and charge at its own store only.
        """
        return service.issue_device_token(data["device_id"], data["device_secret"])
