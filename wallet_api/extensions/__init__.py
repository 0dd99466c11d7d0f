"""Framework pieces, in one place: routes and services import from here."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate

from wallet_api.extensions.database import Base, Model, db, writes_on_read
from wallet_api.extensions.smorest import Api, Blueprint, Schema

api = Api()
migrate = Migrate()
# Storage comes from RATELIMIT_STORAGE_URI: memory for one process, Redis when
# WALLET_REDIS_URL is set so that all gunicorn workers share the counters.
limiter = Limiter(key_func=get_remote_address, default_limits=[])

__all__ = [
    "Api",
    "Base",
    "Blueprint",
    "Model",
    "Schema",
    "api",
    "db",
    "limiter",
    "migrate",
    "writes_on_read",
]
