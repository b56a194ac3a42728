"""How much history the BG/NBD fit needs: CDNOW master subsamples of 30…1,600 customers at
three calibration ends, fitted 30 times each; prints the table docs/predictive.md quotes.

`python -m benchmarks.predictions_thresholds` (about 3 minutes). Per size: repeat
customers (median), fits that failed, churn-risk AUC for "no purchase in the next 90
days" (all customers; repeat customers only, model vs the rhythm heuristic), and the mean
absolute difference of each subsample's churn risks from the fit on all 23,570 customers
(median and 90th percentile over the 30 subsamples).
"""

from __future__ import annotations

from datetime import date

import numpy as np
from scipy.stats import rankdata

from plugin.predictions import cdnow, scoring
from plugin.predictions.scoring import Histories

ENDS = (date(1997, 3, 31), date(1997, 5, 31), date(1997, 9, 30))
SIZES = (30, 50, 100, 200, 400, 800, 1600)
REPEATS = 30
FIELDS = ("customer_id", "orders", "days", "first", "last", "value", "repeat_value", "later_days")


def auc(score: np.ndarray, positive: np.ndarray) -> float:
    ok = ~np.isnan(score)
    score, positive = score[ok], positive[ok]
    n1, n0 = positive.sum(), (~positive).sum()
    if not n1 or not n0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def one(h: Histories, today: int, idx: np.ndarray, y: np.ndarray, full: np.ndarray) -> list[float]:
    s = Histories(*(getattr(h, f)[idx] for f in FIELDS))
    repeat = s.days >= 2
    heuristic = scoring.heuristic(s, today).churn_risk
    try:
        risk = scoring.model(s, today)[0].churn_risk
    except ValueError:
        return [repeat.sum(), 1, np.nan, np.nan, auc(heuristic, y), np.nan]
    return [
        repeat.sum(),
        0,
        auc(risk, y),
        auc(np.where(repeat, risk, np.nan), y),
        auc(heuristic, y),
        float(np.mean(np.abs(risk - full[idx]))),
    ]


def main() -> None:
    customer, day, _value = cdnow.read_days("CDNOW_master.txt")
    rng = np.random.default_rng(7)
    print(
        "| history | customers | repeat | failed | AUC all | AUC repeat: model / heuristic "
        "| mean abs. risk difference: median / p90 |"
    )
    print("|---|---|---|---|---|---|---|")
    for end in ENDS:
        h, today = cdnow.histories(end=end)
        nxt = np.full(int(customer.max()) + 1, np.inf)
        later = day > today
        np.minimum.at(nxt, customer[later], day[later] - today)
        y_all = nxt[h.customer_id] > 90
        full = scoring.model(h, today)[0].churn_risk
        history = today - int(h.first.min())
        for n in SIZES:
            rows = np.array(
                [
                    one(h, today, idx, y_all[idx], full)
                    for idx in (rng.choice(len(h), n, replace=False) for _ in range(REPEATS))
                ]
            )
            print(
                f"| {history} days | {n:,} | {np.median(rows[:, 0]):.0f} | {rows[:, 1].mean():.0%} "
                f"| {np.nanmedian(rows[:, 2]):.3f} | {np.nanmedian(rows[:, 3]):.3f} / "
                f"{np.nanmedian(rows[:, 4]):.3f} | {np.nanmedian(rows[:, 5]):.3f} / "
                f"{np.nanpercentile(rows[:, 5], 90):.3f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
