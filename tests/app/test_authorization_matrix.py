"""The authorization matrix: every route that takes an object id, asked by everyone.

Each row of ``MATRIX`` is one route and one way of making its object; each (row, actor)
is its own test. The actors (see ``tests/support/authz.py``): ``owner``, the owner's
``friend``, a ``stranger``, a till of another store (``other_scanner``), a barista of
another store (``other_staff``), an ``admin`` and ``anonymous``; where it applies also the
rightful ``scanner`` and ``staff`` of the object's store and the ``counterparty`` named on
the object. Each test makes the object through the API, asks as the actor and checks:

- the status is what the access rules allow (docs/api-guide.md, "Notes for client
  developers", documents where they go further);
- anonymous always gets 401 ``token_missing``;
- a refusal tells nothing: for an object whose existence is not public, the same request
  for a random id gets the same status and code, so a 403 or 404 never confirms that an
  id exists (a stranger gets 404, never 403 and never 200);
- a refusal changes nothing: the rightful actor still succeeds afterwards.

How to add a row (e.g. for gifts, when they are merged)::

    1. If the object is new, add a ``cached_property`` to ``Scene`` that makes it through
       the API (``self.api.post(...)``, asserting the status) and returns its JSON.
    2. Add ``Row("GET", "/v1/gifts/{gift_id}", lambda s: {"gift_id": s.gift["id"]},
       mine(200, friend=200))`` below: the path as in the spec, a function from the scene
       to the path parameters, and the expected status of every actor (the helpers
       ``mine``, ``store_object`` and ``admin_only`` give the usual profiles; override
       actors by keyword). Add ``body=`` for a request body, ``idem=True`` for routes that
       take an Idempotency-Key, and ``public=("store_id",)`` for path parameters that
       anyone may know exist.

``test_every_object_route_is_in_the_matrix`` fails when a route with a path parameter is
neither in the matrix nor in ``NOT_OBJECT_SCOPED`` (with the reason it is not).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from tests.support.api import ApiClient
from tests.support.authz import (
    ACTORS,
    OPTIONAL_ACTORS,
    Scene,
    cheap_password_hashing,
    random_id,
)

PathParams = Callable[[Scene], dict[str, str]]


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # as in the OpenAPI spec: /v1/charges/{charge_id}
    params: PathParams  # the scene -> the path parameters of a real object
    expect: dict[str, int]  # actor -> status
    body: Callable[[Scene], Any] | None = None
    idem: bool = False
    # Path parameters anyone may know exist (stores are listed publicly): the random-id
    # comparison replaces only the others, and is skipped when there are none.
    public: tuple[str, ...] = ()
    variant: str = ""  # tells apart two rows of one route
    # Actors who may already know the object exists (a friend sees a friends' blend), so a
    # 403 for them reveals nothing and the random-id comparison is skipped.
    knows: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}" + (f" ({self.variant})" if self.variant else "")

    def url(self, params: dict[str, str]) -> str:
        return self.path.format(**params)


def mine(ok: int, **overrides: int) -> dict[str, int]:
    """A customer's own object: the owner gets ``ok``; other people 404; devices 403."""
    return {
        "owner": ok,
        "friend": 404,
        "stranger": 404,
        "other_staff": 404,
        "admin": 404,  # no admin back door into customers' things
        "other_scanner": 403,  # a till is the wrong kind of principal for customer routes
        "anonymous": 401,
        **overrides,
    }


def admin_only(ok: int, **overrides: int) -> dict[str, int]:
    """Managed by admins; everyone else is refused by role before the id is looked at."""
    people = dict.fromkeys(("owner", "friend", "stranger", "other_staff"), 403)
    return {**people, "other_scanner": 403, "admin": ok, "anonymous": 401, **overrides}


