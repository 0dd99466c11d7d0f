"""friend requests, friendships, notifications and transfers

Revision ID: 0003_social
Revises: 0002_catalog
Create Date: 2026-11-25 11:49:08.835696

Every migration stays compatible with the code of the previous release (add columns as
nullable or with a server default, drop only what that code no longer reads), takes short
locks on PostgreSQL, and runs on SQLite through batch mode.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_social"
down_revision = "0002_catalog"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "friend_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("requester_id", sa.Uuid(), nullable=False),
        sa.Column("addressee_id", sa.Uuid(), nullable=True),
        sa.Column("pair_low_id", sa.Uuid(), nullable=True),
        sa.Column("pair_high_id", sa.Uuid(), nullable=True),
        sa.Column(
            "contact_kind",
            sa.Enum("handle", "email", "phone", name="contactkind", native_enum=False, length=8),
            nullable=False,
        ),
        sa.Column("contact", sa.String(length=254), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "accepted",
                "declined",
                "closed",
                name="requeststatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "pair_low_id < pair_high_id", name=op.f("ck_friend_requests_pair_ordered")
        ),
        sa.ForeignKeyConstraint(
            ["addressee_id"], ["users.id"], name=op.f("fk_friend_requests_addressee_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"], ["users.id"], name=op.f("fk_friend_requests_requester_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_friend_requests")),
    )
    op.create_index(
        "ix_friend_requests_addressee_id_created_at",
        "friend_requests",
        ["addressee_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_friend_requests_requester_id_created_at",
        "friend_requests",
        ["requester_id", "created_at"],
        unique=False,
    )
    # Partial unique indexes (both databases support them): at most one pending request per
    # pair of people and per contact a requester typed, whatever the race.
    op.create_index(
        "uq_friend_requests_pending_contact",
        "friend_requests",
        ["requester_id", "contact_kind", "contact"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "uq_friend_requests_pending_pair",
        "friend_requests",
        ["pair_low_id", "pair_high_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )

    op.create_table(
        "friendships",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_low_id", sa.Uuid(), nullable=False),
        sa.Column("user_high_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("user_low_id < user_high_id", name=op.f("ck_friendships_pair_ordered")),
        sa.ForeignKeyConstraint(
            ["user_high_id"], ["users.id"], name=op.f("fk_friendships_user_high_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["user_low_id"], ["users.id"], name=op.f("fk_friendships_user_low_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_friendships")),
        sa.UniqueConstraint("user_low_id", "user_high_id", name="uq_friendships_pair"),
    )
    op.create_index(
        op.f("ix_friendships_user_high_id"), "friendships", ["user_high_id"], unique=False
    )

    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "friend_request",
                "friend_accepted",
                "credit_received",
                "gift_received",
                "gift_thanks",
                "tier_changed",
                "goodwill",
                name="notificationkind",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.String(length=1000), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(
        "ix_notifications_user_id_created_at_id",
        "notifications",
        ["user_id", "created_at", "id"],
        unique=False,
    )

    op.create_table(
        "transfers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("sender_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("message", sa.String(length=140), nullable=False),
        sa.Column("transaction_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_transfers_amount_positive")),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["users.id"], name=op.f("fk_transfers_recipient_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"], ["users.id"], name=op.f("fk_transfers_sender_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_transfers_transaction_id")),
    )
    op.create_index(op.f("ix_transfers_recipient_id"), "transfers", ["recipient_id"], unique=False)
    op.create_index(
        "ix_transfers_sender_id_created_at", "transfers", ["sender_id", "created_at"], unique=False
    )


def downgrade() -> None:
    # Dropping a table drops its indexes.
    for table in ("transfers", "notifications", "friendships", "friend_requests"):
        op.drop_table(table)
