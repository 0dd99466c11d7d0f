from wallet_api.extensions.problems import AccessTokenRevoked as AccessTokenRevoked
from wallet_api.extensions.problems import Conflict, NotFound, Unauthorized


class InvalidCredentials(Unauthorized):
    code, title = "invalid_credentials", "Email or password is wrong"


class RefreshTokenInvalid(Unauthorized):
    code, title = "refresh_token_invalid", "The refresh token is not valid"


class RefreshTokenReused(Unauthorized):
    code, title = "refresh_token_reused", "The refresh token was already used"


class EmailTaken(Conflict):
    code, title = "email_taken", "An account with this email exists"


class HandleTaken(Conflict):
    code, title = "handle_taken", "This handle is taken"


class PhoneTaken(Conflict):
    code, title = "phone_taken", "An account with this phone number exists"


class UserNotFound(NotFound):
    """The one ``user_not_found``: every domain that looks a person up raises this."""

    code, title = "user_not_found", "No such user"
