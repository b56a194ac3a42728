"""Per-customer scores of one shop from its purchase histories, as numpy arrays: the fitted
BG/NBD + Gamma-Gamma model when the shop has enough history, each customer's own rhythm
otherwise. No database here: `plugin.predictions.services` reads and writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from plugin.predictions import bgnbd, gammagamma
from plugin.predictions.models import HEURISTIC, MODEL, NONE

Array = NDArray[np.float64]
HORIZON_DAYS = 90  # churn_risk and predicted_orders_90d
VALUE_DAYS = 365  # predicted_clv: the next 12 months, undiscounted
WEEK = 7.0
# Thresholds for a stable fit (derived in docs/predictive.md from CDNOW subsamples: with
# them, 9 shops in 10 get churn risks within 0.05 on average of a fit on all 23,570).
MIN_HISTORY_DAYS = 90  # the horizon: less history says nothing about 90 days of silence
SHORT_HISTORY_DAYS = 150
MIN_REPEAT_CUSTOMERS = 50  # with SHORT_HISTORY_DAYS of history or more
MIN_REPEAT_CUSTOMERS_SHORT = 150  # with MIN_HISTORY_DAYS up to SHORT_HISTORY_DAYS
MIN_SPEND_CUSTOMERS = 20  # Gamma-Gamma; below it each customer's own average is used
SINGLE_ORDER = "single_order"  # no_score_reason: one purchase day, no rhythm to read


@dataclass(frozen=True)
class Histories:
    """One entry per customer with counted orders. Days are whole shop-local day numbers;
    money is in major units of the shop currency. Only purchases up to the scoring day
    are in `days`…`repeat_value`; `later_days` counts purchase days after it (holdout)."""

    customer_id: NDArray[np.int64]
    orders: NDArray[np.int64]
    days: NDArray[np.int64]  # distinct purchase days
    first: NDArray[np.int64]
    last: NDArray[np.int64]
    value: Array  # total spend
    repeat_value: Array  # spend on the days after the first
    later_days: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.customer_id)


@dataclass
class Scores:
    """Per customer, aligned with `Histories`; NaN where a customer has no score."""

    kind: str  # model | heuristic | none, the same for every scored customer of the shop
    scored: NDArray[np.bool_]
    churn_risk: Array
    p_alive: Array
    orders_90d: Array
    orders_12m: Array
    next_order_day: Array  # day number (fractional) of the expected next order
    expected_spend: Array
    clv: Array
    percentile: Array
    avg_interval: Array  # days between purchase days, NaN below two
    days_since_last: Array


@dataclass
class Fit:
    """What the shop's fit row records."""

    kind: str
    reason: str | None
    customers: int
    repeat_customers: int
    history_days: int
    model: bgnbd.BgNbd | None = None
    log_likelihood: float | None = None
    spend: gammagamma.GammaGamma | None = None
    spend_customers: int = 0


def shop_facts(h: Histories, today: int) -> tuple[int, int, int]:
    """(customers, repeat customers, days of history) as the thresholds read them."""
    history = int(today - h.first.min()) if len(h) else 0
    return len(h), int(np.count_nonzero(h.days >= 2)), history


def below_thresholds(h: Histories, today: int) -> str | None:
    """Why the model would not be stable on this shop, in plain words; None when it is."""
    _customers, repeat, history = shop_facts(h, today)
    if history < MIN_HISTORY_DAYS:
        return f"{history} days of order history (the model needs {MIN_HISTORY_DAYS})"
    short = history < SHORT_HISTORY_DAYS
    needed = MIN_REPEAT_CUSTOMERS_SHORT if short else MIN_REPEAT_CUSTOMERS
    if repeat < needed:
        span = f"under {SHORT_HISTORY_DAYS}" if short else f"{SHORT_HISTORY_DAYS} or more"
        return f"{repeat} repeat customers (the model needs {needed} with {span} days of history)"
    return None


def score(h: Histories, today: int) -> tuple[Scores, Fit]:
    """The model when the shop passes the thresholds and the fit converges, else the
    heuristic; `Fit` says which and why."""
    customers, repeat, history = shop_facts(h, today)
    reason = below_thresholds(h, today)
    if reason is None:
        try:
            return model(h, today, Fit(MODEL, None, customers, repeat, history))
        except ValueError as exc:  # the optimiser failed: the shop's data say too little
            reason = str(exc)
    scores = heuristic(h, today)
    kind = HEURISTIC if scores.scored.any() else NONE
    return scores, Fit(kind, reason, customers, repeat, history)


def distinct(h: Histories, today: int) -> bgnbd.Summary:
    """Customers with the same (x, t_x, T) collapsed, keyed on whole days in one integer
    (a 1-D unique is ~10x faster than unique rows at a million customers)."""
    span, age = h.last - h.first, today - h.first
    width = int(max(age.max(initial=0), 0)) + 1
    key = ((h.days - 1) * width + span) * width + age
    _keys, index, counts = np.unique(key, return_index=True, return_counts=True)
    return bgnbd.Summary(
        (h.days[index] - 1).astype(np.float64),
        span[index] / WEEK,
        age[index] / WEEK,
        counts.astype(np.float64),
    )


