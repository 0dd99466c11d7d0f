"""Gifts of a drink or of credit. No Flask request in here; nothing commits.

Money: the price (or the amount) leaves the giver's wallet into the ``gift_escrow``
account when the gift is given (ledger kind ``gift``). It leaves escrow exactly once:
to a store's sales when a drink is redeemed (``gift_redemption``), to the recipient's
wallet when credit is accepted or claimed (``gift_credit``), or back to the giver when the
gift is declined or expires (``gift_refund``). Each of these is a conditional update of
the gift's status (``WHERE status = 'pending' AND expires_at > now``, or ``<= now`` for the
expiry job) in the same database transaction as its ledger posting: of any number of
tills, taps and job runs racing for one gift, one changes the row and the others find it
settled.

Addressing: a friend by ``user_id`` or ``handle`` (must be a friend), or anyone by
``email`` or ``phone``. Those get a claim link ``{WALLET_PUBLIC_BASE_URL}/g/{token}``
(192 random bits, stored as SHA-256), shown once to the giver to share. When an account
already has that email or phone, the gift is also delivered to its inbox at once (in its
received box, with a notification), exactly as a friend's gift. The giver cannot tell:
the answer, the gift as the giver sees it (``to`` shows the address as typed, never a
person) and every later notification to the giver name the address, not an account. An
account's existence becomes visible to the giver only through the recipient's own acts
(accepting credit, declining, saying thanks), as with any gift.

Codes: a gift's redemption code is ``"G"`` + 24 base32 characters (120 bits), derived
like a pay code from the gift's id and a generation number (see
``paycodes.service.derive_code``); only its SHA-256 is stored. Claiming a link gift moves
it to the next generation, so the code on the link's page stops working (the till is told
``gift_claimed``) and only the claimant's app shows the new one.

Expiry: ``WALLET_GIFT_TTL_DAYS`` (90) after it is given. A pending gift past its expiry
cannot be redeemed, accepted, declined or claimed (410 ``gift_expired``) even before
``wallet-api gifts expire`` has refunded it.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import ColumnElement, CursorResult, ScalarSelect, func, select, update

from wallet_api.auth.models import User
from wallet_api.catalog.service import PricedLine, price_lines
from wallet_api.clock import utcnow
from wallet_api.counter.errors import CodeUnknown
from wallet_api.counter.registry import ScannedCode
from wallet_api.counter.service import ChargeResult, Posted, Receipt, Sale, sale_meta, sell
from wallet_api.extensions import db
from wallet_api.extensions.auth import Principal
from wallet_api.extensions.database import locked
from wallet_api.extensions.fixed import as_persistent
from wallet_api.extensions.money import format_money
from wallet_api.extensions.pagination import keyset_page
from wallet_api.extensions.problems import ApiError, Conflict, ValidationFailed
from wallet_api.gifts.errors import (
    GiftAccepted,
    GiftAlreadyClaimed,
    GiftAlreadyThanked,
    GiftClaimedAway,
    GiftClaimNotFound,
    GiftClaimOwn,
    GiftDeclined,
    GiftExpired,
    GiftIsADrink,
    GiftIsCredit,
    GiftNotFound,
    GiftRedeemed,
    GiftToSelf,
)
from wallet_api.gifts.models import AddressKind, Gift, GiftKind, GiftStatus
from wallet_api.ledger import service as ledger
from wallet_api.ledger.models import AccountKind
from wallet_api.ledger.service import HistoryEntry
from wallet_api.paycodes.service import code_hash, derive_code
from wallet_api.social import service as social
from wallet_api.social.models import NotificationKind
from wallet_api.stores.models import Store
from wallet_api.transfers import service as transfers
from wallet_api.wallet import counterparties

GIFT_CODE_PREFIX = "G"
GIFT_KIND = "gift"  # the kind of code at the till, and of its charges
CLAIM_TOKEN_BYTES = 24  # 192 bits, 32 URL-safe characters
MAX_TOKEN_LENGTH = 64


def _ttl() -> timedelta:
    return timedelta(days=current_app.config["WALLET_GIFT_TTL_DAYS"])


def gift_code(gift: Gift) -> str:
    """The text of the gift's QR code (current generation)."""
    message = gift.id.bytes + gift.code_generation.to_bytes(4, "big")
    return derive_code(GIFT_CODE_PREFIX, "gift-code", message)


