"""analytics rollups

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 07:10:00

Daily rollups per lot for the analytics charts, and the queue of days to roll up again.
Existing history is queued whole (one mark per lot), so the first refresh (the worker's
minute task, or the first chart read) rolls it up. The two covering indexes that only served
year-long chart queries over the raw tables are dropped: the charts read the rollups now.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def _lot_id(table):
    return (
        sa.Column('lot_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f(f'fk_{table}_lot_id_lots'), ondelete='CASCADE'),
    )


def _count(name, kind=sa.Integer):
    return sa.Column(name, kind(), server_default='0', nullable=False)


def upgrade():
    op.create_table('analytics_lot_day_revenue',
    *_lot_id('analytics_lot_day_revenue'),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    _count('payments'),
    _count('paid_cents', sa.BigInteger),
    _count('refunded_cents', sa.BigInteger),
    sa.PrimaryKeyConstraint('lot_id', 'day', 'currency', name=op.f('pk_analytics_lot_day_revenue'))
    )
    op.create_table('analytics_lot_days',
    *_lot_id('analytics_lot_days'),
    sa.Column('day', sa.Date(), nullable=False),
    _count('bookings'),
    _count('cancelled'),
    _count('no_shows'),
    _count('completed'),
    _count('stay_seconds', sa.BigInteger),
    *(_count(f'arrivals_{hour:02d}') for hour in range(24)),
    sa.PrimaryKeyConstraint('lot_id', 'day', name=op.f('pk_analytics_lot_days'))
    )
    op.create_table('analytics_pending_days',
    sa.Column('id', sa.Integer(), nullable=False),
    *_lot_id('analytics_pending_days'),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_pending_days'))
    )
    op.execute(
        "INSERT INTO analytics_pending_days (lot_id, first_day, last_day) "
        "SELECT id, '1970-01-02', '8999-12-30' FROM lots"
    )
    op.drop_index('ix_bookings_id_lot', table_name='bookings')
    op.drop_index('ix_payments_paid_cover', table_name='payments')


def downgrade():
    op.create_index('ix_payments_paid_cover', 'payments', ['paid_at'], postgresql_include=['booking_id', 'status', 'amount_cents', 'refunded_cents', 'currency'])
    op.create_index('ix_bookings_id_lot', 'bookings', ['id'], postgresql_include=['lot_id'])
    op.drop_table('analytics_pending_days')
    op.drop_table('analytics_lot_days')
    op.drop_table('analytics_lot_day_revenue')