def _summary(h: Histories, today: int) -> tuple[Array, Array, Array]:
    x = (h.days - 1).astype(np.float64)
    return x, (h.last - h.first) / WEEK, (today - h.first) / WEEK


def model(h: Histories, today: int, fit: Fit | None = None) -> tuple[Scores, Fit]:
    """BG/NBD + Gamma-Gamma fitted on these histories, whatever the thresholds say."""
    if fit is None:
        fit = Fit(MODEL, None, *shop_facts(h, today))
    x, t_x, T = _summary(h, today)
    fit.model, fit.log_likelihood = bgnbd.fit(distinct(h, today))
    m = fit.model
    alive = bgnbd.p_alive(m, x, t_x, T)
    orders_12m = bgnbd.expected_purchases(m, x, t_x, T, VALUE_DAYS / WEEK)
    spend = _expected_spend(h, x, fit)
    scores = _empty(MODEL, len(h))
    scores.scored[:] = True
    scores.churn_risk = bgnbd.p_no_purchase(m, x, t_x, T, HORIZON_DAYS / WEEK)
    scores.p_alive = alive
    scores.orders_90d = bgnbd.expected_purchases(m, x, t_x, T, HORIZON_DAYS / WEEK)
    scores.orders_12m = orders_12m
    scores.next_order_day = h.last + bgnbd.expected_interval(m, x, T) * WEEK
    scores.expected_spend = spend
    scores.clv = orders_12m * spend
    _rhythm(scores, h, today)
    scores.percentile = percentile(scores.clv, scores.scored)
    return scores, fit


def _expected_spend(h: Histories, x: Array, fit: Fit) -> Array:
    """Gamma-Gamma expected spend per purchase; each customer's own average when too few
    repeat customers have positive spend for a fit (or it fails)."""
    m = np.divide(h.repeat_value, x, out=np.zeros_like(x), where=x > 0)
    usable = (x > 0) & (m > 0)
    fit.spend_customers = int(np.count_nonzero(usable))
    own = np.maximum(h.value, 0.0) / h.days
    if fit.spend_customers < MIN_SPEND_CUSTOMERS:
        return own
    try:
        fit.spend = gammagamma.fit(x[usable], m[usable])
    except ValueError:
        return own
    if fit.spend.q <= 1:  # infinite population mean: the fit says nothing usable
        fit.spend = None
        return own
    return gammagamma.expected_spend(fit.spend, x, np.maximum(m, 0.0))


def heuristic(h: Histories, today: int) -> Scores:
    """Each customer's own rhythm, for customers with two or more purchase days: with g
    their average interval and the gap ratio k = days since the last purchase ÷ g,
    P(active) is 1 while k <= 1 and e^-(k-1) after (each further interval of silence
    divides it by e); an active customer buys every g days. One purchase day: no score."""
    scores = _empty(HEURISTIC, len(h))
    scores.scored = h.days >= 2
    _rhythm(scores, h, today)
    g, ratio = scores.avg_interval, scores.days_since_last / scores.avg_interval
    alive = np.exp(-np.maximum(ratio - 1.0, 0.0))
    scores.p_alive = alive
    scores.churn_risk = 1.0 - alive * (1.0 - np.exp(-HORIZON_DAYS / g))
    scores.orders_90d = alive * HORIZON_DAYS / g
    scores.orders_12m = alive * VALUE_DAYS / g
    scores.next_order_day = h.last + g
    scores.expected_spend = np.maximum(h.value, 0.0) / h.days
    scores.clv = scores.orders_12m * scores.expected_spend
    scores.percentile = percentile(scores.clv, scores.scored)
    return scores


def _rhythm(scores: Scores, h: Histories, today: int) -> None:
    spans = (h.last - h.first).astype(np.float64)
    repeat = h.days >= 2
    scores.avg_interval = np.divide(spans, h.days - 1, out=np.full(len(h), np.nan), where=repeat)
    scores.days_since_last = np.maximum(today - h.last, 0).astype(np.float64)


def _empty(kind: str, n: int) -> Scores:
    nan = np.full(n, np.nan)
    return Scores(kind, np.zeros(n, bool), *(nan.copy() for _ in range(10)))


def percentile(values: Array, scored: NDArray[np.bool_]) -> Array:
    """1 + ⌊100 · (scored customers with a strictly lower value) / (scored customers)⌋, so
    ties share a percentile and `> 90` never selects more than a tenth."""
    out = np.full(len(values), np.nan)
    pool = np.sort(values[scored])
    if len(pool):
        lower = np.searchsorted(pool, values[scored], side="left")
        out[scored] = 1 + np.floor(100.0 * lower / len(pool))
    return out
