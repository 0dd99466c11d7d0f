from wallet_api.extensions.problems import (
    Conflict,
    Forbidden,
    Gone,
    NotFound,
    Unprocessable,
)


class ChargeNotFound(NotFound):
    code, title = "charge_not_found", "No such charge"


class RefundExceedsCharge(Unprocessable):
    code, title = "refund_exceeds_charge", "The refund is more than what is left of the charge"


# What the scanner can be told about a code. Every kind of code (pay codes, offline codes,
# and later gift and reward codes) reports its problems with these, so a till shows one set
# of messages. They live here, with the scanner, rather than with any one kind of code.
class CodeUnknown(NotFound):
    code, title = "code_unknown", "This code is not known"


class CodeExpired(Gone):
    code, title = "code_expired", "This code has expired"


class CodeAlreadyUsed(Conflict):
    code, title = "code_already_used", "This code was already used"


class CodeNotChargeable(Unprocessable):
    code, title = "code_not_chargeable", "This kind of code cannot be charged here yet"


class FeedbackAlreadyGiven(Conflict):
    code, title = "feedback_already_given", "This charge was already rated"


class FeedbackNotDrinker(Forbidden):
    # For the payer of a gift or an allowance charge: they see the charge, but were not there.
    code, title = "feedback_not_drinker", "Only the person who had the drink rates the visit"
