"""lot amenities and height limit

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 16:45:00

`lots.amenity_bits`: the lot's amenities (covered, ev_charging, accessible, security,
toilets, bike) as bits of one integer, so a search filters them alike on PostgreSQL and
SQLite. `lots.height_limit_cm`: the tallest vehicle that fits (100..500), NULL for none.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('amenity_bits', sa.Integer(), nullable=False, server_default='0')
        )
        batch_op.add_column(sa.Column('height_limit_cm', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_lots_height_limit_ok'),
            'height_limit_cm IS NULL OR height_limit_cm BETWEEN 100 AND 500'
        )


def downgrade():
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_lots_height_limit_ok'), type_='check')
        batch_op.drop_column('height_limit_cm')
        batch_op.drop_column('amenity_bits')
