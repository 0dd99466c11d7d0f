"""Who is asking, and a world to ask about: actors and objects for the authorization tests.

A :class:`Scene` builds what a test needs on first use, through the API, and nothing
else: asking for ``scene.other_scanner`` opens a second store and adds a till to it;
asking for ``scene.charge`` funds the owner, takes a pay code and charges it at store A.
"""

from __future__ import annotations

import base64
import json
import uuid
from functools import cached_property
from typing import Any

import pytest

from tests.support.api import ApiClient, Person
from tests.support.social import befriend, inbox
from tests.support.stores import (
    Scanner,
    add_scanner,
    add_staff,
    add_store,
    charge,
    fund,
    pay_code,
)

# Everyone the matrix asks. Every row must say what each of these gets.
ACTORS = ("owner", "friend", "stranger", "other_scanner", "other_staff", "admin", "anonymous")
# Asked only where the row says so: the rightful till and staff of the store an object
# belongs to, and the other person named on an object (a friend request's sender).
OPTIONAL_ACTORS = ("scanner", "staff", "counterparty")


def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id with the smallest cost, for tests that register many people.

    Hashing is deliberately slow (a few hundred milliseconds on a busy machine) and these
    tests register hundreds of people without testing passwords; sign-in still verifies a
    real argon2id hash. tests/auth/test_auth.py covers the production parameters.
    """
    from argon2 import PasswordHasher

    from wallet_api.auth import service

    monkeypatch.setattr(
        service, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


class Scene:
    """People, stores and objects, each made through the API the first time it is used.

    ``owner`` owns the objects under test; ``friend`` is the owner's friend (and the
    recipient of the owner's transfer); ``stranger`` knows nobody; ``store``/``scanner``/
    ``staff`` are store A, its till and its barista; ``other_*`` are the same at store B.
    """

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    # --- people and devices ----------------------------------------------------------------

    @cached_property
    def admin(self) -> Person:
        return self.api.admin("Ada")

    @cached_property
    def owner(self) -> Person:
        return self.api.register("Olivia")

    @cached_property
    def friend(self) -> Person:
        friend = self.api.register("Finn")
        befriend(self.api, self.owner, friend)
        return friend

    @cached_property
    def stranger(self) -> Person:
        return self.api.register("Eve")

    @cached_property
    def counterparty(self) -> Person:
        return self.api.register("Carla")

    @cached_property
    def store(self) -> dict[str, Any]:
        return add_store(self.api, self.admin, "Store A")

    @cached_property
    def scanner(self) -> Scanner:
        return add_scanner(self.api, self.admin, self.store["id"], "Till A")

    @cached_property
    def staff(self) -> Person:
        return self._staff_of(self.store, "Sam")

    @cached_property
    def other_store(self) -> dict[str, Any]:
        return add_store(self.api, self.admin, "Store B")

    @cached_property
    def other_scanner(self) -> Scanner:
        return add_scanner(self.api, self.admin, self.other_store["id"], "Till B")

    @cached_property
    def other_staff(self) -> Person:
        return self._staff_of(self.other_store, "Otto")

    def _staff_of(self, store: dict[str, Any], first_name: str) -> Person:
        person = self.api.register(first_name)
        add_staff(self.api, self.admin, store["id"], person)
        return person

    def credentials(self, actor: str) -> Person | str | None:
        """What ``api.request(as_=...)`` takes for ``actor``: a person, a device token, None."""
        if actor == "anonymous":
            return None
        who = getattr(self, actor)
        return who.token if isinstance(who, Scanner) else who

    # --- objects ---------------------------------------------------------------------------

    def _ok(self, response, status: int = 201) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        assert response.status_code == status, response.get_json()
        return response.get_json()

    @cached_property
    def charge(self) -> dict[str, Any]:
        """The owner paid 500 cents at store A's till."""
        fund(self.api, self.owner, 2000)
        code = pay_code(self.api, self.owner)["code"]
        return self._ok(charge(self.api, self.scanner, code, amount=500))["charge"]

    @cached_property
    def pay_code(self) -> dict[str, Any]:
        return pay_code(self.api, self.owner)

    @cached_property
    def offline_key(self) -> dict[str, Any]:
        response = self.api.post("/v1/wallet/offline-keys", {"name": "Phone"}, as_=self.owner)
        return self._ok(response)

    @cached_property
    def transfer(self) -> dict[str, Any]:
        """The owner sent 300 cents to the friend."""
        fund(self.api, self.owner, 1000)
        body = {"to": self.friend.handle, "amount": 300, "message": "Coffee's on me"}
        return self._ok(self.api.post("/v1/wallet/transfers", body, as_=self.owner, idem=True))

    @cached_property
    def incoming_friend_request(self) -> dict[str, Any]:
        """Pending, from the counterparty to the owner."""
        body = {"handle": self.owner.handle}
        return self._ok(self.api.post("/v1/friend-requests", body, as_=self.counterparty))

    @cached_property
    def notification(self) -> dict[str, Any]:
        """The owner's "friend request accepted" message, from befriending the friend."""
        assert self.friend
        return inbox(self.api, self.owner)["items"][0]

    @cached_property
    def product(self) -> dict[str, Any]:
        body = {"name": "Flat White", "prices": [{"size": "M", "price": 390}]}
        return self._ok(self.api.post("/v1/catalog/products", body, as_=self.admin))

    @cached_property
    def ingredient(self) -> dict[str, Any]:
        body = {"kind": "milk", "name": "Oat milk", "price_delta": 50}
        return self._ok(self.api.post("/v1/catalog/ingredients", body, as_=self.admin))

    # --- forging tokens ---------------------------------------------------------------------------

    @cached_property
    def top_up(self) -> dict[str, Any]:
        """The owner's sandbox top-up of 1000 cents."""
        body = {"amount": 1000}
        return self._ok(self.api.post("/v1/wallet/top-ups", body, as_=self.owner, idem=True))

    @cached_property
    def reward(self) -> dict[str, Any]:
        from tests.support.loyalty import add_reward

        return add_reward(self.api, self.admin)

    @cached_property
    def offer(self) -> dict[str, Any]:
        from tests.support.loyalty import add_offer

        return add_offer(self.api, self.admin)

    def give_points(self, person: Person, points: int) -> None:
        """Points as if earned: from the points_issued account, through the ledger."""
        from wallet_api.extensions import db
        from wallet_api.ledger import service as ledger
        from wallet_api.ledger.models import AccountKind

        with self.api.client.application.app_context():
            ledger.transfer(
                "points_earned",
                ledger.system_account(AccountKind.POINTS_ISSUED),
                ledger.points_account(uuid.UUID(person.id)),
                points,
            )
            db.session.commit()

    @cached_property
    def reward_code(self) -> dict[str, Any]:
        """The owner spent points on the reward: a reward code of theirs."""
        self.give_points(self.owner, 2000)
        path = f"/v1/loyalty/rewards/{self.reward['id']}/redeem"
        return self._ok(self.api.post(path, {}, as_=self.owner, idem=True))

    @cached_property
    def blend(self) -> dict[str, Any]:
        """The owner's blend, shared with friends (the friend may see it, a stranger not)."""
        from tests.support.blends import compose, make_menu, simple

        assert self.friend  # befriended before the blend is read
        menu = make_menu(self.api)
        return compose(self.api, self.owner, simple(menu, visibility="friends"))

    @cached_property
    def gift(self) -> dict[str, Any]:
        """A gift of 300 cents from the owner to the friend (the recipient)."""
        fund(self.api, self.owner, 1000)
        body = {"handle": self.friend.handle, "amount": 300, "message": "For you"}
        return self._ok(self.api.post("/v1/gifts", body, as_=self.owner, idem=True))

    @cached_property
    def drink_gift(self) -> dict[str, Any]:
        """A Flat White from the owner to the friend: a voucher with a QR code."""
        fund(self.api, self.owner, 1000)
        item = {"product_id": self.product["id"], "size": "M"}
        body = {"handle": self.friend.handle, "item": item, "message": "Coffee on me"}
        return self._ok(self.api.post("/v1/gifts", body, as_=self.owner, idem=True))

    @cached_property
    def link_gift(self) -> dict[str, Any]:
        """300 cents from the owner to an email address with no account: a claim link."""
        fund(self.api, self.owner, 1000)
        body = {"email": "someone.new@example.com", "amount": 300}
        return self._ok(self.api.post("/v1/gifts", body, as_=self.owner, idem=True))

    @cached_property
    def allowance(self) -> dict[str, Any]:
        """The owner lets the friend spend 1000 cents a week."""
        body = {"grantee": self.friend.handle, "amount": 1000, "period": "week"}
        return self._ok(self.api.post("/v1/allowances", body, as_=self.owner))

    @cached_property
    def gift_charge(self) -> dict[str, Any]:
        """The friend redeemed the owner's drink gift at store A: the owner paid, the
        friend drank."""
        from tests.support.gifts import gift_code

        code = gift_code(self.api, self.friend, self.drink_gift["id"])
        return self._ok(charge(self.api, self.scanner, code))["charge"]

    @cached_property
    def allowance_charge(self) -> dict[str, Any]:
        """The friend paid 300 cents at store A on the owner's allowance."""
        fund(self.api, self.owner, 1000)
        body = {"allowance_id": self.allowance["id"]}
        code = self._ok(self.api.post("/v1/wallet/pay-codes", body, as_=self.friend))["code"]
        return self._ok(charge(self.api, self.scanner, code, amount=300))["charge"]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value).encode())


def random_id() -> str:
    return str(uuid.uuid4())
