"""Settings, read from the environment only.

Every setting has a ``WALLET_`` environment variable. The embedded default needs none:
it keeps a SQLite file and a generated development secret under ``instance/``.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

# Seconds to connect to Redis and for each answer (rate limits take well under a millisecond):
# a Redis that does not answer holds a request up at most this long, /ready included.
REDIS_TIMEOUT = 0.5


class ConfigError(RuntimeError):
    """The environment does not describe a runnable service."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"WALLET_{name}")
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"WALLET_{name} must be an integer, got {raw!r}") from exc


def _env_positive_int(name: str, default: int) -> int:
    value = _env_int(name, default)
    if value < 1:
        raise ConfigError(f"WALLET_{name} must be at least 1, got {value}")
    return value


def _env_ints(name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    raw = _env(name)
    if raw is None:
        return default
    try:
        return tuple(int(part) for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(f"WALLET_{name} must be comma-separated integers, got {raw!r}") from exc


def _dev_secret(instance_path: Path) -> str:
    """A development secret generated once and kept, so tokens survive a restart."""
    instance_path.mkdir(parents=True, exist_ok=True)
    path = instance_path / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


@dataclass(frozen=True)
class Settings:
    """Typed settings; ``to_flask`` maps them onto the Flask config."""

    env: str
    database_url: str
    secret_key: str
    jwt_keys: dict[str, str]
    jwt_current_kid: str
    redis_url: str | None
    currency: str = "EUR"
    jwt_issuer: str = "bean-wallet"
    jwt_audience: str = "bean-wallet-api"
    access_token_ttl: int = 15 * 60
    refresh_token_ttl: int = 30 * 24 * 3600
    device_token_ttl: int = 12 * 3600
    max_balance: int = 50_000
    min_top_up: int = 500
    max_top_up: int = 25_000
    daily_transfer_limit: int = 20_000
    friend_request_cooldown_days: int = 30
    pay_code_ttl: int = 60
    max_live_pay_codes: int = 3
    gift_ttl_days: int = 90
    payment_provider: str = "sandbox"
    # Top-up amounts (cents) the sandbox provider declines, so a decline can be tried out.
    sandbox_decline_amounts: tuple[int, ...] = (1313,)
    stripe_secret_key: str | None = None
    # Where the Stripe client sends API calls; unset means Stripe's own address.
    stripe_api_base: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_webhook_tolerance: int = 300
    # How long one call to Stripe may take (connecting, then waiting for each answer) before
    # the top-up answers 503: a customer is waiting at the other end.
    stripe_timeout_seconds: int = 5
    public_base_url: str = "http://127.0.0.1:5000"
    # How many proxies (load balancers) in front of the app set X-Forwarded-For/-Proto. 0
    # trusts none: the client address is the socket's, and a forged header changes nothing.
    trusted_proxies: int = 0
    # Log lines as JSON (one object a line, for a log collector) or as text for people.
    log_format: str = "text"
    log_level: str = "INFO"
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, instance_path: Path) -> Settings:
        env = _env("ENV", "development")
        if env not in ("development", "production", "test"):
            raise ConfigError("WALLET_ENV must be development, production or test")
        secret = _env("SECRET_KEY")
        if secret is None:
            if env == "production":
                raise ConfigError("WALLET_SECRET_KEY is required in production")
            secret = _dev_secret(instance_path)
        elif env == "production" and len(secret) < 32:
            raise ConfigError("WALLET_SECRET_KEY must be at least 32 characters in production")
        jwt_keys, current_kid = _jwt_keys(secret)
        payment_provider = _env("PAYMENT_PROVIDER", "sandbox") or "sandbox"
        if payment_provider not in ("sandbox", "stripe"):
            raise ConfigError("WALLET_PAYMENT_PROVIDER must be sandbox or stripe")
        if payment_provider == "stripe" and not (
            _env("STRIPE_SECRET_KEY") and _env("STRIPE_WEBHOOK_SECRET")
        ):
            raise ConfigError(
                "WALLET_PAYMENT_PROVIDER=stripe needs WALLET_STRIPE_SECRET_KEY and "
                "WALLET_STRIPE_WEBHOOK_SECRET"
            )
        log_format = _env("LOG_FORMAT", "json" if env == "production" else "text")
        if log_format not in ("json", "text"):
            raise ConfigError("WALLET_LOG_FORMAT must be json or text")
        log_level = (_env("LOG_LEVEL", "INFO") or "INFO").upper()
        if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ConfigError("WALLET_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        database_url = _env("DATABASE_URL") or f"sqlite:///{instance_path / 'wallet.sqlite3'}"
        return cls(
            env=env,
            database_url=normalise_database_url(database_url),
            secret_key=secret,
            jwt_keys=jwt_keys,
            jwt_current_kid=current_kid,
            redis_url=_env("REDIS_URL"),
            currency=(_env("CURRENCY", "EUR") or "EUR").upper(),
            access_token_ttl=_env_int("ACCESS_TOKEN_TTL", 15 * 60),
            refresh_token_ttl=_env_int("REFRESH_TOKEN_TTL", 30 * 24 * 3600),
            device_token_ttl=_env_int("DEVICE_TOKEN_TTL", 12 * 3600),
            max_balance=_env_int("MAX_BALANCE", 50_000),
            min_top_up=_env_int("MIN_TOP_UP", 500),
            max_top_up=_env_int("MAX_TOP_UP", 25_000),
            daily_transfer_limit=_env_int("DAILY_TRANSFER_LIMIT", 20_000),
            friend_request_cooldown_days=_env_int("FRIEND_REQUEST_COOLDOWN_DAYS", 30),
            pay_code_ttl=_env_int("PAY_CODE_TTL", 60),
            max_live_pay_codes=_env_int("MAX_LIVE_PAY_CODES", 3),
            gift_ttl_days=_env_int("GIFT_TTL_DAYS", 90),
            payment_provider=payment_provider,
            sandbox_decline_amounts=_env_ints("SANDBOX_DECLINE_AMOUNTS", (1313,)),
            stripe_secret_key=_env("STRIPE_SECRET_KEY"),
            stripe_api_base=_env("STRIPE_API_BASE"),
            stripe_webhook_secret=_env("STRIPE_WEBHOOK_SECRET"),
            stripe_webhook_tolerance=_env_int("STRIPE_WEBHOOK_TOLERANCE", 300),
            stripe_timeout_seconds=_env_positive_int("STRIPE_TIMEOUT_SECONDS", 5),
            public_base_url=_env("PUBLIC_BASE_URL", "http://127.0.0.1:5000") or "",
            trusted_proxies=_env_int("TRUSTED_PROXIES", 0),
            log_format=log_format,
            log_level=log_level,
        )

    def to_flask(self) -> dict[str, Any]:
        config = {f"WALLET_{f.name.upper()}": getattr(self, f.name) for f in fields(self)}
        config.update(
            SECRET_KEY=self.secret_key,
            SQLALCHEMY_DATABASE_URI=self.database_url,
            SQLALCHEMY_ENGINE_OPTIONS=_engine_options(self.database_url),
            RATELIMIT_STORAGE_URI=self.redis_url or "memory://",
            # Redis down must not stop the tills: the limits are then counted in this
            # process's memory (Flask-Limiter warns once, asks Redis again now and then and
            # goes back to it), and a failure half-way through a request is logged, not a
            # 500. A Redis that does not answer within REDIS_TIMEOUT counts as down.
            RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
            RATELIMIT_SWALLOW_ERRORS=True,
            RATELIMIT_STORAGE_OPTIONS=(
                {"socket_connect_timeout": REDIS_TIMEOUT, "socket_timeout": REDIS_TIMEOUT}
                if self.redis_url
                else {}
            ),
            # A 429 carries Retry-After (extensions/smorest.py); other answers no limit headers.
            RATELIMIT_HEADERS_ENABLED=False,
        )
        return config


def _jwt_keys(secret: str) -> tuple[dict[str, str], str]:
    """Signing keys by key id.

    ``WALLET_JWT_KEYS`` ("kid:secret,kid:secret", newest first) allows rotation: tokens
    signed with an older key stay valid until they expire. Without it one key is derived
    from the secret key.
    """
    raw = _env("JWT_KEYS")
    if raw is None:
        import hashlib

        kid = hashlib.sha256(secret.encode()).hexdigest()[:8]
        return {kid: secret}, kid
    keys: dict[str, str] = {}
    for part in raw.split(","):
        kid, sep, value = part.strip().partition(":")
        if not sep or not kid or len(value) < 32:
            raise ConfigError("WALLET_JWT_KEYS entries are kid:secret with secrets of 32+ chars")
        keys[kid] = value
    return keys, next(iter(keys))


def normalise_database_url(url: str) -> str:
    # psycopg 3 is the driver; accept the common postgres:// spellings as well.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # Each request takes its own connection; the busy timeout and WAL are set on connect.
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    # No pre-ping: it sent a round trip (``;``) before every request's first statement, to
    # guard against a connection that died since its last use, which happens when the
    # database restarts or a connection is cut. The optimistic handling SQLAlchemy
    # documents covers that instead: the statement that meets a dead connection raises a
    # disconnect, SQLAlchemy invalidates that connection and every idle one in the pool,
    # and the app answers 503 ``database_unavailable`` (nothing of the request was kept;
    # the till retries with the same Idempotency-Key, as it does after any 503). Requests
    # after it get new connections. One retried request per worker per restart, against a
    # round trip on every request.
    return {"pool_size": 10, "max_overflow": 10}