def store_object(ok: int, *, customer: int, **overrides: int) -> dict[str, int]:
    """Belongs to store A: its till, its staff and admins get ``ok``; store B gets 404."""
    return {
        "owner": customer,
        "friend": customer,
        "stranger": customer,
        "scanner": ok,
        "staff": ok,
        "admin": ok,
        "other_scanner": 404,
        "other_staff": 404,
        "anonymous": 401,
        **overrides,
    }


def _store(s: Scene) -> dict[str, str]:
    return {"store_id": s.store["id"]}


def _charge(s: Scene) -> dict[str, str]:
    return {"charge_id": s.charge["id"]}


def _friend_request(s: Scene) -> dict[str, str]:
    return {"request_id": s.incoming_friend_request["id"]}


def _pay_code(s: Scene) -> dict[str, str]:
    return {"pay_code_id": s.pay_code["id"]}


STORE = ("store_id",)


def _reward_for_owner(s: Scene) -> dict[str, str]:
    """A reward from the public catalog, and the points for it in the owner's account."""
    s.give_points(s.owner, 2000)
    return {"reward_id": s.reward["id"]}


def _store_admin(method: str, suffix: str, ok: int, body: Any) -> Row:
    """An admin action on store A; its own till and staff are refused like anyone else."""
    make_body = body if callable(body) else lambda s: body
    return Row(
        method,
        "/v1/stores/{store_id}" + suffix,
        _store,
        admin_only(ok, scanner=403, staff=403),
        body=make_body,
        public=STORE,
    )


MATRIX: tuple[Row, ...] = (
    # --- catalog (admins manage the menu) ---
    Row(
        "PATCH",
        "/v1/catalog/products/{product_id}",
        lambda s: {"product_id": s.product["id"]},
        admin_only(200),
        body=lambda s: {"description": "Velvety"},
    ),
    Row(
        "DELETE",
        "/v1/catalog/products/{product_id}",
        lambda s: {"product_id": s.product["id"]},
        admin_only(204),
    ),
    Row(
        "PATCH",
        "/v1/catalog/ingredients/{ingredient_id}",
        lambda s: {"ingredient_id": s.ingredient["id"]},
        admin_only(200),
        body=lambda s: {"price_delta": 60},
    ),
    Row(
        "DELETE",
        "/v1/catalog/ingredients/{ingredient_id}",
        lambda s: {"ingredient_id": s.ingredient["id"]},
        admin_only(204),
    ),
    # --- charges and refunds (devices, staff, the customer; a customer sees their own) ---
    Row(
        "GET",
        "/v1/charges/{charge_id}",
        _charge,
        store_object(200, customer=404, owner=200),
    ),
    Row(
        "POST",
        "/v1/charges/{charge_id}/refunds",
        _charge,
        # Staff refund, and (docs/api-guide.md) the store's till may refund too.
        # Customers never refund, so they are refused by role (403) whatever the id.
        store_object(201, customer=403),
        body=lambda s: {"amount": 100, "reason": "Wrong milk"},
        idem=True,
    ),
    # --- friends and notifications ---
    Row(
        "POST",
        "/v1/friend-requests/{request_id}/accept",
        _friend_request,
        mine(200, counterparty=404),  # the sender cannot accept their own request
    ),
    Row(
        "POST",
        "/v1/friend-requests/{request_id}/decline",
        _friend_request,
        mine(204, counterparty=404),
    ),
    Row(
        "DELETE",
        "/v1/friends/{user_id}",
        lambda s: {"user_id": s.friend.id},
        mine(204),  # the friend asking to unfriend themselves: 404 like anyone else
    ),
    Row(
        "POST",
        "/v1/notifications/{notification_id}/read",
        lambda s: {"notification_id": s.notification["id"]},
        mine(200),
    ),
    # --- transfers ---
    Row(
        "GET",
        "/v1/wallet/transfers/{transfer_id}",
        lambda s: {"transfer_id": s.transfer["id"]},
        mine(200, friend=200),  # the friend is the recipient
    ),
    # --- pay codes and offline keys ---
    Row("GET", "/v1/wallet/pay-codes/{pay_code_id}", _pay_code, mine(200)),
    Row("GET", "/v1/wallet/pay-codes/{pay_code_id}/qr", _pay_code, mine(200)),
    Row(
        "DELETE",
        "/v1/wallet/offline-keys/{offline_key_id}",
        lambda s: {"offline_key_id": s.offline_key["id"]},
        mine(204),
    ),
    # --- stores (public to read; admins manage them) ---
    Row(
        "GET",
        "/v1/stores/{store_id}",
        _store,
        dict.fromkeys((*ACTORS, "scanner", "staff"), 200),
        public=STORE,
    ),
    _store_admin("PATCH", "", 200, {"address": "Damrak 1"}),
    _store_admin("POST", "/staff", 201, lambda s: {"user_id": s.owner.id}),
    _store_admin("POST", "/devices", 201, {"name": "Till 2"}),
    Row(
        "DELETE",
        "/v1/stores/{store_id}/devices/{device_id}",
        lambda s: {"store_id": s.store["id"], "device_id": s.scanner.device_id},
        admin_only(204, scanner=403, staff=403),
        public=STORE,
    ),
    Row(
        "DELETE",
        "/v1/stores/{store_id}/devices/{device_id}",
        lambda s: {"store_id": s.other_store["id"], "device_id": s.scanner.device_id},
        admin_only(404),  # store A's till, asked for under store B's path
        public=STORE,
        variant="device of another store",
    ),
    Row(
        "GET",
        "/v1/stores/{store_id}/reports/daily",
        _store,
        # Tills do not read reports (staff and admins do); staff of store B are told they are not
        # staff here (403): stores are public, so that reveals nothing.
        store_object(200, customer=403, scanner=403, other_scanner=403, other_staff=403),
        public=STORE,
    ),
)

