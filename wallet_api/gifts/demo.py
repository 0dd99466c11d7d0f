"""The demo gift: Anna gives her friend Ben a Flat White. Safe to run again."""

from __future__ import annotations

from sqlalchemy import select

from wallet_api.auth import service as auth
from wallet_api.catalog.models import Product
from wallet_api.extensions import db
from wallet_api.gifts import service
from wallet_api.gifts.models import Gift
from wallet_api.ledger import service as ledger
from wallet_api.ledger.models import AccountKind
from wallet_api.social import service as social

ANNA = "anna@demo.beanwallet.test"
BEN = "ben@demo.beanwallet.test"
WELCOME_CREDIT = 2_000


def seed_gifts() -> None:
    anna, ben = auth.find_user_by_email(ANNA), auth.find_user_by_email(BEN)
    flat_white = db.session.scalar(select(Product).where(Product.name == "Flat White"))
    if anna is None or ben is None or flat_white is None:
        return
    if db.session.scalar(select(Gift.id).where(Gift.giver_id == anna.id).limit(1)):
        return
    if not social.are_friends(anna.id, ben.id):
        request = social.send_friend_request(anna, handle=ben.handle)
        social.accept_request(ben, request.id)
    ledger.transfer(
        "top_up",
        ledger.system_account(AccountKind.TOPUP_CLEARING),
        ledger.wallet_account(anna.id),
        WELCOME_CREDIT,
        memo="Demo credit",
        meta={"demo": True},
    )
    service.give(
        anna,
        handle=ben.handle,
        item={"product_id": flat_white.id, "size": "M"},
        message="For the Monday meeting. See you there!",
    )
