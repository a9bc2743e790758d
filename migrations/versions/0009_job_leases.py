"""export job leases

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-10 09:00:00

Written by hand. A lease on each export job row (token and expiry), so a job whose worker
died is taken up again within minutes and only the lease holder records its file.
"""
from alembic import op
import sqlalchemy as sa
import parkapp.models.types


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_token', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('lease_expires_at', parkapp.models.types.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.drop_column('lease_expires_at')
        batch_op.drop_column('lease_token')
