"""Demo data for the embedded default: ``wallet-api seed-demo``. Safe to run again."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from wallet_api.auth import service as auth
from wallet_api.auth.models import Role, User

if TYPE_CHECKING:
    from wallet_api.blends.models import Blend
    from wallet_api.stores.demo import DemoScanner

DEMO_PASSWORD = "coffee-please"  # noqa: S105  (published demo login, demo data only)
DEMO_LOGINS = (
    ("admin", "admin@demo.beanwallet.test", DEMO_PASSWORD),
    ("staff", "barista@demo.beanwallet.test", DEMO_PASSWORD),
    ("customer", "anna@demo.beanwallet.test", DEMO_PASSWORD),
    ("customer", "ben@demo.beanwallet.test", DEMO_PASSWORD),
)
_PEOPLE = {
    "admin@demo.beanwallet.test": ("Ada", "ada_admin", Role.ADMIN),
    "barista@demo.beanwallet.test": ("Bas", "bas_barista", Role.STAFF),
    "anna@demo.beanwallet.test": ("Anna", "anna", Role.CUSTOMER),
    "ben@demo.beanwallet.test": ("Ben", "ben", Role.CUSTOMER),
}


def _person(email: str) -> User:
    user = auth.find_user_by_email(email)
    if user is None:
        first_name, handle, role = _PEOPLE[email]
        user = auth.register_user(
            email=email, password=DEMO_PASSWORD, first_name=first_name, handle=handle, role=role
        )
    return user


def _demo_order(counter: DemoScanner) -> Callable[[User, Blend, int], None]:
    from wallet_api.blends.service import Recipe
    from wallet_api.counter.service import create_charge
    from wallet_api.extensions.auth import DEVICE, Principal
    from wallet_api.ledger import service as ledger
    from wallet_api.ledger.models import AccountKind
    from wallet_api.paycodes.service import create_pay_code

    def order(person: User, blend: Blend, cups: int) -> None:
        """``cups`` of the blend for ``person``, charged at the demo counter by pay code."""
        ledger.transfer(
            "top_up",
            ledger.system_account(AccountKind.TOPUP_CLEARING),
            ledger.wallet_account(person.id),
            cups * (Recipe.of(blend).price(blend.size) or 0),
            memo="Demo credit",
            meta={"demo": True},
        )
        _, code = create_pay_code(person)
        till = Principal(kind=DEVICE, id=counter.device.id, store_id=counter.store.id)
        create_charge(till, {"code": code, "items": [{"blend_id": blend.id, "quantity": cups}]})

    return order


def seed_demo_data() -> dict[str, User]:
    from wallet_api.blends.demo import seed_blends
    from wallet_api.catalog.demo import seed_menu
    from wallet_api.gifts.demo import seed_gifts
    from wallet_api.loyalty.demo import seed_loyalty
    from wallet_api.stores.demo import seed_stores

    people = {email: _person(email) for email in _PEOPLE}
    seed_menu()
    counter = seed_stores()
    seed_loyalty()
    seed_blends({user.handle: user for user in people.values()}, _demo_order(counter))
    seed_gifts()
    return people
