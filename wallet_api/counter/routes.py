import uuid
from typing import Any

from flask import Response
from flask.views import MethodView

from wallet_api.catalog.errors import ItemUnavailable, SizeUnavailable
from wallet_api.counter import feedback, scanning
from wallet_api.counter import service as charges
from wallet_api.counter.errors import (
    ChargeNotFound,
    CodeAlreadyUsed,
    CodeExpired,
    CodeNotChargeable,
    CodeUnknown,
    FeedbackAlreadyGiven,
    FeedbackNotDrinker,
    RefundExceedsCharge,
)
from wallet_api.counter.feedback import FeedbackResult
from wallet_api.counter.models import Charge, Refund
from wallet_api.counter.registry import registered_kinds
from wallet_api.counter.schemas import (
    ChargeCreatedSchema,
    ChargeCreateSchema,
    ChargeSchema,
    FeedbackCreateSchema,
    FeedbackSchema,
    RefundCreateSchema,
    RefundSchema,
    ScanPreviewSchema,
    ScanSchema,
)
from wallet_api.counter.service import ChargeResult
from wallet_api.extensions import Blueprint, limiter
from wallet_api.extensions.auth import current_principal, principal_key
from wallet_api.extensions.problems import ApiError, GrantToSelf, RateLimited
from wallet_api.ledger.errors import AccountClosed, BalanceLimitExceeded
from wallet_api.stores.errors import (
    NotStoreStaff,
    StoreClosed,
    StoreNotFound,
    StoreRequired,
)

# Documented with the stores, as the API always was: clients find the till's operations
# there (a generated client's ``api/stores/create_charge.py``).
blp = Blueprint(
    "counter",
    __name__,
    url_prefix="/v1",
    description="The till: scans, charges, refunds and feedback",
)

# Failed code look-ups per scanner (or staff member): guessing codes is hopeless at this
# rate, while a till that misreads a QR now and then never notices the limit.
CODE_FAILURE_LIMIT = "10 per minute;60 per hour"


def _code_failure(response: Response) -> bool:
    if response.status_code not in (404, 409, 410):
        return False
    body = response.get_json(silent=True) or {}
    return str(body.get("code", "")).startswith("code_")


# Why a till may not work at a store now (services.counter_store).
COUNTER_PROBLEMS = (StoreNotFound, StoreRequired, NotStoreStaff, StoreClosed)
# Why a scanned code cannot be used, whatever kind it is; each kind adds its own
# (``CodeKind.problems``, documented once the kinds have registered: see below).
CODE_PROBLEMS = (CodeUnknown, CodeExpired, CodeAlreadyUsed, AccountClosed, RateLimited)
# Why a charge can fail whatever the kind: pricing the items, and kinds without a handler.
CHARGE_PROBLEMS = (CodeNotChargeable, ItemUnavailable, SizeUnavailable)


# One budget shared by scans and charges: both look codes up.
code_failures = limiter.shared_limit(
    CODE_FAILURE_LIMIT,
    scope="code-failures",
    key_func=principal_key,
    deduct_when=_code_failure,
    methods=["POST"],
)


@blp.route("/scans", operations={"post": "scan_code"})
class Scans(MethodView):
    decorators = [code_failures]

    @blp.auth("device", "staff")
    @blp.arguments(ScanSchema)
    @blp.response(200, ScanPreviewSchema)
    @blp.problems(*COUNTER_PROBLEMS, *CODE_PROBLEMS)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Preview a scanned code: who it is, the usual, whether the balance covers it

        A store's scanner, or its staff working at it. Nothing is charged or used up.
        Failed code look-ups count against a limit per scanner or staff member.
        """
        return scanning.scan(
            current_principal(), data["code"], store_id=data["store_id"], amount=data["amount"]
        )


@blp.route("/charges", operations={"post": "create_charge"})
class Charges(MethodView):
    decorators = [code_failures]

    @blp.auth("device", "staff")
    @blp.idempotent
    @blp.arguments(ChargeCreateSchema)
    @blp.response(201, ChargeCreatedSchema)
    @blp.problems(*COUNTER_PROBLEMS, *CODE_PROBLEMS, *CHARGE_PROBLEMS)
    def post(self, data: dict[str, Any]) -> ChargeResult:
        """Charge a scanned code for items priced on the server, or a till amount

        A store's scanner, or its staff working at it. Pay codes are paid from the wallet
        (or a friend's allowance), gift and reward codes redeem their drink. The code is
        used up with the charge; offers apply and points are earned. Failed code look-ups
        count against a limit per scanner or staff member.
        """
        return charges.create_charge(current_principal(), data)


@blp.route("/charges/<uuid:charge_id>", operations={"get": "get_charge"})
class ChargeById(MethodView):
    @blp.auth("customer", "device")
    @blp.response(200, ChargeSchema)
    @blp.problems(ChargeNotFound)
    def get(self, charge_id: uuid.UUID) -> Charge:
        """A charge: for the customer who paid and the store that charged

        The customer who paid and the store's scanners; anyone else gets 404.
        """
        return charges.get_charge(current_principal(), charge_id)


@blp.route("/charges/<uuid:charge_id>/refunds", operations={"post": "refund_charge"})
class ChargeRefunds(MethodView):
    @blp.auth("device", "staff")
    @blp.idempotent
    @blp.arguments(RefundCreateSchema)
    @blp.response(201, RefundSchema)
    @blp.problems(
        ChargeNotFound, GrantToSelf, RefundExceedsCharge, BalanceLimitExceeded, AccountClosed
    )
    def post(self, data: dict[str, Any], charge_id: uuid.UUID) -> Refund:
        """Refund all or part of a charge to the wallet that paid (the store, or an admin)

        The store's scanners and staff, and admins; never staff refunding themselves.
        Refunds together never exceed the charge; the points it earned are taken back in
        proportion. Recorded in the audit log.
        """
        return charges.refund_charge(current_principal(), charge_id, **data)


@blp.route("/charges/<uuid:charge_id>/feedback", operations={"post": "give_feedback"})
class ChargeFeedback(MethodView):
    @blp.auth("customer")
    @blp.idempotent  # a low rating credits money: a retry replays, it never credits again
    @blp.arguments(FeedbackCreateSchema)
    @blp.response(201, FeedbackSchema)
    @blp.problems(ChargeNotFound, FeedbackNotDrinker, FeedbackAlreadyGiven, BalanceLimitExceeded)
    def post(self, data: dict[str, Any], charge_id: uuid.UUID) -> FeedbackResult:
        """Rate a visit I had, once; 1-2 stars bring an apology (credit if I paid for it)

        The person who had the drink only (the payer of a gift or allowance is not). The
        store reads the rating in its daily report.
        """
        return feedback.give_feedback(current_principal(), charge_id, **data)


def _kinds_problems() -> list[type[ApiError]]:
    return [problem for kind in registered_kinds() for problem in kind.problems]


def _kinds_charge_problems() -> list[type[ApiError]]:
    return [*_kinds_problems(), *(p for kind in registered_kinds() for p in kind.charge_problems)]


# The kinds of code register in their packages' ``register(api)``, before the counter's.
blp.problems_when_registered("scan_code", _kinds_problems)
blp.problems_when_registered("create_charge", _kinds_charge_problems)
