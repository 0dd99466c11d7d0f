"""Pay codes (online, shown as QR) and offline codes (TOTP from a per-phone secret).

Pay code text: ``"P"`` + 24 base32 characters (120 bits). Only upper-case letters and
digits, so the QR uses the compact alphanumeric mode.

Where the text comes from: the raw code must never sit in the database (a leaked table
must not let anyone pay), yet ``GET .../qr`` has to render it again. Rather than keeping
it encrypted, it is *derived*: ``HMAC-SHA256(K_pay, pay_code.id)`` truncated to 120 bits,
with ``K_pay`` derived from the server's secret key. The row id is a random UUID known
only to its owner, the code cannot be computed without the secret key, the database keeps
only ``sha256(code)`` for the scanner's look-up, and no cipher or key store is needed.
(Rotating ``WALLET_SECRET_KEY`` invalidates live pay codes, which live for 60 s anyway,
and offline keys, whose apps then register again.)

Offline codes: see :func:`offline_code` and docs/api-guide.md, "Offline pay codes".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

import pyotp
import qrcode
import qrcode.constants
from flask import current_app
from qrcode.image.pil import PilImage
from qrcode.image.svg import SvgPathImage
from qrcode.util import MODE_ALPHA_NUM, QRData
from sqlalchemy import Row, bindparam, func, select, update

from wallet_api.allowances import service as allowances
from wallet_api.auth.models import User
from wallet_api.clock import utcnow
from wallet_api.counter.errors import CodeAlreadyUsed, CodeExpired, CodeUnknown
from wallet_api.counter.registry import ScannedCode
from wallet_api.extensions import db
from wallet_api.extensions.fixed import FixedStatement
from wallet_api.extensions.problems import Conflict
from wallet_api.ledger import service as ledger
from wallet_api.ledger.errors import AccountClosed
from wallet_api.ledger.statements import Locked
from wallet_api.paycodes.errors import OfflineKeyNotFound, PayCodeNotFound
from wallet_api.paycodes.models import OfflineKey, PayCode

PAY_CODE_PREFIX = "P"
PAY_CODE_BYTES = 15  # 120 bits, 24 base32 characters

OFFLINE_CODE_PREFIX = "O"
OFFLINE_KEY_ID_BYTES = 5  # 8 base32 characters
OFFLINE_DIGITS = 8
OFFLINE_PERIOD = 30  # seconds per TOTP step (RFC 6238 "X"), counted from the Unix epoch
OFFLINE_ALGORITHM = "SHA256"
OFFLINE_WINDOW = 1  # steps accepted either side of now, for clock drift
# Steps looked back to tell an old code ("expired") from a wrong one ("unknown").
OFFLINE_LOOKBACK = 20
MAX_OFFLINE_KEYS = 10


class TooManyOfflineKeys(Conflict):
    code, title = "too_many_offline_keys", "Revoke an offline key before adding another"


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=")


def _derived_key(purpose: str) -> bytes:
    """A key per purpose, so a pay code and an offline secret never share a key."""
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"bean-wallet/{purpose}/v1".encode(), hashlib.sha256).digest()


def code_hash(text: str) -> str:
    """What the database keeps of a code: its SHA-256, enough for the scanner's look-up."""
    return hashlib.sha256(text.encode()).hexdigest()


def derive_code(prefix: str, purpose: str, message: bytes) -> str:
    """``prefix`` + 24 base32 characters (120 bits) of HMAC-SHA256(K_purpose, message).

    The scheme of pay codes, shared by every code the scanner reads from a QR (gift codes
    too): upper-case alphanumeric, never stored, derivable only with the secret key.
    """
    mac = hmac.new(_derived_key(purpose), message, hashlib.sha256).digest()
    return prefix + _b32(mac[:PAY_CODE_BYTES])


# --- pay codes ---------------------------------------------------------------------------


def pay_code_text(pay_code_id: uuid.UUID) -> str:
    return derive_code(PAY_CODE_PREFIX, "pay-code", pay_code_id.bytes)


def _check_live(code: PayCode | Row[Any], now: datetime) -> None:
    if code.used_at is not None:
        raise CodeAlreadyUsed("This code was already used; ask for a new one.")
    if code.expires_at <= now:
        raise CodeExpired("This code has expired; the app shows a fresh one.")


def pay_code_status(code: PayCode) -> str:
    if code.used_at is not None:
        return "used"
    return "expired" if code.expires_at <= utcnow() else "live"


def _lock_caps(user: User) -> Locked:
    """The wallet row of ``user``, locked: the requests adding to the user's capped pay
    codes and offline keys queue on it.

    Locking the codes or keys already there cannot stop two requests from each counting
    them and each adding one more, so the caps are counted under the wallet's lock
    (``FOR NO KEY UPDATE``, as a charge takes it; on SQLite the request holds the write
    lock already). It is the wallet row a pay code request read anyway, read locked.
    """
    return ledger.lock_wallet(user.id)