MATRIX += (
    Row(
        "GET", "/v1/wallet/top-ups/{top_up_id}", lambda s: {"top_up_id": s.top_up["id"]}, mine(200)
    ),
    Row(
        "POST",
        "/v1/loyalty/reward-codes/{code_id}/code",
        lambda s: {"code_id": s.reward_code["id"]},
        mine(200),
    ),
    Row(
        "POST",
        "/v1/loyalty/rewards/{reward_id}/redeem",
        _reward_for_owner,
        # The rewards catalog is public; only the owner has the points for it.
        mine(201, friend=402, stranger=402, other_staff=402, admin=402),
        idem=True,
        public=("reward_id",),
    ),
    Row(
        "PATCH",
        "/v1/loyalty/rewards/{reward_id}",
        lambda s: {"reward_id": s.reward["id"]},
        admin_only(200),
        body=lambda s: {"name": "Free drink, any size"},
        public=("reward_id",),
    ),
    Row(
        "DELETE",
        "/v1/offers/{offer_id}",
        lambda s: {"offer_id": s.offer["id"]},
        admin_only(204),
        public=("offer_id",),  # offers are listed to every customer
    ),
)


def _blend(s: Scene) -> dict[str, str]:
    return {"blend_id": s.blend["id"]}


MATRIX += (
    # A blend shared with friends: its friend reads, rates and copies it; only its creator
    # changes it; to everyone else it does not exist.
    Row("GET", "/v1/blends/{blend_id}", _blend, mine(200, friend=200)),
    Row("GET", "/v1/blends/{blend_id}/ratings", _blend, mine(200, friend=200)),
    Row(
        "POST",
        "/v1/blends/{blend_id}/ratings",
        _blend,
        mine(201, friend=201),
        body=lambda s: {"stars": 5, "comment": "Lovely"},
    ),
    Row("POST", "/v1/blends/{blend_id}/copy", _blend, mine(201, friend=201), body=lambda s: {}),
    Row(
        "PATCH",
        "/v1/blends/{blend_id}",
        _blend,
        mine(200, friend=403),  # the friend can see it, so 403 reveals nothing new
        body=lambda s: {"notes": "Less sugar"},
        knows=("friend",),
    ),
    Row("DELETE", "/v1/blends/{blend_id}", _blend, mine(204, friend=403), knows=("friend",)),
    Row(
        "GET",
        "/v1/users/{handle}/blends",
        lambda s: {"handle": s.owner.handle},
        # Handles are public; what is listed depends on who asks (tests/blends/test_blends.py).
        mine(200, friend=200, stranger=200, other_staff=200, admin=200),
        public=("handle",),
    ),
)


