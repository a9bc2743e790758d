"""export job leases, membership payments

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-10 09:00:00

Written by hand. A lease on each export job row (token and expiry), so a job whose worker
died is taken up again within minutes and only the lease holder records its file.
Membership payments: a membership term is granted only against a payment of its own.
"""
from alembic import op
import sqlalchemy as sa
import parkapp.models.types


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_token', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('lease_expires_at', parkapp.models.types.UTCDateTime(timezone=True), nullable=True))

    op.create_table('membership_payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('status', sa.Enum('pending', 'paid', 'failed', 'refunded', name='paymentstatus', native_enum=False, length=20), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('idempotency_key', sa.String(length=80), nullable=False),
    sa.Column('receipt_number', sa.String(length=24), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=True),
    sa.Column('provider_ref', sa.String(length=255), nullable=True),
    sa.Column('created_at', parkapp.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('paid_at', parkapp.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_membership_payments_amount_positive')),
    sa.ForeignKeyConstraint(['membership_id'], ['memberships.id'], name=op.f('fk_membership_payments_membership_id_memberships'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_membership_payments_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_payments')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_membership_payments_idempotency_key')),
    sa.UniqueConstraint('provider_ref', name=op.f('uq_membership_payments_provider_ref')),
    sa.UniqueConstraint('receipt_number', name=op.f('uq_membership_payments_receipt_number')),
    )
    with op.batch_alter_table('membership_payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_membership_payments_membership_id'), ['membership_id'], unique=False)


def downgrade():
    with op.batch_alter_table('membership_payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_membership_payments_membership_id'))
    op.drop_table('membership_payments')
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.drop_column('lease_expires_at')
        batch_op.drop_column('lease_token')
