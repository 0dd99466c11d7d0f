"""wallet top-ups and webhook events

Revision ID: 0006_wallet
Revises: 0005_loyalty
Create Date: 2026-11-25 11:46:06.299568

Every migration stays compatible with the code of the previous release (add columns as
nullable or with a server default, drop only what that code no longer reads), takes short
locks on PostgreSQL, and runs on SQLite through batch mode.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_wallet"
down_revision = "0005_loyalty"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "wallet_top_ups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "succeeded",
                "failed",
                "refund_due",
                name="topupstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("provider_ref", sa.String(length=255), nullable=True),
        sa.Column("client_secret", sa.String(length=255), nullable=True),
        sa.Column("failure_reason", sa.String(length=255), nullable=True),
        sa.Column("transaction_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_wallet_top_ups_amount_positive")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_wallet_top_ups_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_top_ups")),
        sa.UniqueConstraint("provider", "provider_ref", name="uq_wallet_top_ups_provider_ref"),
    )
    with op.batch_alter_table("wallet_top_ups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wallet_top_ups_user_id"), ["user_id"], unique=False)

    op.create_table(
        "wallet_webhook_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("top_up_id", sa.Uuid(), nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["top_up_id"],
            ["wallet_top_ups.id"],
            name=op.f("fk_wallet_webhook_events_top_up_id_wallet_top_ups"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_webhook_events")),
        sa.UniqueConstraint("provider", "event_id", name="uq_wallet_webhook_events_event"),
    )


def downgrade() -> None:

    op.drop_table("wallet_webhook_events")
    with op.batch_alter_table("wallet_top_ups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wallet_top_ups_user_id"))

    op.drop_table("wallet_top_ups")