def create_pay_code(user: User, allowance_id: uuid.UUID | None = None) -> tuple[PayCode, str]:
    """A new code; beyond the configured number of live codes the oldest is retired.

    With ``allowance_id`` the code pays from that allowance (the caller's own, live, from
    a friend), so the caller's wallet does not matter.
    """
    wallet = _lock_caps(user)
    if allowance_id is not None:
        allowances.usable_allowance(user, allowance_id)
    elif wallet.is_closed:
        raise AccountClosed("This wallet is closed.")
    config = current_app.config
    now = utcnow()
    # Locked too, so that a till consuming one of them meanwhile is waited for and the code
    # is not counted as live (PostgreSQL reads the row again once the lock is granted).
    live = db.session.scalars(
        select(PayCode)
        .where(PayCode.user_id == user.id, PayCode.used_at.is_(None), PayCode.expires_at > now)
        .order_by(PayCode.created_at, PayCode.id)
        .with_for_update()
    ).all()
    surplus = len(live) - config["WALLET_MAX_LIVE_PAY_CODES"] + 1
    for old in live[: max(surplus, 0)]:
        old.expires_at = now
    code = PayCode(
        id=uuid.uuid4(),
        user_id=user.id,
        created_at=now,
        expires_at=now + timedelta(seconds=config["WALLET_PAY_CODE_TTL"]),
        allowance_id=allowance_id,
    )
    text = pay_code_text(code.id)
    code.code_hash = code_hash(text)
    db.session.add(code)
    db.session.flush()
    return code, text


def get_pay_code(user: User, pay_code_id: uuid.UUID) -> PayCode:
    code = db.session.get(PayCode, pay_code_id)
    if code is None or code.user_id != user.id:
        raise PayCodeNotFound("No such pay code.")
    return code


def live_pay_code_text(user: User, pay_code_id: uuid.UUID) -> str:
    """The text of one of the user's codes, while it can still be paid with."""
    code = get_pay_code(user, pay_code_id)
    _check_live(code, utcnow())
    return pay_code_text(code.id)


_pay_codes = PayCode.__table__
# Core, not ORM objects: a charge reads the code and marks it used, nothing else.
_LIVE_CODE_BY_HASH = FixedStatement(
    select(
        _pay_codes.c.id,
        _pay_codes.c.user_id,
        _pay_codes.c.expires_at,
        _pay_codes.c.used_at,
        _pay_codes.c.allowance_id,
    ).where(_pay_codes.c.code_hash == bindparam("code_hash"))
)
_CODE_STATE = FixedStatement(
    select(_pay_codes.c.used_at, _pay_codes.c.expires_at).where(
        _pay_codes.c.id == bindparam("code_id")
    )
)
_MARK_USED = FixedStatement(
    update(_pay_codes)
    .where(
        _pay_codes.c.id == bindparam("code_id"),
        _pay_codes.c.used_at.is_(None),
        _pay_codes.c.expires_at > bindparam("now"),
    )
    .values(used_at=bindparam("now"))
)


def resolve_pay_code(text: str) -> ScannedCode:
    code = _LIVE_CODE_BY_HASH.execute({"code_hash": code_hash(text)}).one_or_none()
    if code is None:
        raise CodeUnknown("This code is not known.")
    _check_live(code, utcnow())

    def consume() -> None:
        # A conditional update: of any number of tills racing with this code, exactly one
        # changes the row; the others wait for its row lock (PostgreSQL) or the write lock
        # (SQLite), then match nothing. If the winner rolls back, the next one wins.
        now = utcnow()
        result = _MARK_USED.execute({"code_id": code.id, "now": now})
        if result.rowcount != 1:
            _check_live(_CODE_STATE.execute({"code_id": code.id}).one(), now)
            raise CodeAlreadyUsed("This code was already used.")

    scanned = ScannedCode(
        kind="pay",
        customer_id=code.user_id,
        source="pay_code",
        source_id=code.id,
        consume=consume,
        expires_at=code.expires_at,
    )
    if code.allowance_id is not None:
        return allowances.drawing_on(scanned, code.allowance_id)
    return scanned


