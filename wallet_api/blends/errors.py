from wallet_api.extensions.problems import Forbidden, NotFound


class BlendNotFound(NotFound):
    """Also what a stranger gets for a blend they may not see: it never says it exists."""

    code, title = "blend_not_found", "No such blend"


class NotYourBlend(Forbidden):
    """Someone who may see a blend (a friend, anyone for a public one) but did not create it."""

    code, title = "not_blend_owner", "Only the blend's creator can change it"
