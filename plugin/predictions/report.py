"""The model-quality lines of `shopseg status`: last fit, customers used, method, and the
holdout check (predicted vs actual purchase days over the last 90 days); one customer's
scores with their sentence, for the admin."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from plugin.predictions.explain import LANGUAGES, explain
from plugin.predictions.models import MODEL, Prediction, PredictionFit


def customer_prediction(
    session: Session, shop_id: int, customer_id: int, language: str = "en"
) -> dict[str, Any] | None:
    """The customer's scores and the sentence that explains them (None: never scored —
    no orders, or not since the last fit)."""
    row = session.get(Prediction, (shop_id, customer_id))
    if row is None:
        return None
    return {
        "kind": row.prediction_kind,  # model | heuristic | None (with no_score_reason)
        "no_score_reason": row.no_score_reason,
        "churn_risk": row.churn_risk,
        "p_alive": row.p_alive,
        "predicted_orders_90d": row.predicted_orders_90d,
        "expected_next_order_at": row.expected_next_order_at,
        "predicted_clv_minor": row.predicted_clv_minor,
        "predicted_clv_percentile": row.predicted_clv_percentile,
        "fitted_at": row.fitted_at,
        "explanation": explain(row, language if language in LANGUAGES else "en"),
    }


def holdout_gap(fit: PredictionFit) -> float | None:
    """(predicted - actual) ÷ actual purchase days of the holdout check, if it ran."""
    if fit.holdout_predicted is None or not fit.holdout_actual:
        return None
    return (fit.holdout_predicted - fit.holdout_actual) / fit.holdout_actual


def quality_lines(session: Session, shop_id: int) -> list[str]:
    """Plain lines describing the shop's last fit ("predictions: none yet" before one)."""
    fit = session.get(PredictionFit, shop_id)
    if fit is None:
        return ["predictions: none yet (the sweep fits them daily)"]
    when = fit.fitted_at.strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"predictions: {fit.kind}, fitted {when}, {fit.scored:,} of {fit.customers:,} "
        f"customers with orders scored ({fit.repeat_customers:,} repeat, "
        f"{fit.history_days:,} days of history)"
    ]
    if fit.kind == MODEL:
        lines.append(
            f"  BG/NBD r {fit.r:.4g}, alpha {fit.alpha:.4g} weeks, a {fit.a:.4g}, b {fit.b:.4g}"
            + _spend(fit)
        )
    if fit.reason:
        lines.append(f"  why not the model: {fit.reason}")
    lines.append(_holdout(fit))
    return lines


def _spend(fit: PredictionFit) -> str:
    if fit.p is None:
        return "; spend: each customer's own average"
    return f"; Gamma-Gamma p {fit.p:.4g}, q {fit.q:.4g}, v {fit.v:.4g}"


def _holdout(fit: PredictionFit) -> str:
    if fit.holdout_predicted is None or fit.holdout_actual is None:
        return "  holdout: not enough history before the last 90 days"
    actual, predicted = fit.holdout_actual, fit.holdout_predicted
    share = holdout_gap(fit)
    gap = f" ({share:+.0%})" if share is not None else ""
    return (
        f"  holdout, last {fit.holdout_days} days: {fit.holdout_customers:,} customers scored "
        f"before them, predicted {predicted:,.1f} purchase days, actual {actual:,}{gap}"
    )
