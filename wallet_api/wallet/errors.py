from wallet_api.extensions.problems import ApiError, BadRequest, NotFound, Unprocessable

# The maximum balance is enforced by the ledger; its error is part of this API too.
from wallet_api.ledger.errors import BalanceLimitExceeded

__all__ = [
    "BalanceLimitExceeded",
    "PaymentProviderUnavailable",
    "TopUpNotFound",
    "TopUpTooLarge",
    "TopUpTooSmall",
    "UnknownPaymentProvider",
    "WebhookSignatureInvalid",
]


class TopUpTooSmall(Unprocessable):
    code, title = "top_up_too_small", "The top-up is below the minimum"


class TopUpTooLarge(Unprocessable):
    code, title = "top_up_too_large", "The top-up is above the maximum"


class TopUpNotFound(NotFound):
    code, title = "top_up_not_found", "No such top-up"


class UnknownPaymentProvider(NotFound):
    code, title = "unknown_payment_provider", "No such payment provider"


class WebhookSignatureInvalid(BadRequest):
    code, title = "webhook_signature_invalid", "The webhook signature is not valid"


class PaymentProviderUnavailable(ApiError):
    # The provider could not be reached or refused the call; nothing was recorded, so the
    # same request (same Idempotency-Key) can be retried.
    status, code, title = 503, "payment_provider_unavailable", "The payment provider is unavailable"
