"""memberships, EV charging, demand pricing

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 15:30:00

Written by hand, one section per domain (memberships, EV charging, demand pricing).
"""
from alembic import op
import sqlalchemy as sa
import parkapp.models.types


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    # --- memberships -----------------------------------------------------------------
    op.create_table('membership_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('duration_months', sa.Integer(), nullable=False),
    sa.Column('price_cents', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('vehicle_limit', sa.Integer(), nullable=False),
    sa.Column('included_hours', sa.Integer(), nullable=False),
    sa.Column('discount_percent', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', parkapp.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('duration_months >= 1 AND duration_months <= 24', name=op.f('ck_membership_plans_duration_ok')),
    sa.CheckConstraint('price_cents >= 0', name=op.f('ck_membership_plans_price_non_negative')),
    sa.CheckConstraint('vehicle_limit >= 1', name=op.f('ck_membership_plans_vehicle_limit_positive')),
    sa.CheckConstraint('included_hours >= 0', name=op.f('ck_membership_plans_included_hours_non_negative')),
    sa.CheckConstraint('discount_percent >= 0 AND discount_percent <= 100', name=op.f('ck_membership_plans_discount_percent_ok')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_plans')),
    sa.UniqueConstraint('name', name=op.f('uq_membership_plans_name'))
    )
    op.create_table('membership_plan_lots',
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_membership_plan_lots_lot_id_lots'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['plan_id'], ['membership_plans.id'], name=op.f('fk_membership_plan_lots_plan_id_membership_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('plan_id', 'lot_id', name=op.f('pk_membership_plan_lots'))
    )
    op.create_table('memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('active', 'cancelled', 'expired', name='membershipstatus', native_enum=False, length=20), nullable=False),
    sa.Column('starts_at', parkapp.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', parkapp.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('auto_renew', sa.Boolean(), nullable=False),
    sa.Column('price_cents', sa.Integer(), nullable=False),
    sa.Column('total_paid_cents', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('paid_at', parkapp.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('renewals', sa.Integer(), nullable=False),
    sa.Column('cancelled_at', parkapp.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', parkapp.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_memberships_interval_ordered')),
    sa.CheckConstraint('price_cents >= 0', name=op.f('ck_memberships_price_non_negative')),
    sa.ForeignKeyConstraint(['plan_id'], ['membership_plans.id'], name=op.f('fk_memberships_plan_id_membership_plans'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_memberships_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_memberships'))
    )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index('ix_memberships_user_status', ['user_id', 'status'], unique=False)
        batch_op.create_index('ix_memberships_status_ends', ['status', 'ends_at'], unique=False)
    op.create_table('membership_vehicles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=False),
    sa.Column('vehicle_id', sa.Integer(), nullable=False),
    sa.Column('created_at', parkapp.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['membership_id'], ['memberships.id'], name=op.f('fk_membership_vehicles_membership_id_memberships'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicles.id'], name=op.f('fk_membership_vehicles_vehicle_id_vehicles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_vehicles')),
    sa.UniqueConstraint('membership_id', 'vehicle_id', name='uq_membership_vehicles_pair')
    )
    with op.batch_alter_table('membership_vehicles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_membership_vehicles_membership_id'), ['membership_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_membership_vehicles_vehicle_id'), ['vehicle_id'], unique=False)
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('membership_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_bookings_membership_id_memberships'), 'memberships', ['membership_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index(batch_op.f('ix_bookings_membership_id'), ['membership_id'], unique=False)
    # --- EV charging -----------------------------------------------------------------
    op.create_table('ev_stations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('spot_id', sa.Integer(), nullable=False),
    sa.Column('charger_type', sa.Enum('level1', 'level2', 'dc_fast', name='chargertype', native_enum=False, length=20), nullable=False),
    sa.Column('power_w', sa.Integer(), nullable=False),
    sa.Column('connector', sa.Enum('j1772', 'type2', 'ccs1', 'ccs2', 'chademo', 'tesla', name='connector', native_enum=False, length=20), nullable=False),
    sa.Column('price_per_kwh_cents', sa.Integer(), nullable=False),
    sa.Column('idle_fee_per_minute_cents', sa.Integer(), nullable=False),
    sa.Column('idle_grace_minutes', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('active', 'out_of_service', name='stationstatus', native_enum=False, length=20), nullable=False),
    sa.Column('created_at', parkapp.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('idle_fee_per_minute_cents >= 0', name=op.f('ck_ev_stations_idle_fee_non_negative')),
    sa.CheckConstraint('idle_grace_minutes >= 0', name=op.f('ck_ev_stations_idle_grace_non_negative')),
    sa.CheckConstraint('power_w > 0', name=op.f('ck_ev_stations_power_positive')),
    sa.CheckConstraint('price_per_kwh_cents >= 0', name=op.f('ck_ev_stations_price_non_negative')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_ev_stations_lot_id_lots'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['spot_id'], ['spots.id'], name=op.f('fk_ev_stations_spot_id_spots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ev_stations')),
    sa.UniqueConstraint('spot_id', name=op.f('uq_ev_stations_spot_id'))
    )
    with op.batch_alter_table('ev_stations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ev_stations_lot_id'), ['lot_id'], unique=False)

    op.create_table('charging_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('started_by_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('charging', 'finished', name='chargingstatus', native_enum=False, length=20), nullable=False),
    sa.Column('price_per_kwh_cents', sa.Integer(), nullable=False),
    sa.Column('idle_fee_per_minute_cents', sa.Integer(), nullable=False),
    sa.Column('idle_grace_minutes', sa.Integer(), nullable=False),
    sa.Column('started_at', parkapp.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('start_wh', sa.BigInteger(), nullable=False),
    sa.Column('last_wh', sa.BigInteger(), nullable=False),
    sa.Column('last_reading_at', parkapp.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('stopped_at', parkapp.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('stop_wh', sa.BigInteger(), nullable=True),
    sa.CheckConstraint('last_wh >= start_wh', name=op.f('ck_charging_sessions_last_not_below_start')),
    sa.CheckConstraint('start_wh >= 0', name=op.f('ck_charging_sessions_start_non_negative')),
    sa.CheckConstraint('stop_wh IS NULL OR stop_wh = last_wh', name=op.f('ck_charging_sessions_stop_is_last')),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_charging_sessions_booking_id_bookings'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], name=op.f('fk_charging_sessions_started_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['station_id'], ['ev_stations.id'], name=op.f('fk_charging_sessions_station_id_ev_stations'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charging_sessions'))
    )
    with op.batch_alter_table('charging_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_charging_sessions_booking', ['booking_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_charging_sessions_station_id'), ['station_id'], unique=False)
        batch_op.create_index('ux_charging_sessions_booking_open', ['booking_id'], unique=True, postgresql_where=sa.text("status = 'charging'"), sqlite_where=sa.text("status = 'charging'"))
        batch_op.create_index('ux_charging_sessions_station_open', ['station_id'], unique=True, postgresql_where=sa.text("status = 'charging'"), sqlite_where=sa.text("status = 'charging'"))

    op.create_table('meter_readings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('wh', sa.BigInteger(), nullable=False),
    sa.Column('read_at', parkapp.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('wh >= 0', name=op.f('ck_meter_readings_wh_non_negative')),
    sa.ForeignKeyConstraint(['session_id'], ['charging_sessions.id'], name=op.f('fk_meter_readings_session_id_charging_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meter_readings'))
    )
    with op.batch_alter_table('meter_readings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meter_readings_session_id'), ['session_id'], unique=False)
    # --- demand pricing --------------------------------------------------------------
    op.create_table('demand_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.Enum('above', 'below', name='demanddirection', native_enum=False, length=20), nullable=False),
    sa.Column('threshold_percent', sa.Integer(), nullable=False),
    sa.Column('adjust_percent', sa.Integer(), nullable=False),
    sa.Column('created_at', parkapp.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('adjust_percent >= -90 AND adjust_percent <= 300', name=op.f('ck_demand_steps_adjust_range')),
    sa.CheckConstraint('threshold_percent >= 0 AND threshold_percent <= 100', name=op.f('ck_demand_steps_threshold_range')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_demand_steps_lot_id_lots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demand_steps')),
    sa.UniqueConstraint('lot_id', 'direction', 'threshold_percent', name='uq_demand_steps_lot_step')
    )
    with op.batch_alter_table('demand_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_demand_steps_lot_id'), ['lot_id'], unique=False)
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('demand_enabled', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('demand_floor_cents', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('demand_ceiling_cents', sa.Integer(), nullable=True))
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('demand_percent', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('demand_occupancy_percent', sa.Integer(), nullable=True))
    # --- analytics indexes -----------------------------------------------------------
    # Measured with bench/analytics.py (docs/performance.md): covering indexes let the
    # charts read a range of days without touching the tables' rows.
    op.create_index('ix_bookings_starts_cover', 'bookings', ['starts_at'], postgresql_include=['lot_id', 'status', 'ends_at', 'checked_in_at'])
    op.create_index('ix_bookings_lot_starts', 'bookings', ['lot_id', 'starts_at'], postgresql_include=['status', 'ends_at', 'checked_in_at'])
    op.create_index('ix_bookings_ends_at', 'bookings', ['ends_at'])
    op.create_index('ix_bookings_id_lot', 'bookings', ['id'], postgresql_include=['lot_id'])
    op.create_index('ix_payments_paid_cover', 'payments', ['paid_at'], postgresql_include=['booking_id', 'status', 'amount_cents', 'refunded_cents', 'currency'])


def downgrade():
    # --- analytics indexes -----------------------------------------------------------
    op.drop_index('ix_payments_paid_cover', table_name='payments')
    op.drop_index('ix_bookings_id_lot', table_name='bookings')
    op.drop_index('ix_bookings_ends_at', table_name='bookings')
    op.drop_index('ix_bookings_lot_starts', table_name='bookings')
    op.drop_index('ix_bookings_starts_cover', table_name='bookings')
    # --- demand pricing --------------------------------------------------------------
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_column('demand_occupancy_percent')
        batch_op.drop_column('demand_percent')
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.drop_column('demand_ceiling_cents')
        batch_op.drop_column('demand_floor_cents')
        batch_op.drop_column('demand_enabled')
    with op.batch_alter_table('demand_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_demand_steps_lot_id'))
    op.drop_table('demand_steps')
    # --- EV charging -----------------------------------------------------------------
    with op.batch_alter_table('meter_readings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meter_readings_session_id'))

    op.drop_table('meter_readings')
    with op.batch_alter_table('charging_sessions', schema=None) as batch_op:
        batch_op.drop_index('ux_charging_sessions_station_open', postgresql_where=sa.text("status = 'charging'"), sqlite_where=sa.text("status = 'charging'"))
        batch_op.drop_index('ux_charging_sessions_booking_open', postgresql_where=sa.text("status = 'charging'"), sqlite_where=sa.text("status = 'charging'"))
        batch_op.drop_index(batch_op.f('ix_charging_sessions_station_id'))
        batch_op.drop_index('ix_charging_sessions_booking')

    op.drop_table('charging_sessions')
    with op.batch_alter_table('ev_stations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ev_stations_lot_id'))

    op.drop_table('ev_stations')
    # --- memberships -----------------------------------------------------------------
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bookings_membership_id'))
        batch_op.drop_constraint(batch_op.f('fk_bookings_membership_id_memberships'), type_='foreignkey')
        batch_op.drop_column('membership_id')
    with op.batch_alter_table('membership_vehicles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_membership_vehicles_vehicle_id'))
        batch_op.drop_index(batch_op.f('ix_membership_vehicles_membership_id'))
    op.drop_table('membership_vehicles')
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index('ix_memberships_status_ends')
        batch_op.drop_index('ix_memberships_user_status')
    op.drop_table('memberships')
    op.drop_table('membership_plan_lots')
    op.drop_table('membership_plans')
