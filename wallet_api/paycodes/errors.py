from wallet_api.extensions.problems import NotFound


class PayCodeNotFound(NotFound):
    code, title = "pay_code_not_found", "No such pay code"


class OfflineKeyNotFound(NotFound):
    code, title = "offline_key_not_found", "No such offline key"