def claim_url(token: str) -> str:
    return f"{current_app.config['WALLET_PUBLIC_BASE_URL'].rstrip('/')}/g/{token}"


def _escrow() -> Any:
    return ledger.system_account(AccountKind.GIFT_ESCROW)


# --- how a gift is described --------------------------------------------------------------


def effective_status(gift: Gift, now: datetime | None = None) -> GiftStatus:
    """``expired`` as soon as the time is up, even before the expiry job refunded it."""
    if gift.status is GiftStatus.PENDING and gift.expires_at <= (now or utcnow()):
        return GiftStatus.EXPIRED
    return gift.status


def drink_name(gift: Gift) -> str:
    return gift.item["name"] if gift.item else ""


def recipient_label(gift: Gift) -> str:
    """How the giver is told about the recipient: a friend by first name, else the address."""
    if gift.address_kind is AddressKind.USER and gift.recipient is not None:
        return gift.recipient.first_name
    return gift.address or ""


def _what(gift: Gift) -> str:
    if gift.kind is GiftKind.ITEM:
        return f"a {drink_name(gift)}"
    return format_money(gift.amount, gift.currency)


def _to(gift: Gift) -> dict[str, Any]:
    if gift.address_kind is AddressKind.USER and gift.recipient is not None:
        return {"user": social.summary(gift.recipient)}
    return {gift.address_kind.value: gift.address}


def view(gift: Gift, viewer_id: uuid.UUID) -> dict[str, Any]:
    """The gift as the giver or the recipient sees it."""
    item = None
    if gift.item is not None:
        item = {k: gift.item[k] for k in ("kind", "item_id", "name", "size", "snapshot")}
    # The price of a present is not shown to its recipient; credit is its own amount.
    shows_amount = gift.kind is GiftKind.AMOUNT or viewer_id == gift.giver_id
    return {
        "id": gift.id,
        "from": {**social.summary(gift.giver), "first_name": gift.giver.first_name},
        "to": _to(gift),
        "kind": gift.kind,
        "item": item,
        "amount": gift.amount if shows_amount else None,
        "currency": gift.currency,
        "message": gift.message,
        "status": effective_status(gift),
        "created_at": gift.created_at,
        "expires_at": gift.expires_at,
        "settled_at": gift.settled_at,
        "thanked": gift.thanked_at is not None,
    }


@counterparties.describes("gift", "gift_refund", "gift_credit")
def _other_side(entries: Sequence[HistoryEntry]) -> dict[int, counterparties.Counterparty]:
    """Wallet history: the giver's rows (given, back from a decline or expiry) show the
    recipient as ``to`` does, a friend or the address masked (never who holds it); the
    recipient's row (credit accepted or claimed) shows the giver. One statement a page."""
    about = [(entry, counterparties.meta_id(entry, "gift_id")) for entry in entries]
    wanted = {gift_id for _, gift_id in about if gift_id is not None}
    if not wanted:
        return {}
    gifts = {
        row.id: row
        for row in db.session.execute(
            select(
                Gift.id, Gift.giver_id, Gift.recipient_id, Gift.address_kind, Gift.address
            ).where(Gift.id.in_(wanted))
        )
    }
    found: dict[int, counterparties.Counterparty] = {}
    for entry, gift_id in about:
        gift = gifts.get(gift_id) if gift_id is not None else None
        if gift is None:
            continue
        if entry.kind == "gift_credit":
            found[entry.entry_id] = counterparties.Person(gift.giver_id)
        elif gift.address_kind is AddressKind.USER and gift.recipient_id is not None:
            found[entry.entry_id] = counterparties.Person(gift.recipient_id)
        elif gift.address_kind is not AddressKind.USER and gift.address:
            found[entry.entry_id] = counterparties.Address.of(gift.address_kind.value, gift.address)
    return found


