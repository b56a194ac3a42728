"""predictions: each customer's BG/NBD or heuristic scores, and each shop's last fit

Revision ID: 0010_predictions
Revises: 0009_trigger_firing_state_index
Create Date: 2026-12-10 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import plugin.db

revision: str = "0010_predictions"
down_revision: str | None = "0009_trigger_firing_state_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "predictions",
        sa.Column("shop_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("prediction_kind", sa.String(length=16), nullable=True),
        sa.Column("no_score_reason", sa.String(length=32), nullable=True),
        sa.Column("churn_risk", sa.Float(), nullable=True),
        sa.Column("p_alive", sa.Float(), nullable=True),
        sa.Column("predicted_orders_90d", sa.Float(), nullable=True),
        sa.Column("expected_next_order_at", plugin.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("predicted_clv_minor", sa.BigInteger(), nullable=True),
        sa.Column("predicted_clv_percentile", sa.Integer(), nullable=True),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("purchase_days", sa.Integer(), nullable=False),
        sa.Column("avg_interval_days", sa.Float(), nullable=True),
        sa.Column("days_since_last", sa.Integer(), nullable=True),
        sa.Column("expected_spend_minor", sa.BigInteger(), nullable=True),
        sa.Column("predicted_orders_12m", sa.Float(), nullable=True),
        sa.Column("fitted_at", plugin.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_predictions_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_predictions_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("shop_id", "customer_id", name=op.f("pk_predictions")),
    )
    op.create_table(
        "prediction_fits",
        sa.Column("shop_id", sa.BigInteger(), nullable=False),
        sa.Column("fitted_at", plugin.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("repeat_customers", sa.Integer(), nullable=False),
        sa.Column("scored", sa.Integer(), nullable=False),
        sa.Column("history_days", sa.Integer(), nullable=False),
        sa.Column("orders_at_fit", sa.Integer(), nullable=False),
        sa.Column("r", sa.Float(), nullable=True),
        sa.Column("alpha", sa.Float(), nullable=True),
        sa.Column("a", sa.Float(), nullable=True),
        sa.Column("b", sa.Float(), nullable=True),
        sa.Column("log_likelihood", sa.Float(), nullable=True),
        sa.Column("p", sa.Float(), nullable=True),
        sa.Column("q", sa.Float(), nullable=True),
        sa.Column("v", sa.Float(), nullable=True),
        sa.Column("spend_customers", sa.Integer(), nullable=False),
        sa.Column("holdout_days", sa.Integer(), nullable=True),
        sa.Column("holdout_customers", sa.Integer(), nullable=True),
        sa.Column("holdout_predicted", sa.Float(), nullable=True),
        sa.Column("holdout_actual", sa.Integer(), nullable=True),
        sa.Column("fit_seconds", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_prediction_fits_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("shop_id", name=op.f("pk_prediction_fits")),
    )


def downgrade() -> None:
    op.drop_table("prediction_fits")
    op.drop_table("predictions")
