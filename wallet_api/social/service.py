"""Friends and the notifications inbox. No Flask request in here; nothing commits.

Other domains import ``are_friends``, ``friend_ids``, ``require_friend``,
``friend_by_ref`` and ``notify`` from here.

Privacy rules for friend requests:

* By **handle** (public): an unknown handle is 404 ``user_not_found``; every refusal says
  why (``already_friends``, ``friend_request_pending``), because it tells nothing the
  requester cannot already see in their friends list and request boxes.
* By **email or phone** (private): every answer is the same 201, whether or not an
  account exists. A request that cannot be delivered (no such account; already friends;
  already asked by another route) is kept where only the requester sees it.
* A **decline is quiet**: the requester keeps seeing the request as pending until the
  cool-down (``WALLET_FRIEND_REQUEST_COOLDOWN_DAYS``, 30) ends, and asking again meanwhile
  answers ``friend_request_pending``. Nobody is told they were declined, and nobody can
  be asked again and again.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    cast,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from wallet_api.auth import service as auth
from wallet_api.auth.errors import UserNotFound
from wallet_api.auth.models import User
from wallet_api.clock import utcnow
from wallet_api.extensions import db
from wallet_api.extensions.fixed import FixedStatement
from wallet_api.extensions.pagination import keyset_page
from wallet_api.extensions.problems import ApiError
from wallet_api.social.errors import (
    AlreadyFriends,
    FriendNotFound,
    FriendRequestAnswered,
    FriendRequestNotFound,
    FriendRequestPending,
    FriendRequestSelf,
    NotAFriend,
    NotificationNotFound,
)
from wallet_api.social.models import (
    ContactKind,
    FriendRequest,
    Friendship,
    Notification,
    NotificationKind,
    RequestStatus,
    ordered_pair,
)

# --- people ----------------------------------------------------------------------------


def _active(user: User | None) -> User | None:
    return user if user is not None and user.is_active else None


def user_by_handle(handle: str) -> User:
    """The active user with this handle (with or without '@'); handles are public."""
    user = _active(auth.find_user_by_handle(handle))
    if user is None:
        raise UserNotFound(f"Nobody has the handle @{handle.strip().lstrip('@')}.")
    return user


def resolve_user_ref(ref: str) -> User | None:
    """A user id or a handle (with or without '@') -> the active user.

    An unknown handle raises ``UserNotFound``; an id nobody has gives None, which callers
    answer exactly like a stranger's id so ids reveal nothing.
    """
    try:
        user_id = uuid.UUID(ref)
    except ValueError:
        return user_by_handle(ref)
    return _active(db.session.get(User, user_id))


def summary(user: User) -> dict[str, Any]:
    """How another person is shown: what anyone who knows their handle may see."""
    return {"id": user.id, "handle": user.handle, "display_name": user.display_name}


# --- friendships -----------------------------------------------------------------------


def _friendship(a: uuid.UUID, b: uuid.UUID) -> ColumnElement[bool]:
    low, high = ordered_pair(a, b)
    return and_(Friendship.user_low_id == low, Friendship.user_high_id == high)


def _involves(user_id: uuid.UUID) -> ColumnElement[bool]:
    return or_(Friendship.user_low_id == user_id, Friendship.user_high_id == user_id)


def are_friends(a: uuid.UUID, b: uuid.UUID) -> bool:
    if a == b:
        return False
    return bool(db.session.scalar(select(exists().where(_friendship(a, b)))))


def friend_ids(user_id: uuid.UUID) -> set[uuid.UUID]:
    rows = db.session.execute(
        select(Friendship.user_low_id, Friendship.user_high_id).where(_involves(user_id))
    )
    return {high if low == user_id else low for low, high in rows}


def require_friend(user_id: uuid.UUID, other_id: uuid.UUID) -> None:
    """Raise 422 ``not_a_friend`` unless the two are friends (unknown ids included)."""
    if not are_friends(user_id, other_id):
        raise NotAFriend("You can only do this with a friend.")


def friend_by_ref(user_id: uuid.UUID, ref: str) -> User:
    """The friend named by id or handle; 404 for an unknown handle, else 422 not_a_friend."""
    other = resolve_user_ref(ref)
    if other is None:
        raise NotAFriend("You can only do this with a friend.")
    require_friend(user_id, other.id)
    return other


def _friend_view(friendship: Friendship, user_id: uuid.UUID) -> dict[str, Any]:
    other = friendship.other(user_id)
    return {**summary(other), "first_name": other.first_name, "since": friendship.created_at}


def list_friends(user: User, *, limit: int, cursor: str | None) -> dict[str, Any]:
    """My friends, most recent friendship first."""
    page = keyset_page(
        select(Friendship).where(_involves(user.id)),
        [Friendship.created_at, Friendship.id],
        limit=limit,
        cursor=cursor,
    )
    page["items"] = [_friend_view(f, user.id) for f in page["items"]]
    return page


def unfriend(user: User, other_id: uuid.UUID) -> None:
    friendship = db.session.scalar(select(Friendship).where(_friendship(user.id, other_id)))
    if friendship is None:
        raise FriendNotFound("This person is not your friend.")
    db.session.delete(friendship)
    db.session.flush()


def _befriend(a: User, b: User) -> Friendship:
    low, high = ordered_pair(a.id, b.id)
    friendship = Friendship(user_low_id=low, user_high_id=high, created_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(friendship)
    except IntegrityError as exc:
        # The unique pair: a concurrent acceptance made them friends first.
        raise AlreadyFriends(f"You and {b.display_name} are already friends.") from exc
    _close_requests_between(a, b)
    return friendship


def _close_requests_between(a: User, b: User) -> None:
    """Now that they are friends, no request between them stays open on either side."""
    low, high = ordered_pair(a.id, b.id)
    open_ = FriendRequest.status.in_([RequestStatus.PENDING, RequestStatus.DECLINED])
    db.session.execute(
        update(FriendRequest)
        .where(FriendRequest.pair_low_id == low, FriendRequest.pair_high_id == high, open_)
        .values(status=RequestStatus.CLOSED)
    )

    def undelivered_to(requester: User, other: User) -> ColumnElement[bool]:
        contacts = [(ContactKind.HANDLE, other.handle), (ContactKind.EMAIL, other.email)]
        if other.phone:
            contacts.append((ContactKind.PHONE, other.phone))
        named = [
            and_(FriendRequest.contact_kind == kind, FriendRequest.contact == value)
            for kind, value in contacts
        ]
        return and_(FriendRequest.requester_id == requester.id, or_(*named))

    db.session.execute(
        update(FriendRequest)
        .where(
            FriendRequest.addressee_id.is_(None),
            FriendRequest.status == RequestStatus.PENDING,
            or_(undelivered_to(a, b), undelivered_to(b, a)),
        )
        .values(status=RequestStatus.CLOSED)
    )


# --- friend requests -------------------------------------------------------------------


def _cooldown_start() -> datetime:
    days = current_app.config["WALLET_FRIEND_REQUEST_COOLDOWN_DAYS"]
    return utcnow() - timedelta(days=days)


def _seen_pending_by(requester_id: uuid.UUID) -> ColumnElement[bool]:
    """What the requester sees as pending: pending, and declined within the cool-down."""
    return and_(
        FriendRequest.requester_id == requester_id,
        or_(
            FriendRequest.status == RequestStatus.PENDING,
            and_(
                FriendRequest.status == RequestStatus.DECLINED,
                FriendRequest.responded_at > _cooldown_start(),
            ),
        ),
    )


def _new_request(
    requester: User, kind: ContactKind, contact: str, addressee: User | None
) -> FriendRequest:
    low, high = ordered_pair(requester.id, addressee.id) if addressee else (None, None)
    return FriendRequest(
        requester_id=requester.id,
        requester=requester,
        addressee_id=addressee.id if addressee else None,
        pair_low_id=low,
        pair_high_id=high,
        contact_kind=kind,
        contact=contact,
        status=RequestStatus.PENDING,
        created_at=utcnow(),
    )


def _insert(request: FriendRequest) -> bool:
    """Add under a savepoint; False when a concurrent request took the pair or contact."""
    try:
        with db.session.begin_nested():
            db.session.add(request)
    except IntegrityError:
        return False
    return True


def _deliver(request: FriendRequest) -> FriendRequest:
    requester = request.requester
    assert request.addressee_id is not None  # noqa: S101  (only delivered requests get here)
    notify(
        request.addressee_id,
        NotificationKind.FRIEND_REQUEST,
        title=f"{requester.display_name} (@{requester.handle}) wants to be friends",
        data={"friend_request_id": request.id, "from": summary(requester)},
    )
    return request


def _obstacle(requester: User, addressee: User) -> tuple[ApiError | None, bool]:
    """Why ``requester`` may not ask ``addressee`` now: (error, requester already knows).

    The second value is False when saying so would link an email or phone number the
    requester used before to this person; such requests are kept undelivered instead.
    """
    name = addressee.display_name
    if are_friends(requester.id, addressee.id):
        return AlreadyFriends(f"You and {name} are already friends."), True
    theirs = db.session.scalar(
        select(FriendRequest.id).where(
            FriendRequest.requester_id == addressee.id,
            FriendRequest.addressee_id == requester.id,
            FriendRequest.status == RequestStatus.PENDING,
        )
    )
    if theirs is not None:
        return (
            FriendRequestPending(
                f"{name} already asked you to be friends; accept their request.",
                friend_request_id=str(theirs),
            ),
            True,
        )
    mine = db.session.execute(
        select(FriendRequest.id, FriendRequest.contact_kind)
        .where(_seen_pending_by(requester.id), FriendRequest.addressee_id == addressee.id)
        .limit(1)
    ).first()
    if mine is not None:
        error = FriendRequestPending(
            f"You already asked {name} to be friends.", friend_request_id=str(mine.id)
        )
        return error, mine.contact_kind is ContactKind.HANDLE
    return None, True


def send_friend_request(
    requester: User,
    *,
    handle: str | None = None,
    email: str | None = None,
    phone: str | None = None,
) -> FriendRequest:
    """Ask someone to be friends, by exactly one of handle, email or phone."""
    if handle is not None:
        return _send_to_handle(requester, handle)
    if email is not None:
        return _send_to_contact(requester, ContactKind.EMAIL, email)
    if phone is not None:
        return _send_to_contact(requester, ContactKind.PHONE, phone)
    raise ValueError("a friend request needs a handle, email or phone")


def _send_to_handle(requester: User, handle: str) -> FriendRequest:
    addressee = user_by_handle(handle)
    if addressee.id == requester.id:
        raise FriendRequestSelf("You cannot send a friend request to yourself.")
    error, known = _obstacle(requester, addressee)
    if error is not None and known:
        raise error
    if error is None:
        request = _new_request(requester, ContactKind.HANDLE, addressee.handle, addressee)
        if _insert(request):
            return _deliver(request)
        # Lost a race with a request between the two of them: that one is pending now.
        raise FriendRequestPending(
            f"A friend request between you and {addressee.display_name} is pending."
        )
    return _keep_undelivered(requester, ContactKind.HANDLE, addressee.handle)


def _send_to_contact(requester: User, kind: ContactKind, contact: str) -> FriendRequest:
    if contact in (requester.email, requester.phone):
        raise FriendRequestSelf("You cannot send a friend request to yourself.")
    column = User.email if kind is ContactKind.EMAIL else User.phone
    addressee = _active(db.session.scalar(select(User).where(column == contact)))
    if addressee is not None and _obstacle(requester, addressee)[0] is None:
        request = _new_request(requester, kind, contact, addressee)
        if _insert(request):
            return _deliver(request)
    return _keep_undelivered(requester, kind, contact)


def _keep_undelivered(requester: User, kind: ContactKind, contact: str) -> FriendRequest:
    seen = db.session.scalar(
        select(FriendRequest.id)
        .where(
            _seen_pending_by(requester.id),
            FriendRequest.contact_kind == kind,
            FriendRequest.contact == contact,
        )
        .limit(1)
    )
    request = _new_request(requester, kind, contact, None)
    if seen is not None or not _insert(request):
        # The requester's own outgoing box already shows this one: saying so reveals nothing.
        extra: dict[str, Any] = {"friend_request_id": str(seen)} if seen else {}
        raise FriendRequestPending(
            f"You already sent a friend request to this {kind.value}.", **extra
        )
    return request


def list_requests(user: User, box: str, *, limit: int, cursor: str | None) -> dict[str, Any]:
    """Pending requests to me (``incoming``) or from me (``outgoing``), newest first."""
    if box == "incoming":
        where = and_(
            FriendRequest.addressee_id == user.id, FriendRequest.status == RequestStatus.PENDING
        )
    else:
        where = _seen_pending_by(user.id)
    return keyset_page(
        select(FriendRequest).where(where),
        [FriendRequest.created_at, FriendRequest.id],
        limit=limit,
        cursor=cursor,
    )


def _incoming(user: User, request_id: uuid.UUID) -> FriendRequest:
    """A request addressed to ``user``, locked; anyone else (the requester too) gets 404."""
    request = db.session.scalar(
        select(FriendRequest)
        .where(FriendRequest.id == request_id, FriendRequest.addressee_id == user.id)
        .with_for_update()
    )
    if request is None:
        raise FriendRequestNotFound("No such friend request.")
    if request.status is not RequestStatus.PENDING:
        raise FriendRequestAnswered("You already answered this friend request.")
    return request


def accept_request(user: User, request_id: uuid.UUID) -> dict[str, Any]:
    """Accept: we are friends, and the requester hears it. Returns the new friend."""
    request = _incoming(user, request_id)
    request.status = RequestStatus.ACCEPTED
    request.responded_at = utcnow()
    db.session.flush()
    friendship = _befriend(user, request.requester)
    notify(
        request.requester_id,
        NotificationKind.FRIEND_ACCEPTED,
        title=f"{user.display_name} accepted your friend request",
        data={"friend_request_id": request.id, "friend": summary(user)},
    )
    return _friend_view(friendship, user.id)


def decline_request(user: User, request_id: uuid.UUID) -> None:
    """Decline quietly: the requester is not told (see the module docstring)."""
    request = _incoming(user, request_id)
    request.status = RequestStatus.DECLINED
    request.responded_at = utcnow()
    db.session.flush()


# --- notifications ---------------------------------------------------------------------


def _json_safe(data: dict[str, Any]) -> dict[str, Any]:
    # UUIDs and datetimes become strings, as they would in any API response.
    safe: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return safe


def _message(
    user_id: uuid.UUID,
    first_name: str,
    kind: NotificationKind | str,
    title: str,
    body: str,
    data: dict[str, Any] | None,
) -> dict[str, Any]:
    """A notification's row: the title follows the greeting by first name."""
    greeting = f"{first_name}, "
    if not title.startswith(greeting):
        title = greeting + title
    return {
        "id": uuid.uuid4(),
        "user_id": user_id,
        "kind": NotificationKind(kind),
        "title": _clip(title, 200),
        "body": _clip(body, 1000),
        "data": _json_safe(data or {}),
        "created_at": utcnow(),
    }