# --- giving --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Address:
    kind: AddressKind
    value: str | None
    recipient: User | None


def _address(
    giver: User,
    *,
    user_id: uuid.UUID | None,
    handle: str | None,
    email: str | None,
    phone: str | None,
) -> _Address:
    if user_id is not None or handle is not None:
        ref = str(user_id) if user_id is not None else str(handle)
        named = social.resolve_user_ref(ref)
        if named is not None and named.id == giver.id:
            raise GiftToSelf("You cannot give yourself a gift.")
        return _Address(AddressKind.USER, None, social.friend_by_ref(giver.id, ref))
    kind, value = (AddressKind.EMAIL, email) if email is not None else (AddressKind.PHONE, phone)
    if value is None:  # pragma: no cover - the schema requires one address
        raise ValueError("a gift needs an address")
    if value in (giver.email, giver.phone):
        raise GiftToSelf("You cannot give yourself a gift.")
    column = User.email if kind is AddressKind.EMAIL else User.phone
    holder = db.session.scalar(select(User).where(column == value))
    if holder is not None and not holder.is_active:
        holder = None
    return _Address(kind, value, holder)


@transfers.counts_against_daily_limit
def _gifted_credit_within_window(
    giver_id: ColumnElement[uuid.UUID], since: ColumnElement[datetime]
) -> ScalarSelect[int]:
    # Every gift of credit given in the window counts, whatever became of it since.
    return (
        select(func.coalesce(func.sum(Gift.amount), 0))
        .where(Gift.giver_id == giver_id, Gift.kind == GiftKind.AMOUNT, Gift.created_at > since)
        .scalar_subquery()
    )


def give(
    giver: User,
    *,
    user_id: uuid.UUID | None = None,
    handle: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    item: Mapping[str, Any] | None = None,
    amount: int | None = None,
    message: str = "",
) -> dict[str, Any]:
    """Give a drink or credit; the money goes into escrow now. Returns the giver's view,
    with ``claim_url`` (shown this once) for a gift by email or phone."""
    address = _address(giver, user_id=user_id, handle=handle, email=email, phone=phone)
    wallet = ledger.wallet_account(giver.id)
    now = utcnow()
    priced: PricedLine | None = None
    if item is not None:
        priced = price_lines([{**item, "quantity": 1}], viewer_id=giver.id)[0]
        value = priced.total
    else:
        if amount is None:  # pragma: no cover - the schema requires item or amount
            raise ValueError("a gift needs an item or an amount")
        value = amount
        # Credit by link reaches anyone: it counts against the daily transfer limit, checked
        # under the giver's wallet lock so two gifts at once cannot both pass it.
        ledger.lock_customer_accounts([wallet.id])
        transfers.check_daily_limit(giver.id, value, now, wallet.unit)

    gift = Gift(
        id=uuid.uuid4(),
        giver=giver,
        recipient=address.recipient,
        address_kind=address.kind,
        address=address.value,
        kind=GiftKind.ITEM if priced else GiftKind.AMOUNT,
        item=priced.receipt() if priced else None,
        amount=value,
        currency=wallet.unit,
        message=message,
        status=GiftStatus.PENDING,
        code_generation=0,
        created_at=now,
        expires_at=now + _ttl(),
    )
    gift.code_hash = code_hash(gift_code(gift))
    token = None
    if address.kind is not AddressKind.USER:
        token = secrets.token_urlsafe(CLAIM_TOKEN_BYTES)
        gift.claim_token_hash = code_hash(token)

    label = recipient_label(gift)
    to = {"name": label}
    if address.kind is AddressKind.USER and address.recipient is not None:
        to["id"] = str(address.recipient.id)
    posted = ledger.transfer(
        "gift",
        wallet,
        _escrow(),
        value,
        memo=f"Gift to {label}",
        meta={
            "gift_id": str(gift.id),
            "to": to,
            "items": [priced.receipt()] if priced else [],
            "message": message,
        },
    )
    gift.funding_transaction_id = posted.public_id
    db.session.add(gift)
    db.session.flush()

    if gift.recipient_id is not None:
        social.notify(
            gift.recipient_id,
            NotificationKind.GIFT_RECEIVED,
            title=f"{giver.first_name} sent you {_what(gift)}",
            body=message,
            data={"gift_id": gift.id, "kind": gift.kind.value, "from": social.summary(giver)},
        )
    answer = view(gift, giver.id)
    if token is not None:
        answer["claim_url"] = claim_url(token)
    return answer


