"""charges: drinker_id, whose drink it was (for "the usual"), apart from who paid

Revision ID: 0010_charge_drinker
Revises: 0009_gifts
Create Date: 2026-11-25 15:03:36.170548

Every migration stays compatible with the code of the previous release (add columns as
nullable or with a server default, drop only what that code no longer reads), takes short
locks on PostgreSQL, and runs on SQLite through batch mode.

The new column is nullable (a gift redeemed from a claim link by someone without an account
has no drinker), so adding it is instant on PostgreSQL. Existing rows are filled from what
the charge already records: the payer for "pay" and "reward", the allowance's friend for
"allowance", the gift's recipient for "gift".
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_charge_drinker"
down_revision = "0009_gifts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.add_column(sa.Column("drinker_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            "ix_charges_drinker_id_created_at", ["drinker_id", "created_at"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_charges_drinker_id_users"), "users", ["drinker_id"], ["id"]
        )

    # Plain correlated UPDATEs: the same SQL on SQLite and PostgreSQL.
    op.execute("UPDATE charges SET drinker_id = customer_id WHERE kind IN ('pay', 'reward')")
    op.execute(
        "UPDATE charges SET drinker_id = ("
        " SELECT allowances.grantee_id FROM allowance_uses"
        " JOIN allowances ON allowances.id = allowance_uses.allowance_id"
        " WHERE allowance_uses.charge_id = charges.id"
        ") WHERE kind = 'allowance'"
    )
    op.execute(
        "UPDATE charges SET drinker_id = ("
        " SELECT gifts.recipient_id FROM gifts WHERE gifts.id = charges.code_source_id"
        ") WHERE kind = 'gift'"
    )


def downgrade() -> None:
    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_charges_drinker_id_users"), type_="foreignkey")
        batch_op.drop_index("ix_charges_drinker_id_created_at")
        batch_op.drop_column("drinker_id")
