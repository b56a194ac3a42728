"""Prediction tables: each customer's scores with the numbers that explain them, and each
shop's last fit (parameters, customers used, holdout check)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import Base, shop_fk

MODEL = "model"
HEURISTIC = "heuristic"
NONE = "none"  # a shop's fit row when nobody could be scored


class Prediction(Base):
    """One customer's scores as of `fitted_at`. A customer with orders that could not be
    scored has a row with `prediction_kind` NULL and `no_score_reason` set."""

    __tablename__ = "predictions"

    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk(), primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    prediction_kind: Mapped[str | None] = mapped_column(String(16))  # model | heuristic
    no_score_reason: Mapped[str | None] = mapped_column(String(32))
    churn_risk: Mapped[float | None] = mapped_column(Float)  # P(no purchase in 90 days)
    p_alive: Mapped[float | None] = mapped_column(Float)
    predicted_orders_90d: Mapped[float | None] = mapped_column(Float)
    expected_next_order_at: Mapped[datetime | None]
    predicted_clv_minor: Mapped[int | None] = mapped_column(BigInteger)  # next 12 months
    # 1..100: 1 + ⌊100 · (scored customers with a lower value) / (scored customers)⌋
    predicted_clv_percentile: Mapped[int | None] = mapped_column(Integer)
    # the numbers the explanation sentence is made of, as the model saw them
    orders: Mapped[int] = mapped_column(Integer, default=0)
    purchase_days: Mapped[int] = mapped_column(Integer, default=0)
    avg_interval_days: Mapped[float | None] = mapped_column(Float)  # null below two days
    days_since_last: Mapped[int | None] = mapped_column(Integer)
    expected_spend_minor: Mapped[int | None] = mapped_column(BigInteger)  # per order
    predicted_orders_12m: Mapped[float | None] = mapped_column(Float)
    fitted_at: Mapped[datetime]


class PredictionFit(Base):
    """The shop's last fit. Rates are per week (`alpha` in weeks, as the published fits),
    spend parameters in major units of the shop currency."""

    __tablename__ = "prediction_fits"

    shop_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    fitted_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(16))  # model | heuristic | none
    reason: Mapped[str | None] = mapped_column(Text)  # why not the model, in plain words
    customers: Mapped[int] = mapped_column(Integer, default=0)  # with counted orders
    repeat_customers: Mapped[int] = mapped_column(Integer, default=0)
    scored: Mapped[int] = mapped_column(Integer, default=0)
    history_days: Mapped[int] = mapped_column(Integer, default=0)
    # counted orders of known customers at the fit: a refit is due when it grows by 10%
    orders_at_fit: Mapped[int] = mapped_column(Integer, default=0)
    r: Mapped[float | None] = mapped_column(Float)
    alpha: Mapped[float | None] = mapped_column(Float)
    a: Mapped[float | None] = mapped_column(Float)
    b: Mapped[float | None] = mapped_column(Float)
    log_likelihood: Mapped[float | None] = mapped_column(Float)
    p: Mapped[float | None] = mapped_column(Float)
    q: Mapped[float | None] = mapped_column(Float)
    v: Mapped[float | None] = mapped_column(Float)
    spend_customers: Mapped[int] = mapped_column(Integer, default=0)
    # holdout: score as of `holdout_days` ago, predict those days' purchase days of the
    # customers scored then, compare with what they did
    holdout_days: Mapped[int | None] = mapped_column(Integer)
    holdout_customers: Mapped[int | None] = mapped_column(Integer)
    holdout_predicted: Mapped[float | None] = mapped_column(Float)
    holdout_actual: Mapped[int | None] = mapped_column(Integer)
    fit_seconds: Mapped[float | None] = mapped_column(Float)
