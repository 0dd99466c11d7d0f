from flask.views import MethodView

from wallet_api.extensions import Blueprint
from wallet_api.extensions.auth import current_principal
from wallet_api.extensions.pagination import CursorArgs
from wallet_api.social import service
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


@blp.route("/friend-requests")
class FriendRequests(MethodView):
    @blp.auth("customer")
    @blp.arguments(FriendRequestCreateSchema)
    @blp.response(201, FriendRequestSchema)
    @blp.problems(404, 409, 422)
    @blp.doc(description=ASKING)
    def post(self, data):
        """Ask someone to be friends, by handle, email or phone"""
        return service.send_friend_request(current_principal().user, **data)

    @blp.auth("customer")
    @blp.arguments(FriendRequestListArgs, location="query")
    @blp.response(200, FriendRequestPageSchema)
    def get(self, args):
        """Pending friend requests to me (incoming) or from me (outgoing)"""
        return service.list_requests(current_principal().user, **args)


@blp.route("/friend-requests/<uuid:request_id>/accept")
class AcceptFriendRequest(MethodView):
    @blp.auth("customer")
    @blp.response(200, FriendSchema)
    @blp.problems(404, 409)
    def post(self, request_id):
        """Accept a friend request sent to me"""
        return service.accept_request(current_principal().user, request_id)


@blp.route("/friend-requests/<uuid:request_id>/decline")
class DeclineFriendRequest(MethodView):
    @blp.auth("customer")
    @blp.response(204)
    @blp.problems(404, 409)
    def post(self, request_id):
        """Decline a friend request sent to me (the requester is not told)"""
        service.decline_request(current_principal().user, request_id)


@blp.route("/friends")
class Friends(MethodView):
    @blp.auth("customer")
    @blp.arguments(CursorArgs, location="query")
    @blp.response(200, FriendPageSchema)
    def get(self, args):
        """My friends, newest friendship first"""
        return service.list_friends(current_principal().user, **args)


@blp.route("/friends/<uuid:user_id>")
class Friend(MethodView):
    @blp.auth("customer")
    @blp.response(204)
    @blp.problems(404)
    def delete(self, user_id):
        """Unfriend"""
        service.unfriend(current_principal().user, user_id)


@blp.route("/notifications")
class Notifications(MethodView):
    @blp.auth("customer")
    @blp.arguments(NotificationListArgs, location="query")
    @blp.response(200, NotificationPageSchema)
    def get(self, args):
        """My inbox, newest first, with the unread count"""
        return service.list_notifications(current_principal().user, **args)


@blp.route("/notifications/<uuid:notification_id>/read")
class ReadNotification(MethodView):
    @blp.auth("customer")
    @blp.response(200, NotificationSchema)
    @blp.problems(404)
    def post(self, notification_id):
        """Mark a notification as read"""
        return service.mark_read(current_principal().user, notification_id)
