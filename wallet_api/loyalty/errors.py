"""Loyalty's own errors. People and scanned codes use the app-wide classes: a missing
customer is ``auth.errors.UserNotFound``; unknown, expired or used reward codes raise the
counter's ``counter.errors.CodeUnknown``/``CodeExpired``/``CodeAlreadyUsed``, so a till
shows one set of messages whatever kind of code it read."""

from wallet_api.extensions.problems import Conflict, GrantToSelf, NotFound, Unprocessable


class RewardNotFound(NotFound):
    code, title = "reward_not_found", "No such reward"


class RewardNameTaken(Conflict):
    code, title = "reward_name_taken", "A reward with this name exists"


class RewardCodeNotFound(NotFound):
    code, title = "reward_code_not_found", "No such reward code"


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


class GoodwillToSelf(GrantToSelf):
    # A grant to oneself like the others, under the code it had before ``grant_to_self``.
    code, title = "goodwill_to_self", "Goodwill goes to customers, not to yourself"


class ProductUnknown(Unprocessable):
    code, title = "product_unknown", "No such product on the menu"


class RewardItemMismatch(Unprocessable):
    code, title = "reward_item_mismatch", "These items are not what this reward is for"