def render_qr(text: str, image_format: str) -> tuple[bytes, str]:
    """The QR image of ``text`` in alphanumeric mode, as PNG or SVG bytes and a mimetype."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4)
    qr.add_data(QRData(text, mode=MODE_ALPHA_NUM))  # type: ignore[call-overload]  # typeshed: MODE_ALPHA_NUM is an int, mode a Literal[1, 2, 4]
    qr.make(fit=True)
    if image_format == "svg":
        return qr.make_image(image_factory=SvgPathImage).to_string(), "image/svg+xml"
    buffer = BytesIO()
    # Pillow's image (the default with qrcode[pil]), named for its save(format=).
    qr.make_image(image_factory=PilImage).save(buffer, format="PNG")
    return buffer.getvalue(), "image/png"


# --- offline keys and codes ---------------------------------------------------------------


def offline_secret(key: OfflineKey) -> str:
    """The key's TOTP secret in base32 (RFC 4648, no padding): 256 bits, derived, not stored."""
    mac = hmac.new(_derived_key("offline-key"), key.id.bytes, hashlib.sha256).digest()
    return _b32(mac)


def _hotp(secret_b32: str) -> pyotp.HOTP:
    return pyotp.HOTP(secret_b32, digits=OFFLINE_DIGITS, digest=hashlib.sha256)


def offline_code(secret_b32: str, key_id: str, at: datetime) -> str:
    """What the app shows at time ``at``: "O" + key id + 8 TOTP digits (RFC 6238, SHA-256)."""
    counter = int(at.timestamp()) // OFFLINE_PERIOD
    return OFFLINE_CODE_PREFIX + key_id + _hotp(secret_b32).at(counter)


def create_offline_key(user: User, name: str) -> tuple[OfflineKey, str]:
    _lock_caps(user)
    active = db.session.scalar(
        select(func.count(OfflineKey.id)).where(
            OfflineKey.user_id == user.id, OfflineKey.revoked_at.is_(None)
        )
    )
    if (active or 0) >= MAX_OFFLINE_KEYS:
        raise TooManyOfflineKeys(f"At most {MAX_OFFLINE_KEYS} phones can pay offline.")
    while True:
        # 40 random bits: a clash is rare and simply drawn again.
        key_id = _b32(secrets.token_bytes(OFFLINE_KEY_ID_BYTES))
        if db.session.scalar(select(OfflineKey.id).where(OfflineKey.key_id == key_id)) is None:
            break
    key = OfflineKey(
        id=uuid.uuid4(),
        user_id=user.id,
        key_id=key_id,
        name=name,
        last_counter=0,
        created_at=utcnow(),
    )
    db.session.add(key)
    db.session.flush()
    return key, offline_secret(key)


def list_offline_keys(user: User) -> list[OfflineKey]:
    return list(
        db.session.scalars(
            select(OfflineKey)
            .where(OfflineKey.user_id == user.id, OfflineKey.revoked_at.is_(None))
            .order_by(OfflineKey.created_at)
        )
    )


def revoke_offline_key(user: User, key_id: uuid.UUID) -> None:
    key = db.session.get(OfflineKey, key_id)
    if key is None or key.user_id != user.id or key.revoked_at is not None:
        raise OfflineKeyNotFound("No such offline key.")
    key.revoked_at = utcnow()
    db.session.flush()


def _matching_counter(key: OfflineKey, digits: str, now: datetime) -> int:
    hotp = _hotp(offline_secret(key))
    current = int(now.timestamp()) // OFFLINE_PERIOD
    for counter in range(current + OFFLINE_WINDOW, current - OFFLINE_LOOKBACK - 1, -1):
        if hmac.compare_digest(hotp.at(counter), digits):
            if counter <= key.last_counter:
                raise CodeAlreadyUsed("This offline code was already used; wait for the next.")
            if counter < current - OFFLINE_WINDOW:
                raise CodeExpired("This offline code has expired; check the phone's clock.")
            return counter
    raise CodeUnknown("This code is not known.")


def resolve_offline_code(text: str) -> ScannedCode:
    key_id, digits = text[1 : 1 + 8], text[1 + 8 :]
    if len(digits) != OFFLINE_DIGITS or not digits.isdigit():
        raise CodeUnknown("This code is not known.")
    key = db.session.scalar(select(OfflineKey).where(OfflineKey.key_id == key_id))
    if key is None or key.revoked_at is not None:
        raise CodeUnknown("This code is not known.")
    counter = _matching_counter(key, digits, utcnow())

    def consume() -> None:
        # The key's row lock orders tills racing with one code; the later sees the counter.
        locked = db.session.scalars(
            select(OfflineKey)
            .where(OfflineKey.id == key.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        if locked.last_counter >= counter:
            raise CodeAlreadyUsed("This offline code was already used.")
        locked.last_counter = counter
        db.session.flush()

    expires = (counter + OFFLINE_WINDOW + 1) * OFFLINE_PERIOD
    return ScannedCode(
        kind="pay",
        customer_id=key.user_id,
        source="offline_key",
        source_id=key.id,
        consume=consume,
        expires_at=datetime.fromtimestamp(expires, UTC),
    )
