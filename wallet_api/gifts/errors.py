from wallet_api.extensions.problems import Conflict, Gone, NotFound, Unprocessable


class GiftNotFound(NotFound):
    code, title = "gift_not_found", "No such gift"


class GiftClaimNotFound(NotFound):
    code, title = "gift_claim_not_found", "This gift link is not known"


class GiftToSelf(Unprocessable):
    code, title = "gift_to_self", "You cannot give yourself a gift"


class GiftClaimOwn(Unprocessable):
    code, title = "gift_claim_own", "You cannot claim a gift you gave"


class GiftAlreadyClaimed(Conflict):
    code, title = "gift_already_claimed", "This gift was already claimed"


class GiftClaimedAway(Conflict):
    """The code on a link's page after the gift was claimed into an account."""

    code, title = "gift_claimed", "This gift was claimed into the Bean Wallet app"


class GiftRedeemed(Conflict):
    code, title = "gift_redeemed", "This gift was already redeemed"


class GiftAccepted(Conflict):
    code, title = "gift_accepted", "This gift is already in the wallet"


class GiftDeclined(Conflict):
    code, title = "gift_declined", "This gift was declined"


class GiftExpired(Gone):
    code, title = "gift_expired", "This gift has expired"


class GiftIsADrink(Conflict):
    code, title = "gift_is_a_drink", "A drink is redeemed at a store, not accepted"


class GiftIsCredit(Conflict):
    code, title = "gift_is_credit", "A gift of credit is accepted into the wallet"


class GiftAlreadyThanked(Conflict):
    code, title = "gift_already_thanked", "You already said thanks for this gift"


# Why a gift is no longer pending (service._state_error): it cannot be accepted, declined,
# claimed or redeemed any more. ``Conflict``: it changed while this request looked at it.
NOT_PENDING = (GiftRedeemed, GiftAccepted, GiftDeclined, GiftExpired, GiftClaimedAway, Conflict)
