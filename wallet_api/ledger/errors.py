from wallet_api.extensions.problems import ApiError, Conflict, Unprocessable


class InsufficientFunds(ApiError):
    status, code, title = 402, "insufficient_funds", "Not enough credit"


class InsufficientPoints(ApiError):
    status, code, title = 402, "insufficient_points", "Not enough points"


class BalanceLimitExceeded(Unprocessable):
    code, title = "balance_limit_exceeded", "The wallet would exceed its maximum balance"


class AccountClosed(Conflict):
    code, title = "account_closed", "The wallet is closed"


class UnbalancedTransaction(Exception):
    """A programming error: legs that do not sum to zero never reach the database."""
