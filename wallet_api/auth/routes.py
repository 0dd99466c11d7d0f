import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, request
from flask.views import MethodView
from flask_limiter import RouteLimit
from flask_limiter.util import get_remote_address

from wallet_api.auth import service
from wallet_api.auth.errors import (
    EmailTaken,
    HandleTaken,
    InvalidCredentials,
    PhoneTaken,
    RefreshTokenInvalid,
    RefreshTokenReused,
)
from wallet_api.auth.models import User
from wallet_api.auth.schemas import (
    LoginSchema,
    LogoutSchema,
    ProfilePatchSchema,
    RefreshSchema,
    RegisteredSchema,
    RegisterSchema,
    TokensSchema,
    UserSchema,
)
from wallet_api.auth.service import TokenPair
from wallet_api.extensions import Blueprint, limiter
from wallet_api.extensions.auth import current_principal
from wallet_api.extensions.problems import DatabaseUnavailable, RateLimited

blp = Blueprint("auth", __name__, url_prefix="/v1", description="Accounts and sign-in")

# Per client address (behind a load balancer, set WALLET_TRUSTED_PROXIES so the address is
# the client's, not the balancer's); shared across workers when Redis is configured.
LOGIN_LIMIT = "10 per minute;100 per hour"
# Refused passwords only, so the owner signing in on each of their phones never counts.
# Per account from one client, tightly: one address guesses one password no faster than
# this. Per account from anywhere, loosely (OWASP: at most 100 failures an hour): a
# password guessed from many addresses is throttled too, yet a stranger on a few addresses
# does not hold the owner's own sign-in off; only some five addresses each spending their
# whole hourly budget on the account can (and phones already signed in keep refreshing).
ACCOUNT_CLIENT_LOGIN_LIMIT = "5 per minute;20 per hour"
ACCOUNT_LOGIN_LIMIT = "100 per hour"


def _login_account() -> str:
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    # As the schema normalises it: one budget per account however the email is spelt.
    return email.strip().lower() if isinstance(email, str) else ""


def _login_account_key() -> str:
    # The account's budget under a keyed digest of its email, not the email: Flask-Limiter
    # logs the key of a limit that refuses ("ratelimit 5 per 1 minute (<key>) exceeded")
    # and Redis holds it, and neither is a place for a customer's address. Keyed, so the
    # digest of a known address cannot be looked up.
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, _login_account().encode(), hashlib.sha256).hexdigest()


def _login_account_and_client() -> str:
    return f"{_login_account_key()} {get_remote_address()}"


def _refused(response: Response) -> bool:
    return response.status_code == 401


def _no_account_named() -> bool:
    # A body without an email is refused by the schema (422) and names no account to
    # count against; Flask-Limiter would log an error for every such request's empty key.
    return not _login_account()


def _refused_passwords_limit(spec: str, key_func: Callable[[], str], scope: str) -> RouteLimit:
    return limiter.limit(
        spec,
        key_func=key_func,
        scope=scope,
        deduct_when=_refused,
        exempt_when=_no_account_named,
        methods=["POST"],
    )


account_client_login_limit = _refused_passwords_limit(
    ACCOUNT_CLIENT_LOGIN_LIMIT, _login_account_and_client, "login-account-client"
)
account_login_limit = _refused_passwords_limit(
    ACCOUNT_LOGIN_LIMIT, _login_account_key, "login-account"
)


@blp.route("/auth/register", operations={"post": "register"})
class Register(MethodView):
    decorators = [limiter.limit("20 per hour", methods=["POST"])]

    @blp.arguments(RegisterSchema)
    @blp.response(201, RegisteredSchema)
    @blp.problems(EmailTaken, HandleTaken, PhoneTaken, RateLimited, DatabaseUnavailable)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create an account and sign in

        Anyone may call it (20 an hour per client address). Email, handle and phone must
        be unused; the answer holds the new account and its first pair of tokens.
        """
        user = service.register_user(**data)
        return {"user": user, "tokens": service.issue_tokens(user)}


@blp.route("/auth/login", operations={"post": "login"})
class Login(MethodView):
    decorators = [
        limiter.limit(LOGIN_LIMIT, methods=["POST"]),
        account_client_login_limit,
        account_login_limit,
    ]

    @blp.arguments(LoginSchema)
    @blp.response(200, TokensSchema)
    @blp.problems(InvalidCredentials, RateLimited, DatabaseUnavailable)
    def post(self, data: dict[str, Any]) -> TokenPair:
        """Sign in with email and password

        Anyone may call it, within limits per client address, and on refused passwords
        per account (from one address, and from anywhere). Answers an access token and a
        refresh token.
        """
        user = service.authenticate_user(data["email"], data["password"])
        return service.issue_tokens(user)


@blp.route("/auth/refresh", operations={"post": "refresh_tokens"})
class Refresh(MethodView):
    decorators = [limiter.limit(LOGIN_LIMIT, methods=["POST"])]

    @blp.arguments(RefreshSchema)
    @blp.response(200, TokensSchema)
    @blp.problems(RefreshTokenInvalid, RefreshTokenReused, RateLimited, DatabaseUnavailable)
    def post(self, data: dict[str, Any]) -> TokenPair:
        """Trade a refresh token for a new pair (the old one dies)

        Anyone holding a refresh token may call it. A refresh token works once: using one
        again (`refresh_token_reused`) ends that login, as a stolen token would be.
        """
        return service.rotate_refresh_token(data["refresh_token"])


@blp.route("/auth/logout", operations={"post": "logout"})
class Logout(MethodView):
    @blp.auth("customer")
    @blp.arguments(LogoutSchema, required=False)
    @blp.response(204)
    @blp.problems(RefreshTokenInvalid)
    def post(self, data: dict[str, Any]) -> None:
        """Sign out: end the login of the refresh token (every login without one)

        Its refresh and access tokens are refused from now on (401 `token_revoked`).
        """
        service.logout(current_principal().user, data["refresh_token"])


@blp.route("/me", operations={"get": "get_my_profile", "patch": "update_my_profile"})
class Me(MethodView):
    @blp.auth("customer")
    @blp.response(200, UserSchema)
    def get(self) -> User:
        """My profile

        Any signed-in person: names, email, handle, phone, locale, birthday and role.
        """
        me: User = current_principal().user
        return me

    @blp.auth("customer")
    @blp.arguments(ProfilePatchSchema)
    @blp.response(200, UserSchema)
    @blp.problems(EmailTaken, HandleTaken, PhoneTaken)
    def patch(self, data: dict[str, Any]) -> User:
        """Change my profile

        Any signed-in person, their own profile only. A new email, handle or phone must
        be unused; fields left out stay as they are.
        """
        return service.update_profile(current_principal().user, data)
