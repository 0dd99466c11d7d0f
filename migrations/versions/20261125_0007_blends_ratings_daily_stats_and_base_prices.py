"""blends, ratings, daily stats; base prices per size

Bases that exist before this migration have no prices per size yet: an admin sets them
(PATCH /v1/catalog/ingredients/{id} with ``prices``) before blends can use them.

Revision ID: 0007_blends
Revises: 0006_wallet
Create Date: 2026-11-25 12:15:38.956298

Every migration stays compatible with the code of the previous release (add columns as
nullable or with a server default, drop only what that code no longer reads), takes short
locks on PostgreSQL, and runs on SQLite through batch mode.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_blends"
down_revision = "0006_wallet"
branch_labels = None
depends_on = None


# The rows the top-10 ranks (wallet_api.blends.models.RANKED), fixed here as of this revision.
RANKED = "visibility = 'public' AND deleted_at IS NULL AND rating_count > 0"


def upgrade() -> None:
    op.create_table(
        "blend_rating_totals",
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("rating_sum", sa.BigInteger(), nullable=False),
        sa.Column("rating_count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("shard", name=op.f("pk_blend_rating_totals")),
    )
    op.create_table(
        "blends",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column(
            "size", sa.Enum("S", "M", "L", name="size", native_enum=False, length=2), nullable=False
        ),
        sa.Column("base_id", sa.Uuid(), nullable=False),
        sa.Column("shots", sa.Integer(), nullable=False),
        sa.Column("milk_id", sa.Uuid(), nullable=True),
        sa.Column("notes", sa.String(length=280), nullable=False),
        sa.Column(
            "visibility",
            sa.Enum(
                "private", "friends", "public", name="visibility", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("copied_from_id", sa.Uuid(), nullable=True),
        sa.Column("origin_id", sa.Uuid(), nullable=True),
        sa.Column("original_creator_id", sa.Uuid(), nullable=True),
        sa.Column("rating_count", sa.Integer(), nullable=False),
        sa.Column("rating_sum", sa.Integer(), nullable=False),
        sa.Column("ref_rating", sa.Double(), nullable=False),
        sa.Column("orders_count", sa.Integer(), nullable=False),
        sa.Column("copies_count", sa.Integer(), nullable=False),
        sa.Column("enjoyed_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "orders_count >= 0 AND copies_count >= 0", name=op.f("ck_blends_counts_not_negative")
        ),
        sa.CheckConstraint(
            "rating_count >= 0 AND rating_sum >= rating_count", name=op.f("ck_blends_rating_totals")
        ),
        sa.CheckConstraint("shots BETWEEN 1 AND 4", name=op.f("ck_blends_shots_range")),
        sa.ForeignKeyConstraint(
            ["base_id"],
            ["catalog_ingredients.id"],
            name=op.f("fk_blends_base_id_catalog_ingredients"),
        ),
        sa.ForeignKeyConstraint(
            ["copied_from_id"], ["blends.id"], name=op.f("fk_blends_copied_from_id_blends")
        ),
        sa.ForeignKeyConstraint(
            ["milk_id"],
            ["catalog_ingredients.id"],
            name=op.f("fk_blends_milk_id_catalog_ingredients"),
        ),
        sa.ForeignKeyConstraint(
            ["origin_id"], ["blends.id"], name=op.f("fk_blends_origin_id_blends")
        ),
        sa.ForeignKeyConstraint(
            ["original_creator_id"], ["users.id"], name=op.f("fk_blends_original_creator_id_users")
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_blends_owner_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blends")),
    )
    op.create_index(
        "ix_blends_owner_created", "blends", ["owner_id", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_blends_ranked",
        "blends",
        ["ref_rating", "rating_count", "rating_sum", "orders_count", "copies_count", "id"],
        unique=False,
        postgresql_where=sa.text(RANKED),
        sqlite_where=sa.text(RANKED),
    )
    op.create_table(
        "catalog_ingredient_prices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("ingredient_id", sa.Uuid(), nullable=False),
        sa.Column(
            "size", sa.Enum("S", "M", "L", name="size", native_enum=False, length=2), nullable=False
        ),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.CheckConstraint("price > 0", name=op.f("ck_catalog_ingredient_prices_price_positive")),
        sa.ForeignKeyConstraint(
            ["ingredient_id"],
            ["catalog_ingredients.id"],
            name=op.f("fk_catalog_ingredient_prices_ingredient_id_catalog_ingredients"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_ingredient_prices")),
        sa.UniqueConstraint(
            "ingredient_id", "size", name="uq_catalog_ingredient_prices_ingredient_size"
        ),
    )
    op.create_table(
        "blend_components",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("blend_id", sa.Uuid(), nullable=False),
        sa.Column("ingredient_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "bean",
                "base",
                "milk",
                "syrup",
                "topping",
                "extra",
                name="ingredientkind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "amount BETWEEN 1 AND 100", name=op.f("ck_blend_components_amount_range")
        ),
        sa.ForeignKeyConstraint(
            ["blend_id"], ["blends.id"], name=op.f("fk_blend_components_blend_id_blends")
        ),
        sa.ForeignKeyConstraint(
            ["ingredient_id"],
            ["catalog_ingredients.id"],
            name=op.f("fk_blend_components_ingredient_id_catalog_ingredients"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blend_components")),
        sa.UniqueConstraint("blend_id", "ingredient_id", name="uq_blend_components_ingredient"),
    )
    op.create_table(
        "blend_daily_stats",
        sa.Column("blend_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("copies", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "orders >= 0 AND copies >= 0", name=op.f("ck_blend_daily_stats_counts_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["blend_id"], ["blends.id"], name=op.f("fk_blend_daily_stats_blend_id_blends")
        ),
        sa.PrimaryKeyConstraint("blend_id", "day", name=op.f("pk_blend_daily_stats")),
    )
    op.create_table(
        "blend_enjoyers",
        sa.Column("blend_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["blend_id"], ["blends.id"], name=op.f("fk_blend_enjoyers_blend_id_blends")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_blend_enjoyers_user_id_users")
        ),
        sa.PrimaryKeyConstraint("blend_id", "user_id", name=op.f("pk_blend_enjoyers")),
    )
    op.create_table(
        "blend_ratings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("blend_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("comment", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("stars BETWEEN 1 AND 5", name=op.f("ck_blend_ratings_stars_range")),
        sa.ForeignKeyConstraint(
            ["blend_id"], ["blends.id"], name=op.f("fk_blend_ratings_blend_id_blends")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_blend_ratings_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blend_ratings")),
        sa.UniqueConstraint("blend_id", "user_id", name="uq_blend_ratings_blend_user"),
    )
    op.create_index(
        "ix_blend_ratings_blend_updated",
        "blend_ratings",
        ["blend_id", "updated_at", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_blend_ratings_blend_updated", table_name="blend_ratings")
    op.drop_table("blend_ratings")
    op.drop_table("blend_enjoyers")
    op.drop_table("blend_daily_stats")
    op.drop_table("blend_components")
    op.drop_table("catalog_ingredient_prices")
    op.drop_index(
        "ix_blends_ranked",
        table_name="blends",
        postgresql_where=sa.text(RANKED),
        sqlite_where=sa.text(RANKED),
    )
    op.drop_index("ix_blends_owner_created", table_name="blends")
    op.drop_table("blends")
    op.drop_table("blend_rating_totals")