def notify(
    user_id: uuid.UUID,
    kind: NotificationKind | str,
    *,
    title: str,
    body: str = "",
    data: dict[str, Any] | None = None,
) -> Notification:
    """Put a message in ``user_id``'s inbox, addressed to them by first name.

    ``title`` is the sentence that follows the greeting: ``notify(ben, "credit_received",
    title="Anna sent you €5.00")`` stores "Ben, Anna sent you €5.00". ``data`` carries the
    ids the app needs to open what it is about (UUIDs may be passed as they are).
    """
    user = db.session.get(User, user_id)
    if user is None:
        raise ValueError(f"no user {user_id} to notify")
    notification = Notification(**_message(user_id, user.first_name, kind, title, body, data))
    db.session.add(notification)
    db.session.flush()
    return notification


_notifications = Notification.__table__
_earlier = _notifications.alias("earlier")
_new: dict[str, ColumnElement[Any]] = {
    name: bindparam(name, type_=_notifications.c[name].type)
    for name in ("id", "user_id", "kind", "title", "body", "data", "created_at")
}
# Its type spelled out: PostgreSQL deduces the parameter's type from both of its places.
_new["kind"] = cast(_new["kind"], _notifications.c.kind.type)
# Built once (extensions/fixed.py): a charge sends it. The row and the check for an
# earlier one of its kind are one INSERT ... SELECT ... WHERE NOT EXISTS.
_NOTIFY_UNLESS_SENT_SINCE = FixedStatement(
    insert(_notifications).from_select(
        list(_new),
        select(*_new.values()).where(
            ~exists().where(
                _earlier.c.user_id == _new["user_id"],
                _earlier.c.kind == _new["kind"],
                _earlier.c.created_at >= bindparam("since", type_=_earlier.c.created_at.type),
            )
        ),
    )
)


