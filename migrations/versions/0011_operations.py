"""operations: lots in the open data feed, overnight stays

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 14:30:00

`lots.open_data`: the lot is listed in the public occupancy feed (/api/v1/open/occupancy).
`lots.allow_overnight`: a stay may run across the lot's closing time.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('open_data', sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column('allow_overnight', sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade():
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.drop_column('allow_overnight')
        batch_op.drop_column('open_data')
