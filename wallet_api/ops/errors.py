from wallet_api.extensions.problems import ApiError


class NotReady(ApiError):
    status, code, title = 503, "not_ready", "Not ready"
