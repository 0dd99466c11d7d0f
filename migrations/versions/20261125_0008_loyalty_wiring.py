"""loyalty wired into charges, refunds, feedback, goodwill and the notifications inbox

Revision ID: 0008_loyalty_wiring
Revises: 0007_blends
Create Date: 2026-11-25 12:40:15.882308

Every migration stays compatible with the code of the previous release (add columns as
nullable or with a server default, drop only what that code no longer reads), takes short
locks on PostgreSQL, and runs on SQLite through batch mode.

* charges: ``discount``, ``offers`` (receipt lines) and ``points_earned``, with server
  defaults so the previous release keeps inserting; ``amount`` may now be 0 (a reward
  redemption, or a charge fully paid by an offer) while ``amount + discount`` stays > 0.
* refunds: ``points_reversed``; loyalty_goodwill: ``charge_id`` (goodwill by charge).
* charge_feedback: one rating per charge.
* loyalty_outbox is dropped: loyalty's messages go to ``notifications`` now. Nothing was
  ever delivered from it, and the previous release only wrote to it, so rows are dropped.

Downgrade restores ``amount > 0`` and so refuses while charges of amount 0 exist.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_loyalty_wiring"
down_revision = "0007_blends"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "charge_feedback",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("charge_id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("comment", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("stars BETWEEN 1 AND 5", name=op.f("ck_charge_feedback_stars_1_to_5")),
        sa.ForeignKeyConstraint(
            ["charge_id"], ["charges.id"], name=op.f("fk_charge_feedback_charge_id_charges")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_charge_feedback_store_id_stores")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_charge_feedback_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_charge_feedback")),
        sa.UniqueConstraint("charge_id", name=op.f("uq_charge_feedback_charge_id")),
    )
    with op.batch_alter_table("charge_feedback", schema=None) as batch_op:
        batch_op.create_index(
            "ix_charge_feedback_store_id_created_at", ["store_id", "created_at"], unique=False
        )

    with op.batch_alter_table("loyalty_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loyalty_outbox_user_id"))
    op.drop_table("loyalty_outbox")

    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("discount", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("offers", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
        )
        batch_op.add_column(
            sa.Column("points_earned", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.drop_constraint(op.f("ck_charges_amount_positive"), type_="check")
        batch_op.create_check_constraint(op.f("ck_charges_amount_not_negative"), "amount >= 0")
        batch_op.create_check_constraint(op.f("ck_charges_discount_not_negative"), "discount >= 0")
        batch_op.create_check_constraint(
            op.f("ck_charges_subtotal_positive"), "amount + discount > 0"
        )
        batch_op.create_check_constraint(
            op.f("ck_charges_points_earned_not_negative"), "points_earned >= 0"
        )

    with op.batch_alter_table("loyalty_goodwill", schema=None) as batch_op:
        batch_op.add_column(sa.Column("charge_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_loyalty_goodwill_charge_id"), ["charge_id"], unique=False
        )

    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("points_reversed", sa.BigInteger(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_column("points_reversed")

    with op.batch_alter_table("loyalty_goodwill", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loyalty_goodwill_charge_id"))
        batch_op.drop_column("charge_id")

    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_charges_points_earned_not_negative"), type_="check")
        batch_op.drop_constraint(op.f("ck_charges_subtotal_positive"), type_="check")
        batch_op.drop_constraint(op.f("ck_charges_discount_not_negative"), type_="check")
        batch_op.drop_constraint(op.f("ck_charges_amount_not_negative"), type_="check")
        batch_op.create_check_constraint(op.f("ck_charges_amount_positive"), "amount > 0")
        batch_op.drop_column("points_earned")
        batch_op.drop_column("offers")
        batch_op.drop_column("discount")

    op.create_table(
        "loyalty_outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.String(length=1000), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_loyalty_outbox_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_outbox")),
    )
    with op.batch_alter_table("loyalty_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loyalty_outbox_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("charge_feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_charge_feedback_store_id_created_at")
    op.drop_table("charge_feedback")
