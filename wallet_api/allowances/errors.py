from wallet_api.extensions.problems import Conflict, Gone, NotFound, Unprocessable


class AllowanceNotFound(NotFound):
    code, title = "allowance_not_found", "No such allowance"


class AllowanceExists(Conflict):
    code, title = "allowance_exists", "You already give this friend an allowance"


class AllowanceToSelf(Unprocessable):
    code, title = "allowance_to_self", "You cannot give yourself an allowance"


class AllowanceRevoked(Conflict):
    code, title = "allowance_revoked", "This allowance was revoked"


class AllowanceExpired(Gone):
    code, title = "allowance_expired", "This allowance has expired"


class AllowanceExceeded(Unprocessable):
    code, title = "allowance_exceeded", "This is more than what is left of the allowance"
