"""driver journey: mail preference, station API keys

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 14:30:00

`users.booking_mail`: whether the driver wants booking mail (confirmations, changes,
cancellations, reminders); receipts and security mail always go. `ev_stations.api_key_hash`:
the SHA-256 of the key a charger reports its meter readings with (the key is shown once).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('booking_mail', sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table('ev_stations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('api_key_hash', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_ev_stations_api_key_hash', ['api_key_hash'], unique=True)


def downgrade():
    with op.batch_alter_table('ev_stations', schema=None) as batch_op:
        batch_op.drop_index('ix_ev_stations_api_key_hash')
        batch_op.drop_column('api_key_hash')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('booking_mail')