def _rated_by_the_friend(variant: str, made: Callable[[Scene], dict[str, Any]]) -> Row:
    """A charge the owner paid and the friend drank (a gift, an allowance): the friend
    rates it. The owner sees the charge in their history, so their 403
    ``feedback_not_drinker`` tells nothing new."""
    return Row(
        "POST",
        "/v1/charges/{charge_id}/feedback",
        lambda s: {"charge_id": made(s)["id"]},
        mine(403, friend=201),
        body=lambda s: {"stars": 4},
        idem=True,
        variant=variant,
        knows=("owner",),
    )


MATRIX += (
    Row(
        "POST",
        "/v1/charges/{charge_id}/feedback",
        _charge,
        # Only the person who drank rates the visit; anyone else: no such charge.
        mine(201),
        body=lambda s: {"stars": 4, "comment": "Lovely flat white"},
        idem=True,  # a low rating moves money (the apology credit)
    ),
    _rated_by_the_friend("a gift the friend redeemed", lambda s: s.gift_charge),
    _rated_by_the_friend("on the owner's allowance", lambda s: s.allowance_charge),
)


def _recipient(ok: int) -> dict[str, int]:
    """For the recipient (the friend) of the owner's gift; the giver knows it exists."""
    return mine(404, friend=ok)


MATRIX += (
    Row("GET", "/v1/gifts/{gift_id}", lambda s: {"gift_id": s.gift["id"]}, mine(200, friend=200)),
    Row(
        "GET",
        "/v1/gifts/{gift_id}/qr",
        lambda s: {"gift_id": s.drink_gift["id"]},
        _recipient(200),
        knows=("owner",),
    ),
    Row(
        "POST",
        "/v1/gifts/{gift_id}/decline",
        lambda s: {"gift_id": s.gift["id"]},
        _recipient(200),
        idem=True,
        knows=("owner",),
    ),
    Row(
        "POST",
        "/v1/gifts/{gift_id}/accept",
        lambda s: {"gift_id": s.gift["id"]},
        _recipient(200),
        idem=True,
        knows=("owner",),
    ),
    Row(
        "POST",
        "/v1/gifts/{gift_id}/thanks",
        lambda s: {"gift_id": s.gift["id"]},
        _recipient(200),
        body=lambda s: {"message": "Thank you!"},
        knows=("owner",),
    ),
    Row(
        "POST",
        "/v1/gift-claims/{token}",
        lambda s: {"token": s.link_gift["claim_url"].rsplit("/", 1)[-1]},
        # A claim link is a bearer credential: whoever signed in holds it may claim the
        # gift, except its giver (422 gift_claim_own).
        mine(200, owner=422, friend=200, stranger=200, other_staff=200, admin=200),
        idem=True,
        knows=("owner",),
    ),
    Row(
        "DELETE",
        "/v1/allowances/{allowance_id}",
        lambda s: {"allowance_id": s.allowance["id"]},
        mine(204),  # the grantee may not revoke it either: 404
    ),
)