def notify_unless_sent_since(
    user_id: uuid.UUID,
    first_name: str,
    kind: NotificationKind | str,
    *,
    since: datetime,
    title: str,
    body: str = "",
    data: dict[str, Any] | None = None,
) -> bool:
    """As :func:`notify`, unless a message of ``kind`` reached them at or after ``since``.

    For the money path: one statement, and the caller names the person (it has just read
    them), so nothing is loaded. Returns whether the message was sent. Two requests at the
    same moment may both send it (nothing locks the inbox); callers that lock the person
    already (a charge locks the wallet) send it once.
    """
    row = _message(user_id, first_name, kind, title, body, data)
    return _NOTIFY_UNLESS_SENT_SINCE.execute({**row, "since": since}).rowcount == 1


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "\u2026"


def unread_count(user: User) -> int:
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        )
        or 0
    )


def list_notifications(
    user: User, *, unread: bool, limit: int, cursor: str | None
) -> dict[str, Any]:
    """My inbox, newest first, with how many are unread."""
    stmt = select(Notification).where(Notification.user_id == user.id)
    if unread:
        stmt = stmt.where(Notification.read_at.is_(None))
    page = keyset_page(stmt, [Notification.created_at, Notification.id], limit=limit, cursor=cursor)
    page["unread_count"] = unread_count(user)
    return page


def mark_read(user: User, notification_id: uuid.UUID) -> Notification:
    notification = db.session.scalar(
        select(Notification).where(
            Notification.id == notification_id, Notification.user_id == user.id
        )
    )
    if notification is None:
        raise NotificationNotFound("No such notification.")
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.flush()
    return notification
