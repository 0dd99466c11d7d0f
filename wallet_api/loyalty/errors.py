from wallet_api.extensions.problems import Conflict, Gone, NotFound, Unprocessable


class CustomerNotFound(NotFound):
    code, title = "user_not_found", "No such customer"


class RewardNotFound(NotFound):
    code, title = "reward_not_found", "No such reward"


class RewardNameTaken(Conflict):
    code, title = "reward_name_taken", "A reward with this name exists"


class RewardCodeNotFound(NotFound):
    code, title = "reward_code_not_found", "No such reward code"


class CodeUnknown(NotFound):
    code, title = "code_unknown", "This code is not known"


class CodeAlreadyUsed(Conflict):
    code, title = "code_already_used", "This code was already used"


class CodeExpired(Gone):
    code, title = "code_expired", "This code has expired"


class OfferParityViolation(Unprocessable):
    code, title = "offer_parity_violation", "An offer cannot leave out existing customers"


class OfferNotFound(NotFound):
    code, title = "offer_not_found", "No such offer"


class OfferAlreadyUsed(Conflict):
    code, title = "offer_already_used", "This once-per-customer offer was already used"


class SwitcherBonusAlreadyGranted(Conflict):
    code = "switcher_bonus_already_granted"
    title = "This customer already received the switcher welcome bonus"


class GoodwillLimitExceeded(Unprocessable):
    code, title = "goodwill_limit_exceeded", "This would exceed your goodwill limit for today"


class GoodwillToSelf(Unprocessable):
    code, title = "goodwill_to_self", "Goodwill goes to customers, not to yourself"


class ProductUnknown(Unprocessable):
    code, title = "product_unknown", "No such product on the menu"
