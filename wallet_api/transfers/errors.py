from wallet_api.extensions.problems import NotFound, Unprocessable


class DailyTransferLimitExceeded(Unprocessable):
    code, title = "daily_transfer_limit_exceeded", "This would exceed your daily transfer limit"


class TransferToSelf(Unprocessable):
    code, title = "transfer_to_self", "You cannot send credit to yourself"


class TransferNotFound(NotFound):
    code, title = "transfer_not_found", "No such transfer"
