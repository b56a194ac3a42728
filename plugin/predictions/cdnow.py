"""CDNOW purchase histories as model inputs: the calibration / holdout split of the
published fits, for the validation tests, the benchmark and docs/predictive.md.

Same-day lines of a customer are one purchase (the published fits count distinct days:
the master file has 2,068 same-day repeat lines); their values are added.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import NDArray

from plugin.data import open_cdnow
from plugin.predictions.scoring import Histories

Array = NDArray[np.float64]
CALIBRATION_END = date(1997, 9, 30)  # 39 weeks from 1997-01-01, the standard split
HOLDOUT_END = date(1998, 6, 30)  # the following 39 weeks, to the end of the file


@dataclass(frozen=True)
class Split:
    """Per customer: calibration summary (weeks) and what happened in the holdout."""

    x: Array  # repeat purchase days in the calibration period
    t_x: Array  # weeks from the first purchase to the last one in the calibration period
    T: Array  # weeks from the first purchase to the calibration end
    m: Array  # mean value of the repeat purchases (0 without any)
    holdout_x: Array  # purchase days in (calibration end, holdout end]
    holdout_days: Array  # days from the calibration end to each customer's next purchase


def read_days(name: str) -> tuple[NDArray[Any], NDArray[Any], Array]:
    """(customer index, day number, value) with same-day lines merged, sorted by customer
    then day. The sample file has an extra leading id column."""
    customers, days, values = [], [], []
    with open_cdnow(name) as stream:
        for line in stream:
            fields = line.split()
            if not fields or not fields[-3].isdigit():
                continue  # the master file's header
            customers.append(int(fields[0]))
            days.append(date.fromisoformat(_iso(fields[-3])).toordinal())
            values.append(float(fields[-1]))
    cust, day = np.array(customers), np.array(days)
    keys, inverse = np.unique(np.column_stack([cust, day]), axis=0, return_inverse=True)
    merged = np.bincount(inverse.ravel(), weights=np.array(values))
    _, index = np.unique(keys[:, 0], return_inverse=True)
    return index.ravel(), keys[:, 1], merged.astype(np.float64)


def _iso(yyyymmdd: str) -> str:
    return f"{yyyymmdd[:4]}-{yyyymmdd[4:6]}-{yyyymmdd[6:]}"


def split(
    name: str = "CDNOW_master.txt", end: date = CALIBRATION_END, holdout_end: date = HOLDOUT_END
) -> Split:
    """The calibration summary at `end` (purchases on `end` included) and the holdout."""
    customer, day, value = read_days(name)
    n = int(customer.max()) + 1
    cut, stop = end.toordinal(), holdout_end.toordinal()
    first = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first, customer, day)
    calib = day <= cut
    count = np.bincount(customer[calib], minlength=n)
    last = np.zeros(n, dtype=np.int64)
    np.maximum.at(last, customer[calib], day[calib])
    repeat = calib & (day > first[customer])
    repeat_value = np.bincount(customer[repeat], weights=value[repeat], minlength=n)
    x = (count - 1).astype(np.float64)
    later = (day > cut) & (day <= stop)
    next_day = np.full(n, np.inf)
    np.minimum.at(next_day, customer[later], (day[later] - cut).astype(np.float64))
    return Split(
        x=x,
        t_x=(last - first) / 7.0,
        T=(cut - first) / 7.0,
        m=np.divide(repeat_value, x, out=np.zeros(n), where=x > 0),
        holdout_x=np.bincount(customer[later], minlength=n).astype(np.float64),
        holdout_days=next_day,
    )


def histories(
    name: str = "CDNOW_master.txt", end: date = CALIBRATION_END, holdout_end: date = HOLDOUT_END
) -> tuple[Histories, int]:
    """The file as `scoring.Histories` scored on `end` (day numbers are ordinals), with
    `later_days` the purchase days in (end, holdout_end]; and the scoring day."""
    customer, day, value = read_days(name)
    n = int(customer.max()) + 1
    cut, stop = end.toordinal(), holdout_end.toordinal()
    calib = day <= cut
    first = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first, customer, day)
    last = np.zeros(n, dtype=np.int64)
    np.maximum.at(last, customer[calib], day[calib])
    repeat = calib & (day > first[customer])
    later = (day > cut) & (day <= stop)
    known = first <= cut
    h = Histories(
        customer_id=np.arange(n)[known],
        orders=np.bincount(customer[calib], minlength=n)[known],
        days=np.bincount(customer[calib], minlength=n)[known],
        first=first[known],
        last=last[known],
        value=_sums(customer[calib], value[calib], n)[known],
        repeat_value=_sums(customer[repeat], value[repeat], n)[known],
        later_days=np.bincount(customer[later], minlength=n)[known],
    )
    return h, cut


def _sums(customer: NDArray[Any], value: Array, n: int) -> Array:
    return np.bincount(customer, weights=value, minlength=n).astype(np.float64)