# Routes with a path parameter that is not an object anyone could own.
NOT_OBJECT_SCOPED = {
    ("GET", "/static/{filename}"),  # Flask's static files: a file name, public by nature
    ("GET", "/docs/assets/{filename}"),  # Swagger UI's files for /docs: public by nature
    # A payment provider's name, not an object; the request is authenticated by the
    # provider's signature (tests/test_wallet_webhooks*.py), not by a bearer token.
    ("POST", "/v1/webhooks/payments/{provider}"),
    # The gift page: a server-rendered HTML page whose token is the credential (at least
    # 128 bits, rate limited); tests/test_gift_page*.py check it, including unknown tokens.
    ("GET", "/g/{token}"),
}


def _cases() -> list[Any]:
    return [
        pytest.param(row, actor, id=f"{row.name} as {actor}")
        for row in MATRIX
        for actor in (*ACTORS, *OPTIONAL_ACTORS)
        if actor in row.expect
    ]


@pytest.fixture(autouse=True)
def _cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap_password_hashing(monkeypatch)


def _ask(api: ApiClient, scene: Scene, row: Row, actor: str, params: dict[str, str]):  # type: ignore[no-untyped-def]
    body = row.body(scene) if row.body else None
    return api.request(
        row.method, row.url(params), body, as_=scene.credentials(actor), idem=row.idem
    )


def _code(response) -> str | None:  # type: ignore[no-untyped-def]
    if response.mimetype != "application/problem+json":
        return None
    return response.get_json()["code"]


@pytest.mark.parametrize(("row", "actor"), _cases())
def test_authorization(api: ApiClient, row: Row, actor: str) -> None:
    scene = Scene(api)
    params = row.params(scene)
    expected = row.expect[actor]
    response = _ask(api, scene, row, actor, params)
    assert response.status_code == expected, (response.status_code, response.get_data(True))
    if expected < 400:
        return
    assert response.mimetype == "application/problem+json"
    if actor == "anonymous":
        assert _code(response) == "token_missing"
    secret = [name for name in params if name not in row.public]
    if secret and actor not in row.knows:
        random_params = {**params, **{name: random_id() for name in secret}}
        probe = _ask(api, scene, row, actor, random_params)
        assert (probe.status_code, _code(probe)) == (expected, _code(response)), (
            "the answer differs for an id that does not exist, so it reveals this one does"
        )
    rightful = next((a for a, status in row.expect.items() if status < 400), None)
    if rightful is not None and rightful != actor:
        again = _ask(api, scene, row, rightful, params)
        assert again.status_code == row.expect[rightful], again.get_data(True)


# --- the matrix covers every object route ------------------------------------------------------


def _template(rule: str) -> str:
    """Flask's /v1/charges/<uuid:charge_id> as the spec writes it: /v1/charges/{charge_id}."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _object_routes(app: Flask) -> set[tuple[str, str]]:
    return {
        (method, _template(rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.arguments
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }


def test_every_object_route_is_in_the_matrix(app: Flask) -> None:
    covered = {(row.method, row.path) for row in MATRIX}
    missing = _object_routes(app) - covered - NOT_OBJECT_SCOPED
    assert not missing, f"add rows to MATRIX (or NOT_OBJECT_SCOPED, with a reason): {missing}"


def test_the_matrix_names_only_real_routes(app: Flask) -> None:
    routes = _object_routes(app)
    stale = {(row.method, row.path) for row in MATRIX} - routes
    assert not stale, stale
    assert not NOT_OBJECT_SCOPED - routes, NOT_OBJECT_SCOPED - routes


def test_the_spec_documents_the_same_object_routes(app: Flask) -> None:
    spec = app.test_client().get("/openapi.json").get_json()
    documented = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        if "{" in path
        for method in operations
        if method != "parameters"
    }
    assert documented - NOT_OBJECT_SCOPED == _object_routes(app) - NOT_OBJECT_SCOPED


@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.name)
def test_every_row_says_what_every_actor_gets(row: Row) -> None:
    assert set(ACTORS) <= set(row.expect) <= {*ACTORS, *OPTIONAL_ACTORS}
    assert any(status < 400 for status in row.expect.values()) or row.variant
