"""Random sequences of money movements against a plain Python model of the wallets.

A Hypothesis state machine tops up, charges at the till, refunds (partly, fully, too
much), sends credit between friends (within and over the daily limit), gives credit and
drinks, accepts, declines and redeems them, lets gifts lapse and runs the expiry job,
moves the clock, and replays requests with their Idempotency-Key. After every step each
person's balance (GET /v1/wallet) must equal the model's, the gift escrow must hold exactly
the pending gifts, the ledger must hold exactly the postings the model expects, and
``verify_ledger`` must find nothing wrong. Refused steps must change nothing.

Every example starts from empty tables (the ``reset_database`` fixture) and a frozen clock.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from werkzeug.test import TestResponse

from tests.support.api import ApiClient, Person
from tests.support.catalog import add_product
from tests.support.gifts import MORNING, escrow_balance, expire_gifts, gift_code
from tests.support.social import befriend, sign_in_again
from tests.support.stores import Scanner, add_scanner, add_staff, add_store, device_token

MAX_BALANCE = 20_000
DAILY_LIMIT = 1_000  # low, so that two or three transfers in a day reach it
WINDOW = timedelta(hours=24)
GIFT_TTL = timedelta(days=90)
FLAT_WHITE = {"S": 350, "M": 390, "L": 430}  # add_product's default prices
SANDBOX_DECLINES = 1313
PEOPLE = ("anna", "ben", "cleo")
# Ledger kinds the model accounts for (charges also post loyalty points, not counted here).
MONEY_KINDS = (
    "top_up",
    "charge",
    "refund",
    "transfer",
    "gift",
    "gift_credit",
    "gift_refund",
    "gift_redemption",
)


@dataclass
class ModelCharge:
    id: str
    payer: str  # whose wallet refunds go to (the giver, for a gift redemption)
    amount: int
    refunded: int = 0

    @property
    def refundable(self) -> int:
        return self.amount - self.refunded


@dataclass
class ModelGift:
    id: str
    giver: str
    recipient: str
    kind: str  # "amount" or "item"
    amount: int
    given_at: datetime
    expires_at: datetime
    code: str | None = None  # a drink's redemption code, read from its QR when given
    status: str = "pending"  # pending, accepted, declined, redeemed, expired (refunded)

    def lapsed(self, now: datetime) -> bool:
        return self.status == "pending" and self.expires_at <= now


@dataclass
class Sent:
    """A request that succeeded, kept to be replayed with its key."""

    who: str
    path: str
    body: dict[str, Any] | None
    key: str
    status: int
    answer: Any


@dataclass
class Model:
    now: datetime
    balances: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PEOPLE, 0))
    transfers: list[tuple[datetime, str, int]] = field(default_factory=list)
    charges: list[ModelCharge] = field(default_factory=list)
    gifts: list[ModelGift] = field(default_factory=list)
    postings: Counter[str] = field(default_factory=Counter)
    sent: list[Sent] = field(default_factory=list)

    def sent_in_window(self, sender: str) -> int:
        """Transfers and gifts of credit of the last 24 hours: one daily limit for both.

        Every gift of credit given in the window counts, whatever became of it since."""
        transferred = sum(a for t, s, a in self.transfers if s == sender and t > self.now - WINDOW)
        gifted = sum(
            g.amount
            for g in self.gifts
            if g.giver == sender and g.kind == "amount" and g.given_at > self.now - WINDOW
        )
        return transferred + gifted


def _expect(response: TestResponse, status: int, code: str | None = None) -> dict[str, Any]:
    body = response.get_json(force=True, silent=True)
    assert response.status_code == status, (response.status_code, body)
    if code is not None:
        assert body["code"] == code, body
    return body


def _expect_one_of(response: TestResponse, outcomes: set[tuple[int, str]]) -> None:
    body = response.get_json(force=True, silent=True) or {}
    assert (response.status_code, body.get("code")) in outcomes, (response.status_code, body)


def _make_machine(app: Flask, reset: Any) -> type[RuleBasedStateMachine]:
    class WalletMachine(RuleBasedStateMachine):
        @initialize(funds=st.lists(st.integers(500, 10_000) | st.just(0), min_size=3, max_size=3))
        def open_the_shop(self, funds: list[int]) -> None:
            from wallet_api.clock import clock

            reset()
            clock.freeze(MORNING)
            self.api = ApiClient(app.test_client())
            api = self.api
            self.admin = api.admin()
            self.store = add_store(api, self.admin)
            self.scanner: Scanner = add_scanner(api, self.admin, self.store["id"])
            self.staff = api.register_with_role("staff", "Bas")
            add_staff(api, self.admin, self.store["id"], self.staff)
            self.flat_white = add_product(api, self.admin, "Flat White")
            self.people: dict[str, Person] = {n: api.register(n.title()) for n in PEOPLE}
            for i, a in enumerate(PEOPLE):
                for b in PEOPLE[i + 1 :]:
                    befriend(api, self.people[a], self.people[b])
            self.model = Model(now=MORNING)
            for name, amount in zip(PEOPLE, funds, strict=True):
                if amount:
                    self.top_up(name, amount)

        # --- helpers ----------------------------------------------------------------------

        def _auth(self, who: str) -> Person | str:
            if who == "scanner":
                return self.scanner.token
            if who == "staff":
                return self.staff
            return self.people[who]

        def _send(
            self, who: str, path: str, body: dict[str, Any] | None
        ) -> tuple[TestResponse, str]:
            key = uuid.uuid4().hex
            response = self.api.post(path, body, as_=self._auth(who), idem=key)
            if 200 <= response.status_code < 300:
                self.model.sent.append(
                    Sent(who, path, body, key, response.status_code, response.get_json())
                )
            return response, key

        def _pick(self, items: list[Any], index: int) -> Any:
            return items[index % len(items)]

        def _pending(self) -> list[ModelGift]:
            return [g for g in self.model.gifts if g.status == "pending"]

        # --- top-ups ----------------------------------------------------------------------

        @rule(
            who=st.sampled_from(PEOPLE),
            amount=st.one_of(st.integers(500, 8_000), st.just(SANDBOX_DECLINES)),
        )
        def top_up(self, who: str, amount: int) -> None:
            response, _ = self._send(who, "/v1/wallet/top-ups", {"amount": amount})
            if self.model.balances[who] + amount > MAX_BALANCE:
                _expect(response, 422, "balance_limit_exceeded")
                return
            body = _expect(response, 201)
            if amount == SANDBOX_DECLINES:
                assert body["status"] == "failed", body
                return
            assert body["status"] == "succeeded", body
            self.model.balances[who] += amount
            self.model.postings["top_up"] += 1

        # --- at the till ------------------------------------------------------------------

        @rule(who=st.sampled_from(PEOPLE), amount=st.integers(1, 4_000))
        def charge(self, who: str, amount: int) -> None:
            code = self.api.post("/v1/wallet/pay-codes", as_=self.people[who])
            code = _expect(code, 201)["code"]
            response, _ = self._send("scanner", "/v1/charges", {"code": code, "amount": amount})
            if amount > self.model.balances[who]:
                body = _expect(response, 402, "insufficient_funds")
                assert body["balance"] == self.model.balances[who]
                return
            body = _expect(response, 201)
            self.model.balances[who] -= amount
            assert body["balance"] == self.model.balances[who]
            self.model.charges.append(ModelCharge(body["charge"]["id"], who, amount))
            self.model.postings["charge"] += 1

        @precondition(lambda self: self.model.charges)
        @rule(
            index=st.integers(0, 1_000),
            how=st.sampled_from(["part", "all", "too_much"]),
            extra=st.integers(1, 500),
        )
        def refund(self, index: int, how: str, extra: int) -> None:
            charge: ModelCharge = self._pick(self.model.charges, index)
            left = charge.refundable
            if how == "too_much" or left == 0:
                amount = left + extra
            elif how == "all":
                amount = left
            else:
                amount = max(1, left * extra // 1_000)
            path = f"/v1/charges/{charge.id}/refunds"
            response, _ = self._send("staff", path, {"amount": amount, "reason": "Wrong milk"})
            if amount > left:
                body = _expect(response, 422, "refund_exceeds_charge")
                assert body["refundable"] == left
                return
            _expect(response, 201)
            charge.refunded += amount
            self.model.balances[charge.payer] += amount  # refunds ignore the maximum balance
            self.model.postings["refund"] += 1

        # --- friends ----------------------------------------------------------------------

        @rule(
            pair=st.permutations(PEOPLE).map(lambda p: p[:2]),
            amount=st.integers(1, 900),
        )
        def transfer(self, pair: tuple[str, str], amount: int) -> None:
            sender, recipient = pair
            to = self.people[recipient].id
            body = {"to": to, "amount": amount, "message": ""}
            response, _ = self._send(sender, "/v1/wallet/transfers", body)
            model = self.model
            used = model.sent_in_window(sender)
            if used + amount > DAILY_LIMIT:
                problem = _expect(response, 422, "daily_transfer_limit_exceeded")
                assert problem["remaining"] == max(DAILY_LIMIT - used, 0)
                return
            short = amount > model.balances[sender]
            full = model.balances[recipient] + amount > MAX_BALANCE
            if short or full:
                # Both wallets are checked in the ledger's order: either refusal may come first.
                outcomes = set()
                if short:
                    outcomes.add((402, "insufficient_funds"))
                if full:
                    outcomes.add((422, "balance_limit_exceeded"))
                _expect_one_of(response, outcomes)
                return
            answer = _expect(response, 201)
            model.balances[sender] -= amount
            model.balances[recipient] += amount
            assert answer["balance"] == model.balances[sender]
            model.transfers.append((model.now, sender, amount))
            model.postings["transfer"] += 1

        @rule(pair=st.permutations(PEOPLE).map(lambda p: p[:2]), extra=st.integers(1, 300))
        def transfer_over_the_daily_limit(self, pair: tuple[str, str], extra: int) -> None:
            """Just over what is left of the day's limit: refused, whatever the balance."""
            left = DAILY_LIMIT - self.model.sent_in_window(pair[0])
            self.transfer(pair, left + extra)

        @rule(who=st.sampled_from(PEOPLE), extra=st.integers(1, 300))
        def charge_more_than_the_balance(self, who: str, extra: int) -> None:
            self.charge(who, self.model.balances[who] + extra)

        # --- gifts ------------------------------------------------------------------------

        @rule(
            pair=st.permutations(PEOPLE).map(lambda p: p[:2]),
            amount=st.integers(1, 900),
        )
        def give_credit(self, pair: tuple[str, str], amount: int) -> None:
            giver, recipient = pair
            body = {"handle": self.people[recipient].handle, "amount": amount, "message": ""}
            response, _ = self._send(giver, "/v1/gifts", body)
            model = self.model
            used = model.sent_in_window(giver)
            if used + amount > DAILY_LIMIT:
                problem = _expect(response, 422, "daily_transfer_limit_exceeded")
                assert problem["remaining"] == max(DAILY_LIMIT - used, 0)
                return
            if amount > model.balances[giver]:
                _expect(response, 402, "insufficient_funds")
                return
            gift = _expect(response, 201)
            model.balances[giver] -= amount
            model.gifts.append(
                ModelGift(
                    gift["id"], giver, recipient, "amount", amount, model.now, model.now + GIFT_TTL
                )
            )
            model.postings["gift"] += 1

        @rule(pair=st.permutations(PEOPLE).map(lambda p: p[:2]), extra=st.integers(1, 300))
        def give_credit_over_the_daily_limit(self, pair: tuple[str, str], extra: int) -> None:
            """Credit given counts against the same limit as credit sent."""
            giver = pair[0]
            model = self.model
            used = model.sent_in_window(giver)
            self.give_credit(pair, max(DAILY_LIMIT - used, 0) + extra)

        @rule(pair=st.permutations(PEOPLE).map(lambda p: p[:2]), size=st.sampled_from("SML"))
        def give_a_drink(self, pair: tuple[str, str], size: str) -> None:
            giver, recipient = pair
            item = {"product_id": self.flat_white["id"], "size": size}
            body = {"handle": self.people[recipient].handle, "item": item, "message": ""}
            response, _ = self._send(giver, "/v1/gifts", body)
            price = FLAT_WHITE[size]
            model = self.model
            if price > model.balances[giver]:
                _expect(response, 402, "insufficient_funds")
                return
            gift = _expect(response, 201)
            assert gift["amount"] == price
            model.balances[giver] -= price
            code = gift_code(self.api, self.people[recipient], gift["id"])
            model.gifts.append(
                ModelGift(
                    gift["id"],
                    giver,
                    recipient,
                    "item",
                    price,
                    model.now,
                    model.now + GIFT_TTL,
                    code,
                )
            )
            model.postings["gift"] += 1

        def _settled_error(self, gift: ModelGift) -> tuple[int, str]:
            if gift.status == "expired" or gift.lapsed(self.model.now):
                return 410, "gift_expired"
            return 409, f"gift_{gift.status}"

        @precondition(lambda self: self.model.gifts)
        @rule(index=st.integers(0, 1_000))
        def accept(self, index: int) -> None:
            gift: ModelGift = self._pick(self.model.gifts, index)
            path = f"/v1/gifts/{gift.id}/accept"
            response, _ = self._send(gift.recipient, path, None)
            if gift.kind == "item":
                _expect(response, 409, "gift_is_a_drink")
                return
            if gift.status != "pending" or gift.lapsed(self.model.now):
                _expect(response, *self._settled_error(gift))
                return
            if self.model.balances[gift.recipient] + gift.amount > MAX_BALANCE:
                _expect(response, 422, "balance_limit_exceeded")
                return
            _expect(response, 200)
            gift.status = "accepted"
            self.model.balances[gift.recipient] += gift.amount
            self.model.postings["gift_credit"] += 1

        @precondition(lambda self: self.model.gifts)
        @rule(index=st.integers(0, 1_000))
        def decline(self, index: int) -> None:
            gift: ModelGift = self._pick(self.model.gifts, index)
            response, _ = self._send(gift.recipient, f"/v1/gifts/{gift.id}/decline", None)
            if gift.status != "pending" or gift.lapsed(self.model.now):
                _expect(response, *self._settled_error(gift))
                return
            _expect(response, 200)
            gift.status = "declined"
            self.model.balances[gift.giver] += gift.amount
            self.model.postings["gift_refund"] += 1

        @precondition(lambda self: any(g.kind == "item" for g in self.model.gifts))
        @rule(index=st.integers(0, 1_000))
        def redeem_at_the_till(self, index: int) -> None:
            drinks = [g for g in self.model.gifts if g.kind == "item"]
            gift: ModelGift = self._pick(drinks, index)
            response, _ = self._send("scanner", "/v1/charges", {"code": gift.code})
            if gift.status != "pending" or gift.lapsed(self.model.now):
                _expect(response, *self._settled_error(gift))
                return
            body = _expect(response, 201)
            assert body["charge"]["amount"] == gift.amount
            assert body["balance"] is None  # no wallet pays at the till
            gift.status = "redeemed"
            # A refund of the drink goes back to the wallet that paid for it: the giver's.
            self.model.charges.append(ModelCharge(body["charge"]["id"], gift.giver, gift.amount))
            self.model.postings["gift_redemption"] += 1

        @precondition(lambda self: self._pending())
        @rule(index=st.integers(0, 1_000))
        def let_a_gift_lapse(self, index: int) -> None:
            """Its expiry set in the past, as if its 90 days were up."""
            from sqlalchemy import update

            from wallet_api.extensions import db
            from wallet_api.gifts.models import Gift

            gift: ModelGift = self._pick(self._pending(), index)
            gift.expires_at = self.model.now - timedelta(minutes=1)
            with app.app_context():
                db.session.execute(
                    update(Gift)
                    .where(Gift.id == uuid.UUID(gift.id))
                    .values(expires_at=gift.expires_at)
                )
                db.session.commit()

        @rule()
        def run_the_expiry_job(self) -> None:
            output = expire_gifts(app)
            lapsed = [g for g in self.model.gifts if g.lapsed(self.model.now)]
            assert f"gifts expire: {len(lapsed)} refunded" in output, output
            for gift in lapsed:
                assert f"refunded gift {gift.id}:" in output, output
                gift.status = "expired"
                self.model.balances[gift.giver] += gift.amount
                self.model.postings["gift_refund"] += 1

        @rule(hours=st.integers(1, 30))
        def time_passes(self, hours: int) -> None:
            from wallet_api.clock import clock

            clock.advance(timedelta(hours=hours))
            self.model.now += timedelta(hours=hours)
            # New tokens for the new time: people by their refresh tokens (no password hash
            # to verify, which would dominate the run), the till by its device secret.
            sign_in_again(self.api, self.staff, *self.people.values())
            self.scanner.token = device_token(self.api, self.scanner.device_id, self.scanner.secret)

        # --- retries ----------------------------------------------------------------------

        @precondition(lambda self: self.model.sent)
        @rule(index=st.integers(0, 1_000))
        def retry_with_the_same_key(self, index: int) -> None:
            sent: Sent = self._pick(self.model.sent, index)
            response = self.api.post(sent.path, sent.body, as_=self._auth(sent.who), idem=sent.key)
            assert response.status_code == sent.status, response.get_json()
            assert response.get_json() == sent.answer
            assert response.headers["Idempotent-Replayed"] == "true"

        @precondition(lambda self: any(s.body and "amount" in s.body for s in self.model.sent))
        @rule(index=st.integers(0, 1_000))
        def reuse_a_key_for_another_amount(self, index: int) -> None:
            sent: Sent = self._pick(
                [s for s in self.model.sent if s.body and "amount" in s.body], index
            )
            body = {**sent.body, "amount": sent.body["amount"] + 1}
            response = self.api.post(sent.path, body, as_=self._auth(sent.who), idem=sent.key)
            _expect(response, 422, "idempotency_key_reused")

        # --- after every step -------------------------------------------------------------

        @invariant()
        def balances_match_the_model(self) -> None:
            for name, person in self.people.items():
                response = self.api.get("/v1/wallet", as_=person)
                assert _expect(response, 200)["balance"] == self.model.balances[name], name

        @invariant()
        def escrow_holds_the_unsettled_gifts(self) -> None:
            unsettled = sum(g.amount for g in self._pending())
            assert escrow_balance(app) == unsettled

        @invariant()
        def the_ledger_holds_what_the_model_posted(self) -> None:
            from sqlalchemy import func, select

            from wallet_api.extensions import db
            from wallet_api.ledger.models import LedgerTransaction
            from wallet_api.ledger.service import verify_ledger

            with app.app_context():
                rows = db.session.execute(
                    select(LedgerTransaction.kind, func.count())
                    .where(LedgerTransaction.kind.in_(MONEY_KINDS))
                    .group_by(LedgerTransaction.kind)
                )
                posted = {kind: n for kind, n in rows}
                broken = [c for c in verify_ledger() if not c.ok]
            assert posted == {k: n for k, n in self.model.postings.items() if n}
            assert not broken, [(c.name, c.violations) for c in broken]

    return WalletMachine


@pytest.mark.slow
def test_random_sequences_of_money_movements_match_the_model(app, reset_database, monkeypatch):
    monkeypatch.setitem(app.config, "WALLET_MAX_BALANCE", MAX_BALANCE)
    monkeypatch.setitem(app.config, "WALLET_DAILY_TRANSFER_LIMIT", DAILY_LIMIT)
    machine = _make_machine(app, reset_database)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: bounded CI time
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
