"""loyalty not farmable: the apology cool-down's index, birthday treats once a year

Revision ID: 0012_loyalty_not_farmable
Revises: 0010_charge_drinker
Create Date: 2026-12-07 10:00:00.000000

Every migration stays compatible with the code of the previous release (add columns as
nullable or with a server default, drop only what that code no longer reads), takes short
locks on PostgreSQL, and runs on SQLite through batch mode.

* loyalty_apologies: an index on (user_id, created_at), for "one apology credit per person
  per cool-down". The table is small (one row per 1-2 star rating); building the index
  takes its lock for that long.
* loyalty_birthday_treats: new, one row per person and year under a unique constraint, so
  concurrent or repeated runs of the birthday job give one treat.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_loyalty_not_farmable"
down_revision = "0010_charge_drinker"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("loyalty_apologies", schema=None) as batch_op:
        batch_op.create_index(
            "ix_loyalty_apologies_user_id_created_at", ["user_id", "created_at"], unique=False
        )

    op.create_table(
        "loyalty_birthday_treats",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("celebrated_on", sa.Date(), nullable=False),
        sa.Column("reward_code_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reward_code_id"],
            ["loyalty_reward_codes.id"],
            name=op.f("fk_loyalty_birthday_treats_reward_code_id_loyalty_reward_codes"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_loyalty_birthday_treats_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_birthday_treats")),
        sa.UniqueConstraint("user_id", "year", name="uq_loyalty_birthday_treats_user_year"),
    )


def downgrade() -> None:
    op.drop_table("loyalty_birthday_treats")
    with op.batch_alter_table("loyalty_apologies", schema=None) as batch_op:
        batch_op.drop_index("ix_loyalty_apologies_user_id_created_at")
