"""blend ratings: verified, and only verified ratings counted for the top-10

Revision ID: 0013_verified_ratings
Revises: 0012_loyalty_not_farmable
Create Date: 2026-12-07 10:00:00.000000

Every migration stays compatible with the code of the previous release (add columns as
nullable or with a server default, drop only what that code no longer reads), takes short
locks on PostgreSQL, and runs on SQLite through batch mode.

``blend_ratings.verified``: the rater has had the blend. The column has a server default,
so adding it is instant on PostgreSQL. It is set for the ratings whose rater was the
drinker of a charge line of the blend, of a copy made from it or (for an original) of any
copy down its chain; then the counters the top-10 reads (``blends.rating_count``,
``rating_sum``, ``ref_rating`` and ``blend_rating_totals``) are counted again from the
verified ratings not by the creator. Downgrading counts every rating not by the creator
again, as before.

The caps on live pay codes and offline keys (same release) need no schema change: they
are counted under the wallet row's lock.
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0013_verified_ratings"
down_revision = "0012_loyalty_not_farmable"
branch_labels = None
depends_on = None

# wallet_api.blends.models, fixed here as of this revision.
PRIOR_VOTES = 10
REF_MEAN = 3.5
TOTALS_SHARDS = 16

# Plain SQL with a correlated subquery: the same on SQLite and PostgreSQL.
HAD_IT = """
UPDATE blend_ratings SET verified = TRUE WHERE EXISTS (
    SELECT 1 FROM charge_lines
    JOIN charges ON charges.id = charge_lines.charge_id
    JOIN blends drunk ON drunk.id = charge_lines.item_id
    WHERE charges.drinker_id = blend_ratings.user_id
      AND charge_lines.kind = 'blend'
      AND blend_ratings.blend_id IN (drunk.id, drunk.copied_from_id, drunk.origin_id)
)
"""
blends = sa.table(
    "blends",
    sa.column("id", sa.Uuid()),
    sa.column("owner_id", sa.Uuid()),
    sa.column("rating_count", sa.Integer()),
    sa.column("rating_sum", sa.Integer()),
    sa.column("ref_rating", sa.Double()),
)
ratings = sa.table(
    "blend_ratings",
    sa.column("blend_id", sa.Uuid()),
    sa.column("user_id", sa.Uuid()),
    sa.column("stars", sa.Integer()),
    sa.column("verified", sa.Boolean()),
)
totals = sa.table(
    "blend_rating_totals",
    sa.column("shard", sa.Integer()),
    sa.column("rating_sum", sa.BigInteger()),
    sa.column("rating_count", sa.BigInteger()),
)


def _count_again(*, verified_only: bool) -> None:
    """The counters as the service keeps them, from the ratings counted by this rule."""
    counted = [ratings.c.blend_id == blends.c.id, ratings.c.user_id != blends.c.owner_id]
    if verified_only:
        counted.append(ratings.c.verified.is_(True))
    rated = sa.exists().where(ratings.c.blend_id == blends.c.id)
    op.execute(
        blends.update()
        .where(sa.or_(blends.c.rating_count > 0, rated))
        .values(
            rating_count=sa.select(sa.func.count()).where(*counted).scalar_subquery(),
            rating_sum=sa.select(sa.func.coalesce(sa.func.sum(ratings.c.stars), 0))
            .where(*counted)
            .scalar_subquery(),
        )
    )
    reference = (sa.cast(blends.c.rating_sum, sa.Double()) + PRIOR_VOTES * REF_MEAN) / (
        blends.c.rating_count + PRIOR_VOTES
    )
    # Only the rows whose value changes: the service computes it with the same expression.
    op.execute(blends.update().where(blends.c.ref_rating != reference).values(ref_rating=reference))
    # The totals' shard of a blend is its id as a number modulo 16: computed here, where
    # the id is a uuid.UUID whatever the database stores.
    shards: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    rows = op.get_bind().execute(
        sa.select(blends.c.id, blends.c.rating_sum, blends.c.rating_count).where(
            blends.c.rating_count > 0
        )
    )
    for blend_id, rating_sum, rating_count in rows:
        shard = shards[blend_id.int % TOTALS_SHARDS]
        shard[0] += rating_sum
        shard[1] += rating_count
    op.execute(totals.delete())
    if shards:
        op.bulk_insert(
            totals,
            [
                {"shard": shard, "rating_sum": total, "rating_count": count}
                for shard, (total, count) in sorted(shards.items())
            ],
        )


def upgrade() -> None:
    with op.batch_alter_table("blend_ratings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("verified", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.execute(HAD_IT)
    _count_again(verified_only=True)


def downgrade() -> None:
    with op.batch_alter_table("blend_ratings", schema=None) as batch_op:
        batch_op.drop_column("verified")
    _count_again(verified_only=False)
