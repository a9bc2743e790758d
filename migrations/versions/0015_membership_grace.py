"""membership renewals that failed: grace period and daily retries

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 16:50:00

`memberships.grace_until`: set when an auto-renewal's payment failed; the membership stays
in force until then while the renewal is retried, and lapses after it. `memberships.retry_at`:
when the next attempt is due (daily).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('grace_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('retry_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_column('retry_at')
        batch_op.drop_column('grace_until')
