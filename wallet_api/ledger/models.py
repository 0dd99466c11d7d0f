"""Accounts, transactions and entries of the double-entry ledger.

Sign convention: an entry's ``amount`` is what flows *into* its account (credit > 0,
debit < 0). Every transaction's entries sum to zero per unit.

Customer accounts carry a cached ``balance`` (kept under a row lock, never negative).
System accounts (store sales, gift escrow, promotions, top-up clearing) have no cached
balance: many customers post to them at once, and a cached balance would make every one
of those transactions queue on one row lock. Their balance is the sum of their entries.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wallet_api.extensions.database import (
    BigIntKey,
    Model,
    UTCDateTime,
    bigint_pk,
    created_at,
    str_enum,
)


class AccountKind(enum.StrEnum):
    # Customer-owned: cached balance, never below zero.
    WALLET = "wallet"
    POINTS = "points"
    # System-owned: balance is the sum of entries and may be negative.
    STORE_SALES = "store_sales"
    STORE_REFUNDS = "store_refunds"
    GIFT_ESCROW = "gift_escrow"
    TOPUP_CLEARING = "topup_clearing"
    PROMOTIONS = "promotions"
    POINTS_ISSUED = "points_issued"


CUSTOMER_KINDS = frozenset({AccountKind.WALLET, AccountKind.POINTS})
POINTS_UNIT = "PTS"


class Account(Model):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_not_negative"),
        CheckConstraint(
            "(kind IN ('wallet', 'points')) = (balance IS NOT NULL)",
            name="cached_balance_only_for_customers",
        ),
        # Ids are never reused, on SQLite too (PostgreSQL sequences never reuse): the ledger
        # caches system account ids per process, and an id from a rolled-back insert must not
        # come back as another account.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[bigint_pk]
    # A readable unique name: "wallet:<user>", "store_sales:<store>", "gift_escrow".
    key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[AccountKind] = mapped_column(str_enum(AccountKind))
    unit: Mapped[str] = mapped_column(String(3))
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"), index=True)
    store_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    balance: Mapped[int | None] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    is_closed: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[created_at]

    @property
    def is_customer(self) -> bool:
        return self.kind in CUSTOMER_KINDS


class LedgerTransaction(Model):
    __tablename__ = "ledger_transactions"

    id: Mapped[bigint_pk]
    public_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    # What happened, for people: "top_up", "charge", "refund", "transfer", "gift", ...
    kind: Mapped[str] = mapped_column(String(40), index=True)
    memo: Mapped[str] = mapped_column(String(500), default="")
    # Context for history and reports: store, counterparty, items, charge id, ...
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # When it happened in the world (a webhook may arrive later than the payment).
    event_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[created_at]

    entries: Mapped[list[LedgerEntry]] = relationship(
        back_populates="transaction", order_by="LedgerEntry.id", lazy="selectin"
    )

    # Not a column: set by the posting that wrote the transaction, each customer account's
    # balance after it (by account id), so that the caller needs no statement to answer
    # with it. Empty on a transaction read from the database (``balance_after`` of its
    # entries says it there).
    balances_after: ClassVar[Mapping[int, int]] = MappingProxyType({})


class LedgerEntry(Model):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        # History of one account, newest first.
        Index("ix_ledger_entries_account_id_id", "account_id", "id"),
    )

    id: Mapped[bigint_pk]
    transaction_id: Mapped[int] = mapped_column(
        BigIntKey, ForeignKey("ledger_transactions.id"), index=True
    )
    account_id: Mapped[int] = mapped_column(BigIntKey, ForeignKey("ledger_accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    # Balance of a customer account right after this entry (None for system accounts).
    balance_after: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[created_at]

    transaction: Mapped[LedgerTransaction] = relationship(back_populates="entries")
