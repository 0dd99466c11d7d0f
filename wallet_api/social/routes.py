import uuid
from typing import Any

from flask.views import MethodView

from wallet_api.auth.errors import UserNotFound
from wallet_api.extensions import Blueprint
from wallet_api.extensions.auth import current_principal
from wallet_api.extensions.pagination import CursorArgs
from wallet_api.social import service
from wallet_api.social.errors import (
    AlreadyFriends,
    FriendNotFound,
    FriendRequestAnswered,
    FriendRequestNotFound,
    FriendRequestPending,
    FriendRequestSelf,
    NotificationNotFound,
)
from wallet_api.social.models import FriendRequest, Notification
from wallet_api.social.schemas import (
    FriendPageSchema,
    FriendRequestCreateSchema,
    FriendRequestListArgs,
    FriendRequestPageSchema,
    FriendRequestSchema,
    FriendSchema,
    NotificationListArgs,
    NotificationPageSchema,
    NotificationSchema,
)

blp = Blueprint("social", __name__, url_prefix="/v1", description="Friends and notifications")

ASKING = (
    "By handle, an unknown handle is 404 and a refusal says why. By email or phone the "
    "answer is always 201, whether or not an account exists (a request that cannot be "
    "delivered stays visible to the requester only). Declines are quiet: the requester "
    "keeps seeing the request as pending until the cool-down ends."
)


@blp.route(
    "/friend-requests",
    operations={"get": "list_friend_requests", "post": "send_friend_request"},
)
class FriendRequests(MethodView):
    @blp.auth("customer")
    @blp.arguments(FriendRequestCreateSchema)
    @blp.response(201, FriendRequestSchema)
    @blp.problems(UserNotFound, AlreadyFriends, FriendRequestPending, FriendRequestSelf)
    @blp.doc(description=ASKING)
    def post(self, data: dict[str, Any]) -> FriendRequest:
        """Ask someone to be friends, by handle, email or phone"""
        return service.send_friend_request(current_principal().user, **data)

    @blp.auth("customer")
    @blp.arguments(FriendRequestListArgs, location="query")
    @blp.response(200, FriendRequestPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Pending friend requests to me (incoming) or from me (outgoing)

        Any signed-in person, their own requests only; a request I declined is no longer
        listed, though its requester still sees it as pending.
        """
        return service.list_requests(current_principal().user, **args)


@blp.route(
    "/friend-requests/<uuid:request_id>/accept", operations={"post": "accept_friend_request"}
)
class AcceptFriendRequest(MethodView):
    @blp.auth("customer")
    @blp.response(200, FriendSchema)
    @blp.problems(FriendRequestNotFound, FriendRequestAnswered, AlreadyFriends)
    def post(self, request_id: uuid.UUID) -> dict[str, Any]:
        """Accept a friend request sent to me

        The addressee only. We become friends and the requester is notified.
        """
        return service.accept_request(current_principal().user, request_id)


@blp.route(
    "/friend-requests/<uuid:request_id>/decline", operations={"post": "decline_friend_request"}
)
class DeclineFriendRequest(MethodView):
    @blp.auth("customer")
    @blp.response(204)
    @blp.problems(FriendRequestNotFound, FriendRequestAnswered)
    def post(self, request_id: uuid.UUID) -> None:
        """Decline a friend request sent to me (the requester is not told)

        The addressee only. The requester keeps seeing the request as pending until the
        cool-down ends, so declining is never a signal.
        """
        service.decline_request(current_principal().user, request_id)


@blp.route("/friends", operations={"get": "list_friends"})
class Friends(MethodView):
    @blp.auth("customer")
    @blp.arguments(CursorArgs, location="query")
    @blp.response(200, FriendPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """My friends, newest friendship first

        Any signed-in person, their own friends only; page with the cursor.
        """
        return service.list_friends(current_principal().user, **args)


@blp.route("/friends/<uuid:user_id>", operations={"delete": "unfriend"})
class Friend(MethodView):
    @blp.auth("customer")
    @blp.response(204)
    @blp.problems(FriendNotFound)
    def delete(self, user_id: uuid.UUID) -> None:
        """Unfriend

        Either friend may end the friendship, at once; the other is not told.
        """
        service.unfriend(current_principal().user, user_id)


@blp.route("/notifications", operations={"get": "list_notifications"})
class Notifications(MethodView):
    @blp.auth("customer")
    @blp.arguments(NotificationListArgs, location="query")
    @blp.response(200, NotificationPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """My inbox, newest first, with the unread count

        Any signed-in person, their own inbox only: friend requests, gifts, thanks,
        apologies and the like; filter to the unread ones, and page with the cursor.
        """
        return service.list_notifications(current_principal().user, **args)


@blp.route(
    "/notifications/<uuid:notification_id>/read", operations={"post": "mark_notification_read"}
)
class ReadNotification(MethodView):
    @blp.auth("customer")
    @blp.response(200, NotificationSchema)
    @blp.problems(NotificationNotFound)
    def post(self, notification_id: uuid.UUID) -> Notification:
        """Mark a notification as read

        The recipient only; marking a read one again changes nothing.
        """
        return service.mark_read(current_principal().user, notification_id)
