"""gifts: gifts and claim links, allowances and their uses, pay codes drawing on an allowance

Revision ID: 0009_gifts
Revises: 0008_loyalty_wiring
Create Date: 2026-11-25 12:27:32.888214

Every migration stays compatible with the code of the previous release (add columns as
nullable or with a server default, drop only what that code no longer reads), takes short
locks on PostgreSQL, and runs on SQLite through batch mode.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_gifts"
down_revision = "0008_loyalty_wiring"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "allowances",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("grantee_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "period",
            sa.Enum("day", "week", "month", name="period", native_enum=False, length=8),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_allowances_amount_positive")),
        sa.CheckConstraint("owner_id <> grantee_id", name=op.f("ck_allowances_not_to_self")),
        sa.ForeignKeyConstraint(
            ["grantee_id"], ["users.id"], name=op.f("fk_allowances_grantee_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_allowances_owner_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allowances")),
    )
    with op.batch_alter_table("allowances", schema=None) as batch_op:
        batch_op.create_index("ix_allowances_grantee_id", ["grantee_id"], unique=False)
        batch_op.create_index(
            "uq_allowances_live_pair",
            ["owner_id", "grantee_id"],
            unique=True,
            postgresql_where=sa.text("revoked_at IS NULL"),
            sqlite_where=sa.text("revoked_at IS NULL"),
        )

    op.create_table(
        "allowance_uses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("allowance_id", sa.Uuid(), nullable=False),
        sa.Column("charge_id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("store_name", sa.String(length=120), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_allowance_uses_amount_positive")),
        sa.ForeignKeyConstraint(
            ["allowance_id"],
            ["allowances.id"],
            name=op.f("fk_allowance_uses_allowance_id_allowances"),
        ),
        sa.ForeignKeyConstraint(
            ["charge_id"], ["charges.id"], name=op.f("fk_allowance_uses_charge_id_charges")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_allowance_uses_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allowance_uses")),
        sa.UniqueConstraint("charge_id", name=op.f("uq_allowance_uses_charge_id")),
    )
    with op.batch_alter_table("allowance_uses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_allowance_uses_allowance_id_created_at",
            ["allowance_id", "created_at"],
            unique=False,
        )

    op.create_table(
        "gifts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("giver_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=True),
        sa.Column(
            "address_kind",
            sa.Enum("user", "email", "phone", name="addresskind", native_enum=False, length=8),
            nullable=False,
        ),
        sa.Column("address", sa.String(length=254), nullable=True),
        sa.Column(
            "kind",
            sa.Enum("item", "amount", name="giftkind", native_enum=False, length=8),
            nullable=False,
        ),
        sa.Column("item", sa.JSON(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("message", sa.String(length=280), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "redeemed",
                "accepted",
                "declined",
                "expired",
                name="giftstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("code_generation", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("retired_code_hash", sa.String(length=64), nullable=True),
        sa.Column("claim_token_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("thanked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("funding_transaction_id", sa.Uuid(), nullable=False),
        sa.Column("settlement_transaction_id", sa.Uuid(), nullable=True),
        sa.Column("charge_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_gifts_amount_positive")),
        sa.CheckConstraint("giver_id <> recipient_id", name=op.f("ck_gifts_not_to_self")),
        sa.ForeignKeyConstraint(
            ["charge_id"], ["charges.id"], name=op.f("fk_gifts_charge_id_charges")
        ),
        sa.ForeignKeyConstraint(["giver_id"], ["users.id"], name=op.f("fk_gifts_giver_id_users")),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["users.id"], name=op.f("fk_gifts_recipient_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gifts")),
        sa.UniqueConstraint("claim_token_hash", name=op.f("uq_gifts_claim_token_hash")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_gifts_code_hash")),
        sa.UniqueConstraint("retired_code_hash", name=op.f("uq_gifts_retired_code_hash")),
    )
    with op.batch_alter_table("gifts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_gifts_giver_id_created_at", ["giver_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_gifts_recipient_id_created_at", ["recipient_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_gifts_status_expires_at", ["status", "expires_at"], unique=False)

    # Nullable and empty: existing pay codes pay from their owner's wallet, as before.
    with op.batch_alter_table("pay_codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("allowance_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_pay_codes_allowance_id_allowances"),
            "allowances",
            ["allowance_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("pay_codes", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_pay_codes_allowance_id_allowances"), type_="foreignkey"
        )
        batch_op.drop_column("allowance_id")

    with op.batch_alter_table("gifts", schema=None) as batch_op:
        batch_op.drop_index("ix_gifts_status_expires_at")
        batch_op.drop_index("ix_gifts_recipient_id_created_at")
        batch_op.drop_index("ix_gifts_giver_id_created_at")

    op.drop_table("gifts")
    with op.batch_alter_table("allowance_uses", schema=None) as batch_op:
        batch_op.drop_index("ix_allowance_uses_allowance_id_created_at")

    op.drop_table("allowance_uses")
    with op.batch_alter_table("allowances", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_allowances_live_pair",
            postgresql_where=sa.text("revoked_at IS NULL"),
            sqlite_where=sa.text("revoked_at IS NULL"),
        )
        batch_op.drop_index("ix_allowances_grantee_id")

    op.drop_table("allowances")
