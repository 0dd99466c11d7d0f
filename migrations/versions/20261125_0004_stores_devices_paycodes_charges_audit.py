"""stores: stores, staff, scanner devices, charges, refunds, pay codes, offline keys, audit events

Revision ID: 0004_stores
Revises: 0003_social
Create Date: 2026-11-25 11:54:12.553793

Every migration stays compatible with the code of the previous release (add columns as
nullable or with a server default, drop only what that code no longer reads), takes short
locks on PostgreSQL, and runs on SQLite through batch mode.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_stores"
down_revision = "0003_social"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tag", sa.String(length=80), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("subject", sa.String(length=120), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index("ix_audit_events_subject_id", ["subject", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_tag"), ["tag"], unique=False)

    op.create_table(
        "stores",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stores")),
    )
    op.create_table(
        "offline_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("last_counter", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_offline_keys_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offline_keys")),
        sa.UniqueConstraint("key_id", name=op.f("uq_offline_keys_key_id")),
    )
    with op.batch_alter_table("offline_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offline_keys_user_id"), ["user_id"], unique=False)

    op.create_table(
        "pay_codes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_pay_codes_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pay_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_pay_codes_code_hash")),
    )
    with op.batch_alter_table("pay_codes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pay_codes_user_id_created_at", ["user_id", "created_at"], unique=False
        )

    op.create_table(
        "store_devices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_store_devices_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_devices")),
    )
    with op.batch_alter_table("store_devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_store_devices_store_id"), ["store_id"], unique=False)

    op.create_table(
        "store_staff",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_store_staff_store_id_stores")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_store_staff_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_staff")),
        sa.UniqueConstraint("store_id", "user_id", name="uq_store_staff_store_user"),
    )
    with op.batch_alter_table("store_staff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_store_staff_user_id"), ["user_id"], unique=False)

    op.create_table(
        "charges",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("code_source", sa.String(length=24), nullable=False),
        sa.Column("code_source_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=True),
        sa.Column("staff_user_id", sa.Uuid(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("refunded_amount", sa.BigInteger(), nullable=False),
        sa.Column("ledger_transaction_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_charges_amount_positive")),
        sa.CheckConstraint(
            "refunded_amount >= 0 AND refunded_amount <= amount",
            name=op.f("ck_charges_refunds_within_amount"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["users.id"], name=op.f("fk_charges_customer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["device_id"], ["store_devices.id"], name=op.f("fk_charges_device_id_store_devices")
        ),
        sa.ForeignKeyConstraint(
            ["staff_user_id"], ["users.id"], name=op.f("fk_charges_staff_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_charges_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_charges")),
    )
    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.create_index(
            "ix_charges_customer_id_created_at", ["customer_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_charges_store_id_created_at", ["store_id", "created_at"], unique=False
        )

    op.create_table(
        "charge_lines",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("charge_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("size", sa.String(length=2), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_charge_lines_quantity_positive")),
        sa.CheckConstraint("unit_price >= 0", name=op.f("ck_charge_lines_unit_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["charge_id"], ["charges.id"], name=op.f("fk_charge_lines_charge_id_charges")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_charge_lines")),
    )
    with op.batch_alter_table("charge_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_charge_lines_charge_id"), ["charge_id"], unique=False)

    op.create_table(
        "refunds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("charge_id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("ledger_transaction_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_refunds_amount_positive")),
        sa.ForeignKeyConstraint(
            ["charge_id"], ["charges.id"], name=op.f("fk_refunds_charge_id_charges")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_refunds_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refunds_charge_id"), ["charge_id"], unique=False)
        batch_op.create_index(
            "ix_refunds_store_id_created_at", ["store_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index("ix_refunds_store_id_created_at")
        batch_op.drop_index(batch_op.f("ix_refunds_charge_id"))

    op.drop_table("refunds")
    with op.batch_alter_table("charge_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_charge_lines_charge_id"))

    op.drop_table("charge_lines")
    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.drop_index("ix_charges_store_id_created_at")
        batch_op.drop_index("ix_charges_customer_id_created_at")

    op.drop_table("charges")
    with op.batch_alter_table("store_staff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_store_staff_user_id"))

    op.drop_table("store_staff")
    with op.batch_alter_table("store_devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_store_devices_store_id"))

    op.drop_table("store_devices")
    with op.batch_alter_table("pay_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_pay_codes_user_id_created_at")

    op.drop_table("pay_codes")
    with op.batch_alter_table("offline_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offline_keys_user_id"))

    op.drop_table("offline_keys")
    op.drop_table("stores")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_tag"))
        batch_op.drop_index("ix_audit_events_subject_id")
        batch_op.drop_index(batch_op.f("ix_audit_events_actor_id"))

    op.drop_table("audit_events")
