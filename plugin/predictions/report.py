"""The model-quality lines of `shopseg status`: last fit, customers used, method, and the
holdout check (predicted vs actual purchase days over the last 90 days)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from plugin.predictions.models import MODEL, PredictionFit


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
    gap = f" ({(predicted - actual) / actual:+.0%})" if actual else ""
    return (
        f"  holdout, last {fit.holdout_days} days: {fit.holdout_customers:,} customers scored "
        f"before them, predicted {predicted:,.1f} purchase days, actual {actual:,}{gap}"
    )
