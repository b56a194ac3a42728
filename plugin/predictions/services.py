"""Refit a shop's predictions: read its histories, score every customer, write the scores
and the fit row in bulk; and decide when a shop is due (daily, or its data grew by 10%)."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from plugin.predictions import scoring
from plugin.predictions.histories import EPOCH, day_number, read_histories, utc_offset_seconds
from plugin.predictions.models import HEURISTIC, MODEL, Prediction, PredictionFit
from plugin.profiles.metrics import counted_orders
from plugin.profiles.models import Order
from plugin.profiles.money import currency_exponent
from plugin.runtime import Runtime
from plugin.shops.models import Shop, ShopSetting

log = logging.getLogger(__name__)

REFIT_HOURS = "prediction_refit_hours"  # shop setting; the sweep checks it
DEFAULT_REFIT_HOURS = 24
GROWTH_PERCENT = 10  # refit at once when counted orders grew by 10% since the fit
WRITE_BATCH = 10_000
MAX_DAYS_AHEAD = 36_500  # an expected next order further out is stored as this far


def refit_shop(session: Session, shop_id: int, now: datetime) -> PredictionFit:
    """Score every customer of the shop with orders as of `now` and record the fit; the
    caller commits. Customers without counted orders have no row."""
    started = time.perf_counter()
    shop = session.get(Shop, shop_id)
    if shop is None:
        raise LookupError(f"shop {shop_id} does not exist")
    offset = utc_offset_seconds(shop, now)
    today = day_number(now, offset)
    histories = read_histories(session, shop, offset, today)
    scores, fit = scoring.score(histories, today)
    exponent = currency_exponent(shop.currency)
    write_scores(session, shop_id, histories, scores, offset, now, exponent)
    row = session.get(PredictionFit, shop_id) or PredictionFit(shop_id=shop_id)
    _record_fit(row, fit, int(np.count_nonzero(scores.scored)), now)
    row.orders_at_fit = counted_order_total(session, shop_id)
    _record_holdout(row, holdout(session, shop, offset, today, fit.kind))
    row.fit_seconds = time.perf_counter() - started
    session.add(row)
    session.flush()
    return row


def write_scores(
    session: Session,
    shop_id: int,
    h: scoring.Histories,
    s: scoring.Scores,
    offset: int,
    now: datetime,
    exponent: int,
) -> None:
    """Replace the shop's prediction rows: one DELETE, then one INSERT per batch of rows
    built column by column (a driver-level executemany: SQLAlchemy's per-value bind
    processing cost more than the fit at 25,000 customers)."""
    session.execute(delete(Prediction).where(Prediction.shop_id == shop_id))
    dialect = session.get_bind().dialect.name
    columns = _columns(h, s, offset, now, 10.0**exponent, dialect)
    n = len(h)
    columns |= {"shop_id": [shop_id] * n, "fitted_at": [_instants([_epoch(now)], dialect)[0]] * n}
    mark = "?" if dialect == "sqlite" else "%s"
    sql = (
        f"INSERT INTO {Prediction.__tablename__} ({', '.join(columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    rows = list(zip(*columns.values(), strict=True))
    connection = session.connection()
    for start in range(0, n, WRITE_BATCH):
        connection.exec_driver_sql(sql, rows[start : start + WRITE_BATCH])


def _columns(
    h: scoring.Histories,
    s: scoring.Scores,
    offset: int,
    now: datetime,
    scale: float,
    dialect: str,
) -> dict[str, list[Any]]:
    kind = s.kind if s.kind in (MODEL, HEURISTIC) else None
    ahead = np.minimum(s.next_order_day, day_number(now, offset) + MAX_DAYS_AHEAD)
    scored = s.scored.tolist()
    return {
        "customer_id": h.customer_id.tolist(),
        "prediction_kind": [kind if k else None for k in scored],
        "no_score_reason": [None if k else scoring.SINGLE_ORDER for k in scored],
        "churn_risk": _floats(s.churn_risk),
        "p_alive": _floats(s.p_alive),
        "predicted_orders_90d": _floats(s.orders_90d),
        "expected_next_order_at": _instants(ahead * 86400.0 - offset, dialect),
        "predicted_clv_minor": _minor(s.clv, scale),
        "predicted_clv_percentile": _ints(s.percentile),
        "orders": h.orders.tolist(),
        "purchase_days": h.days.tolist(),
        "avg_interval_days": _floats(s.avg_interval),
        "days_since_last": _ints(s.days_since_last),
        "expected_spend_minor": _minor(s.expected_spend, scale),
        "predicted_orders_12m": _floats(s.orders_12m),
    }


def _epoch(moment: datetime) -> float:
    return (moment - EPOCH).total_seconds()


def _instants(seconds: Any, dialect: str) -> list[str | None]:
    """Epoch seconds as the text each backend stores for `UTCDateTime`, vectorised: SQLite
    'YYYY-MM-DD HH:MM:SS.ffffff' (naive UTC, what SQLAlchemy writes: SQLite compares it as
    text), PostgreSQL ISO 8601 with '+00:00'."""
    values = np.asarray(seconds, dtype=np.float64)
    if not len(values):
        return []
    known = ~np.isnan(values)
    micros = np.round(np.where(known, values, 0.0) * 1e6).astype("datetime64[us]")
    text = np.datetime_as_string(micros, unit="us")
    text = np.char.replace(text, "T", " ") if dialect == "sqlite" else np.char.add(text, "+00:00")
    return [t if ok else None for t, ok in zip(text.tolist(), known.tolist(), strict=True)]


def _floats(values: np.ndarray) -> list[float | None]:
    return [None if v != v else v for v in values.tolist()]  # NaN → NULL


def _ints(values: np.ndarray) -> list[int | None]:
    return [None if v != v else int(v) for v in values.tolist()]


def _minor(values: np.ndarray, scale: float) -> list[int | None]:
    return _ints(np.round(values * scale))


def _record_fit(row: PredictionFit, fit: scoring.Fit, scored: int, now: datetime) -> None:
    row.fitted_at, row.kind, row.reason, row.scored = now, fit.kind, fit.reason, scored
    row.customers, row.repeat_customers = fit.customers, fit.repeat_customers
    row.history_days = fit.history_days
    model, spend = fit.model, fit.spend
    row.r, row.alpha = (model.r, model.alpha) if model else (None, None)
    row.a, row.b = (model.a, model.b) if model else (None, None)
    row.log_likelihood = fit.log_likelihood
    row.p, row.q, row.v = (spend.p, spend.q, spend.v) if spend else (None, None, None)
    row.spend_customers = fit.spend_customers


def holdout(
    session: Session, shop: Shop, offset: int, today: int, kind: str
) -> tuple[int, int, float, int] | None:
    """Score as of `HORIZON_DAYS` ago with the shop's current method (model or
    heuristic), then compare the predicted purchase days of the customers scored then
    with what they did since: (days, customers, predicted, actual); None when there was
    too little history then or the model does not fit it."""
    cutoff = today - scoring.HORIZON_DAYS
    h = read_histories(session, shop, offset, cutoff, today)
    if not len(h) or cutoff - int(h.first.min()) < scoring.MIN_HISTORY_DAYS:
        return None
    try:
        scores = scoring.model(h, cutoff)[0] if kind == MODEL else scoring.heuristic(h, cutoff)
    except ValueError:
        return None
    used = scores.scored
    if not used.any():
        return None
    predicted = float(np.sum(scores.orders_90d[used]))
    return scoring.HORIZON_DAYS, int(used.sum()), predicted, int(h.later_days[used].sum())


def _record_holdout(row: PredictionFit, result: tuple[int, int, float, int] | None) -> None:
    days, customers, predicted, actual = result or (None, None, None, None)
    row.holdout_days, row.holdout_customers = days, customers
    row.holdout_predicted, row.holdout_actual = predicted, actual


def refit_hours(session: Session, shop_id: int) -> float:
    row = session.get(ShopSetting, (shop_id, REFIT_HOURS))
    value = row.value.get("value") if row is not None and isinstance(row.value, dict) else None
    return float(value or DEFAULT_REFIT_HOURS)


def counted_order_total(session: Session, shop_id: int) -> int:
    stmt = select(func.count()).where(
        *counted_orders(shop_id), Order.customer_id.is_not(None), Order.ordered_at.is_not(None)
    )
    return int(session.scalar(stmt) or 0)


def refit_due(session: Session, shop_id: int, now: datetime) -> bool:
    """Never fitted, fitted `prediction_refit_hours` ago (default daily), or the shop's
    counted orders grew by 10% since the fit."""
    row = session.get(PredictionFit, shop_id)
    if row is None or row.fitted_at <= now - timedelta(hours=refit_hours(session, shop_id)):
        return True
    grown = counted_order_total(session, shop_id) * 100
    return grown >= max(row.orders_at_fit * (100 + GROWTH_PERCENT), 1)


def refit_due_shops(runtime: Runtime, shop_ids: list[int], now: datetime) -> int:
    """Refit each due shop in its own unit of work; one shop's failure does not stop the
    others. Returns how many were refitted."""
    refitted = 0
    for shop_id in shop_ids:
        with runtime.sessions() as session:
            if not refit_due(session, shop_id, now):
                continue
        try:
            with runtime.sessions.begin() as session:
                fit = refit_shop(session, shop_id, now)
                log.info(
                    "predictions.refit shop_id=%s kind=%s scored=%d seconds=%.2f",
                    shop_id,
                    fit.kind,
                    fit.scored,
                    fit.fit_seconds or 0.0,
                )
            refitted += 1
        except Exception:
            log.exception("predictions.refit_failed shop_id=%s", shop_id)
    return refitted