def _is_friend_gift(gift: Gift) -> bool:
    return gift.address_kind is AddressKind.USER


# --- reading -----------------------------------------------------------------------------


def list_gifts(user: User, box: str, *, limit: int, cursor: str | None) -> dict[str, Any]:
    """Gifts I received (``received``) or gave (``sent``), newest first."""
    where: ColumnElement[bool] = (
        Gift.recipient_id == user.id if box == "received" else Gift.giver_id == user.id
    )
    page = keyset_page(
        select(Gift).where(where), [Gift.created_at, Gift.id], limit=limit, cursor=cursor
    )
    page["items"] = [view(g, user.id) for g in page["items"]]
    return page


def get_gift(user: User, gift_id: uuid.UUID) -> dict[str, Any]:
    """For its giver and its recipient; anyone else gets 404."""
    gift = db.session.get(Gift, gift_id)
    if gift is None or user.id not in (gift.giver_id, gift.recipient_id):
        raise GiftNotFound("No such gift.")
    return view(gift, user.id)


def _received(user: User, gift_id: uuid.UUID, *, lock: bool = False) -> Gift:
    stmt = select(Gift).where(Gift.id == gift_id, Gift.recipient_id == user.id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    gift = db.session.scalar(stmt)
    if gift is None:
        raise GiftNotFound("No such gift.")
    return gift


# --- settling: once ---------------------------------------------------------------------------


def _state_error(gift: Gift, now: datetime) -> ApiError:
    status = effective_status(gift, now)
    if status is GiftStatus.REDEEMED:
        return GiftRedeemed("This gift was already redeemed.")
    if status is GiftStatus.ACCEPTED:
        return GiftAccepted("This gift of credit is already in the wallet.")
    if status is GiftStatus.DECLINED:
        return GiftDeclined("This gift was declined; the giver has the money back.")
    if status is GiftStatus.EXPIRED:
        return GiftExpired("This gift has expired; it goes back to the giver.")
    return Conflict("This gift changed meanwhile; try again.")


def _check_pending(gift: Gift, now: datetime) -> None:
    if effective_status(gift, now) is not GiftStatus.PENDING:
        raise _state_error(gift, now)


_gifts = Gift.__table__


def _settle(
    gift: Gift, status: GiftStatus, now: datetime, *, scanned_hash: str | None = None
) -> None:
    """Move a pending, unexpired gift to ``status``, or raise why it cannot be.

    ``scanned_hash``: at the till, the code must still be the gift's current one, so a
    page's code scanned while its link is being claimed loses to the claim.
    """
    conditions = [Gift.id == gift.id, Gift.status == GiftStatus.PENDING, Gift.expires_at > now]
    if scanned_hash is not None:
        conditions.append(Gift.code_hash == scanned_hash)
    # The gift as it is now comes back with the update (RETURNING, its row set on the object
    # in place): a refresh after it cost a SELECT of the gift and, as that loads the giver
    # and the recipient with it (selectin), of both people again. Only when nothing matched
    # is it read again, to say why.
    db.session.flush()  # what the session holds of the gift is written before, as before
    settled = db.session.execute(
        update(_gifts).where(*conditions).values(status=status, settled_at=now).returning(*_gifts.c)
    ).one_or_none()
    if settled is None:
        db.session.refresh(gift)
        if scanned_hash is not None and gift.code_hash != scanned_hash:
            raise GiftClaimedAway("This gift was claimed into the Bean Wallet app just now.")
        raise _state_error(gift, now)
    as_persistent(Gift, settled)


def _release(
    gift: Gift,
    kind: str,
    to_user_id: uuid.UUID,
    memo: str,
    meta: dict[str, Any],
    max_balance: int | None = None,
) -> None:
    """Move the gift's money out of escrow into a wallet (the giver's or the recipient's)."""
    posted = ledger.transfer(
        kind,
        _escrow(),
        ledger.wallet_account(to_user_id),
        gift.amount,
        memo=memo,
        meta={"gift_id": str(gift.id), **meta},
        max_balance=max_balance,
    )
    gift.settlement_transaction_id = posted.public_id


def _refund(gift: Gift, reason: str) -> None:
    """Escrow back to the giver. Refunds restore money the giver had: no balance cap."""
    label = recipient_label(gift)
    _release(
        gift,
        "gift_refund",
        gift.giver_id,
        f"Gift to {label} {reason}",
        meta={"reason": reason, "to": {"name": label}, "items": [gift.item] if gift.item else []},
    )
    money = format_money(gift.amount, gift.currency)
    social.notify(
        gift.giver_id,
        NotificationKind.GIFT_RETURNED,
        title=f"your gift to {label} {reason}: {money} is back in your wallet",
        data={"gift_id": gift.id, "reason": reason, "amount": gift.amount},
    )


def decline(user: User, gift_id: uuid.UUID) -> dict[str, Any]:
    """The recipient declines; the giver gets the money back (once)."""
    gift = _received(user, gift_id)
    _settle(gift, GiftStatus.DECLINED, utcnow())
    _refund(gift, "was declined")
    db.session.flush()
    return view(gift, user.id)


def _credit(gift: Gift, recipient: User) -> None:
    giver = gift.giver
    _release(
        gift,
        "gift_credit",
        recipient.id,
        f"Gift from {giver.first_name}",
        meta={
            "from": {"id": str(giver.id), "name": giver.display_name},
            "message": gift.message,
        },
        max_balance=current_app.config["WALLET_MAX_BALANCE"],
    )


def accept(user: User, gift_id: uuid.UUID) -> dict[str, Any]:
    """The recipient takes a gift of credit into their wallet (once)."""
    gift = _received(user, gift_id)
    if gift.kind is GiftKind.ITEM:
        raise GiftIsADrink("A drink is redeemed at a store: show its QR code at the till.")
    _settle(gift, GiftStatus.ACCEPTED, utcnow())
    _credit(gift, user)
    db.session.flush()
    return view(gift, user.id)


def thank(user: User, gift_id: uuid.UUID, message: str) -> dict[str, Any]:
    """A thank-you from the recipient to the giver's inbox, once per gift."""
    gift = _received(user, gift_id)
    now = utcnow()
    # An UPDATE's result is a CursorResult; Session.execute is typed for any statement's.
    result = cast(
        CursorResult[Any],
        db.session.execute(
            update(Gift)
            .where(Gift.id == gift.id, Gift.thanked_at.is_(None))
            .values(thanked_at=now)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        raise GiftAlreadyThanked("You already said thanks for this gift.")
    db.session.refresh(gift)
    what = drink_name(gift) or "gift"
    social.notify(
        gift.giver_id,
        NotificationKind.GIFT_THANKS,
        title=f"{user.first_name} says thanks for the {what}",
        body=message,
        data={"gift_id": gift.id, "from": social.summary(user)},
    )
    return view(gift, user.id)


def redeemable_code(user: User, gift_id: uuid.UUID) -> str:
    """The code (for the QR) of a drink its recipient can still redeem."""
    gift = _received(user, gift_id)
    if gift.kind is GiftKind.AMOUNT:
        raise GiftIsCredit("A gift of credit is accepted into your wallet, not redeemed.")
    _check_pending(gift, utcnow())
    return gift_code(gift)


# --- claim links -----------------------------------------------------------------------------


def gift_by_token(token: str) -> Gift | None:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return db.session.scalar(select(Gift).where(Gift.claim_token_hash == code_hash(token)))


def claim(user: User, token: str) -> dict[str, Any]:
    """A signed-in user makes a link gift theirs: credit lands in their wallet, a drink
    becomes a voucher in their received gifts with a new code (the page's code dies)."""
    found = gift_by_token(token)
    if found is None:
        raise GiftClaimNotFound("This gift link is not known.")
    # The row lock orders two people claiming one link at once; the later sees the claim.
    gift = locked(Gift, found.id)
    if gift is None:  # pragma: no cover - gifts are never deleted
        raise GiftClaimNotFound("This gift link is not known.")
    # Before anything that depends on the recipient, so a giver learns nothing by trying.
    if gift.giver_id == user.id:
        raise GiftClaimOwn("You cannot claim a gift you gave.")
    if gift.claimed_at is not None or gift.recipient_id not in (None, user.id):
        raise GiftAlreadyClaimed("This gift was already claimed.")
    now = utcnow()
    _check_pending(gift, now)
    retired = gift.code_hash
    gift.recipient_id = user.id
    gift.claimed_at = now
    gift.code_generation += 1
    gift.code_hash = code_hash(gift_code(gift))
    gift.retired_code_hash = retired
    db.session.flush()
    if gift.kind is GiftKind.AMOUNT:
        _settle(gift, GiftStatus.ACCEPTED, now)
        _credit(gift, user)
        db.session.flush()
    return view(gift, user.id)


def page_state(gift: Gift) -> str:
    """What the link's page shows: ``redeem`` (the QR), ``claim`` (credit: use the app),
    or why neither: ``claimed``, ``redeemed``, ``accepted``, ``declined``, ``expired``."""
    status = effective_status(gift)
    if status is not GiftStatus.PENDING:
        return status.value
    if gift.claimed_at is not None:
        return "claimed"
    return "redeem" if gift.kind is GiftKind.ITEM else "claim"


# --- at the till ---------------------------------------------------------------------------


def _preview(gift: Gift) -> dict[str, Any]:
    item = gift.item or {}
    return {
        "gift_id": str(gift.id),
        "item": {k: item.get(k) for k in ("kind", "item_id", "name", "size", "snapshot")},
        "from": {"first_name": gift.giver.first_name},
        "message": gift.message,
    }


def resolve_gift_code(text: str) -> ScannedCode:
    """The code-kind resolver for ``G`` codes: what the till may know of the gift."""
    hashed = code_hash(text)
    gift = db.session.scalar(select(Gift).where(Gift.code_hash == hashed))
    if gift is None:
        if db.session.scalar(select(Gift.id).where(Gift.retired_code_hash == hashed)):
            raise GiftClaimedAway(
                "This gift was claimed into the Bean Wallet app; scan the code shown there."
            )
        raise CodeUnknown("This code is not known.")
    if gift.kind is GiftKind.AMOUNT:  # pragma: no cover - credit has no QR to scan
        raise GiftIsCredit("A gift of credit is accepted into a wallet, not redeemed.")
    _check_pending(gift, utcnow())

    def consume() -> None:
        _settle(gift, GiftStatus.REDEEMED, utcnow(), scanned_hash=hashed)

    return ScannedCode(
        kind=GIFT_KIND,
        customer_id=gift.recipient_id,
        source="gift",
        source_id=gift.id,
        consume=consume,
        expires_at=gift.expires_at,
        details=_preview(gift),
    )


def _line(item: Mapping[str, Any]) -> PricedLine:
    return PricedLine(
        kind=item["kind"],
        item_id=uuid.UUID(item["item_id"]),
        name=item["name"],
        size=item["size"],
        quantity=1,
        unit_price=item["unit_price"],
        snapshot=item.get("snapshot") or {},
    )


def redeem_at_counter(
    principal: Principal, store: Store, scanned: ScannedCode, data: Mapping[str, Any]
) -> ChargeResult:
    """The charge handler of kind ``gift``: the drink as given, paid from escrow, once."""
    if data.get("items") or data.get("amount") is not None:
        raise ValidationFailed(
            errors={"items": ["A gift is made as it was given: send the code alone."]}
        )
    gift = db.session.get(Gift, scanned.source_id)
    if gift is None or gift.item is None:  # pragma: no cover - the resolver found it
        raise CodeUnknown("This code is not known.")
    line = _line(gift.item)
    label = recipient_label(gift)

    def post(charge_id: uuid.UUID) -> Posted:
        return Posted(
            ledger.transfer(
                "gift_redemption",
                _escrow(),
                ledger.system_account(AccountKind.STORE_SALES, store.id),
                gift.amount,
                memo=f"Gift from {gift.giver.first_name} to {label}",
                meta=sale_meta(
                    store,
                    charge_id,
                    [line],
                    gift={
                        "id": str(gift.id),
                        "from": {"id": str(gift.giver_id), "name": gift.giver.display_name},
                        "to": {"name": label},
                    },
                ),
            )
        )

    def then(charge: Receipt) -> None:
        gift.charge_id = charge.id
        gift.settlement_transaction_id = charge.ledger_transaction_id
        if _is_friend_gift(gift):
            title = f"{label} enjoyed the {line.name} you sent"
        else:
            title = f"the {line.name} you sent to {label} was enjoyed at {store.name}"
        social.notify(
            gift.giver_id,
            NotificationKind.GIFT_REDEEMED,
            title=title,
            data={"gift_id": gift.id, "charge_id": charge.id, "store": {"id": store.id}},
        )
        db.session.flush()

    # The giver's money paid for it, so a refund of this charge goes to the giver.
    sale = Sale(
        payer_id=gift.giver_id,
        drinker_first_name=gift.recipient.first_name if gift.recipient else None,
        lines=[line],
        amount=gift.amount,
        currency=gift.currency,
    )
    return sell(principal, store, scanned, sale, post=post, then=then)


# --- expiry -----------------------------------------------------------------------------------


def expired_gift_ids(now: datetime) -> list[uuid.UUID]:
    return list(
        db.session.scalars(
            select(Gift.id)
            .where(Gift.status == GiftStatus.PENDING, Gift.expires_at <= now)
            .order_by(Gift.expires_at, Gift.id)
        )
    )


def expire_gift(gift_id: uuid.UUID, now: datetime) -> Gift | None:
    """Refund one expired gift to its giver; None when it was settled meanwhile (by
    another run of the job, or a redemption a moment before the expiry)."""
    # An UPDATE's result is a CursorResult; Session.execute is typed for any statement's.
    result = cast(
        CursorResult[Any],
        db.session.execute(
            update(Gift)
            .where(Gift.id == gift_id, Gift.status == GiftStatus.PENDING, Gift.expires_at <= now)
            .values(status=GiftStatus.EXPIRED, settled_at=now)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        return None
    gift = db.session.scalars(
        select(Gift).where(Gift.id == gift_id).execution_options(populate_existing=True)
    ).one()
    _refund(gift, "expired unused")
    db.session.flush()
    return gift
