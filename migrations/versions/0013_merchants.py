"""merchant validations: merchants, their lots and staff, validations, statements

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 16:45:00

`merchants`: shops that pay part of their customers' parking (the full fee, N free hours or
a fixed amount; an optional monthly cap), at the lots in `merchant_lots`; `merchant_staff`
links a user (role `merchant`) to one merchant. `validations`: at most one per booking
(`uq_validations_booking`, so a second one under a race is refused by the database).
`merchant_statements`: the month-end statement mail, once per merchant and month.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "merchants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column(
            "give_kind",
            sa.Enum(
                "full_fee", "free_hours", "fixed", name="givekind", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("give_value", sa.Integer(), nullable=False),
        sa.Column("monthly_cap_cents", sa.Integer(), nullable=True),
        sa.Column("billing_email", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("give_value >= 0", name=op.f("ck_merchants_give_value_non_negative")),
        sa.CheckConstraint(
            "monthly_cap_cents IS NULL OR monthly_cap_cents >= 0", name=op.f("ck_merchants_cap_ok")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchants")),
        sa.UniqueConstraint("name", name=op.f("uq_merchants_name")),
    )
    op.create_table(
        "merchant_lots",
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["lots.id"], name=op.f("fk_merchant_lots_lot_id_lots"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_merchant_lots_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("merchant_id", "lot_id", name=op.f("pk_merchant_lots")),
    )
    op.create_table(
        "merchant_staff",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_merchant_staff_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_merchant_staff_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_merchant_staff")),
    )
    op.create_index("ix_merchant_staff_merchant_id", "merchant_staff", ["merchant_id"])
    op.create_table(
        "validations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("validated_by_id", sa.Integer(), nullable=True),
        sa.Column("amount_cents", sa.Integer(), nullable=True),
        sa.Column("limit_cents", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "amount_cents IS NULL OR amount_cents >= 0", name=op.f("ck_validations_amount_ok")
        ),
        sa.CheckConstraint(
            "limit_cents IS NULL OR limit_cents >= 0", name=op.f("ck_validations_limit_ok")
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_validations_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_validations_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["validated_by_id"],
            ["users.id"],
            name=op.f("fk_validations_validated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_validations")),
        sa.UniqueConstraint("booking_id", name="uq_validations_booking"),
    )
    op.create_index("ix_validations_merchant_id", "validations", ["merchant_id"])
    op.create_index("ix_validations_created_at", "validations", ["created_at"])
    op.create_table(
        "merchant_statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("total_cents", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_merchant_statements_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchant_statements")),
        sa.UniqueConstraint("merchant_id", "month", name="uq_merchant_statements"),
    )


def downgrade():
    op.drop_table("merchant_statements")
    op.drop_index("ix_validations_created_at", table_name="validations")
    op.drop_index("ix_validations_merchant_id", table_name="validations")
    op.drop_table("validations")
    op.drop_index("ix_merchant_staff_merchant_id", table_name="merchant_staff")
    op.drop_table("merchant_staff")
    op.drop_table("merchant_lots")
    op.drop_table("merchants")
