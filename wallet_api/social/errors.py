from wallet_api.extensions.problems import Conflict, NotFound, Unprocessable


class FriendRequestSelf(Unprocessable):
    code, title = "friend_request_self", "You cannot send a friend request to yourself"


class FriendRequestPending(Conflict):
    code, title = "friend_request_pending", "A friend request between you is already pending"


class AlreadyFriends(Conflict):
    code, title = "already_friends", "You are already friends"


class FriendRequestNotFound(NotFound):
    code, title = "friend_request_not_found", "No such friend request"


class FriendRequestAnswered(Conflict):
    code, title = "friend_request_answered", "This friend request was already answered"


class NotAFriend(Unprocessable):
    code, title = "not_a_friend", "This person is not your friend"


class FriendNotFound(NotFound):
    code, title = "friend_not_found", "This person is not your friend"


class NotificationNotFound(NotFound):
    code, title = "notification_not_found", "No such notification"
