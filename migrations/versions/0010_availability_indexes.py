"""availability indexes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 14:30:00

Free-spot counts ask "which holding bookings of this lot overlap [start, end)?". Only
reserved and active bookings hold a spot, a few percent of a lot's history, so a partial
GiST index over (lot_id, the booking's interval) of those rows answers it without reading
the history (docs/performance.md, "Availability at scale"). PostgreSQL only: SQLite has
neither GiST nor ranges, and its lots are small.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

INDEX = "ix_bookings_holding_lot_range"


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON bookings USING gist "
        "(lot_id, tstzrange(starts_at, ends_at, '[)')) "
        "WHERE status IN ('reserved', 'active')"
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")
