from wallet_api.extensions.problems import (
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
    Unprocessable,
)
from wallet_api.extensions.problems import DeviceRevoked as DeviceRevoked


class StoreNotFound(NotFound):
    code, title = "store_not_found", "No such store"


class DeviceNotFound(NotFound):
    code, title = "device_not_found", "No such device"


class StoreClosed(Conflict):
    code, title = "store_closed", "The store is closed"


class NotStoreStaff(Forbidden):
    code, title = "not_store_staff", "You are not staff of this store"


class StoreRequired(Unprocessable):
    code, title = "store_required", "Say which store you are working at"


class InvalidDeviceCredentials(Unauthorized):
    code, title = "invalid_device_credentials", "Device id or secret is wrong"
