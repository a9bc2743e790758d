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
    pass
    # --- EV charging -----------------------------------------------------------------
    pass
    # --- demand pricing --------------------------------------------------------------
    pass


def downgrade():
    # --- demand pricing --------------------------------------------------------------
    pass
    # --- EV charging -----------------------------------------------------------------
    pass
    # --- memberships -----------------------------------------------------------------
    pass
