"""The scipy BG/NBD and Gamma-Gamma against the published CDNOW fits and `lifetimes`
0.11.3 (a test-only oracle), and the scores' quality on the standard 39-week split."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from scipy.stats import rankdata

from plugin.data import CDNOW_REFERENCE_FITS
from plugin.predictions import bgnbd, cdnow, gammagamma, scoring

PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # FHL 2005, sample
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "v": 15.44}
LIFETIMES_MASTER = {"r": 0.2516, "alpha": 4.7889, "a": 0.7234, "b": 2.1611}
NINETY_DAYS = 90 / 7  # weeks


@pytest.fixture(scope="module")
def sample() -> cdnow.Split:
    return cdnow.split("CDNOW_sample.txt")


@pytest.fixture(scope="module")
def master() -> cdnow.Split:
    return cdnow.split("CDNOW_master.txt")


def fit_bgnbd(s: cdnow.Split) -> bgnbd.BgNbd:
    return bgnbd.fit(bgnbd.Summary.of(s.x, s.t_x, s.T))[0]


def fit_gg(s: cdnow.Split) -> gammagamma.GammaGamma:
    repeat = (s.x > 0) & (s.m > 0)
    return gammagamma.fit(s.x[repeat], s.m[repeat])


def within(got: object, expected: dict[str, float], tolerance: float = 0.01) -> None:
    for name, value in expected.items():
        assert getattr(got, name) == pytest.approx(value, rel=tolerance), name


def test_the_split_counts_distinct_purchase_days(sample: cdnow.Split) -> None:
    assert len(sample.x) == 2357
    assert int(sample.x.sum()) == 2_457  # repeat purchases in 39 weeks, as FHL (2005) report
    assert int(np.count_nonzero((sample.x > 0) & (sample.m > 0))) == 946


def test_bgnbd_on_the_paper_sample_is_within_1_percent_of_the_published_fit(
    sample: cdnow.Split,
) -> None:
    within(fit_bgnbd(sample), PUBLISHED_BGNBD)


def test_gamma_gamma_on_the_paper_sample_is_within_1_percent_of_the_published_fit(
    sample: cdnow.Split,
) -> None:
    within(fit_gg(sample), PUBLISHED_GG)


def test_bgnbd_on_the_master_file_is_within_1_percent_of_lifetimes(master: cdnow.Split) -> None:
    within(fit_bgnbd(master), LIFETIMES_MASTER)
    reference = json.loads(CDNOW_REFERENCE_FITS.read_text())["cdnow_master_23570"]
    within(fit_gg(master), reference["gg_params"])


def lifetimes_fitters():  # type: ignore[no-untyped-def]
    """lifetimes imports pandas/autograd idioms that warn on current versions."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes import BetaGeoFitter, GammaGammaFitter
    return BetaGeoFitter, GammaGammaFitter


def test_lifetimes_fits_the_same_parameters_and_scores(master: cdnow.Split) -> None:
    beta_geo, gamma_gamma = lifetimes_fitters()
    ours = fit_bgnbd(master)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        oracle = beta_geo().fit(master.x, master.t_x, master.T)
        repeat = (master.x > 0) & (master.m > 0)
        spend = gamma_gamma().fit(master.x[repeat], master.m[repeat])
    within(ours, dict(oracle.params_), 0.001)
    within(fit_gg(master), dict(spend.params_), 0.001)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        oracle.params_ = {"r": ours.r, "alpha": ours.alpha, "a": ours.a, "b": ours.b}
        alive = oracle.conditional_probability_alive(master.x, master.t_x, master.T)
        expected = oracle.conditional_expected_number_of_purchases_up_to_time(
            NINETY_DAYS, master.x, master.t_x, master.T
        )
        new_customer = [oracle.probability_of_n_purchases_up_to_time(t, 0) for t in (1, 13, 52)]
    args = (ours, master.x, master.t_x, master.T)
    np.testing.assert_allclose(bgnbd.p_alive(*args), alive, rtol=1e-9)
    np.testing.assert_allclose(bgnbd.expected_purchases(*args, NINETY_DAYS), expected, rtol=1e-9)
    zero = np.zeros(1)
    for t, p_none in zip((1, 13, 52), new_customer, strict=True):
        # a customer just acquired: the conditional and unconditional P(no purchase) agree
        assert bgnbd.p_no_purchase(ours, zero, zero, zero, t)[0] == pytest.approx(p_none)


def test_churn_risk_is_the_simulated_share_of_customers_with_no_purchase() -> None:
    """Customers simulated from the model: their mean predicted P(no purchase in 90 days)
    matches how many really bought nothing, within each band of predicted risk."""
    from benchmarks.predictions import CDNOW_MODEL, TODAY, simulate

    sim = simulate(40_000, history_days=365, today=TODAY + 90, seed=5)
    early = sim.day <= TODAY
    known = np.unique(sim.customer[early])
    h = cdnow_like(sim.customer[early], sim.day[early])
    x, t_x, T = (h[0] - 1), (h[2] - h[1]) / 7.0, (TODAY - h[1]) / 7.0
    risk = bgnbd.p_no_purchase(CDNOW_MODEL, x, t_x, T, NINETY_DAYS)
    bought = np.isin(known, sim.customer[sim.day > TODAY])
    for low, high in ((0, 0.5), (0.5, 0.8), (0.8, 0.9), (0.9, 1.01)):
        band = (risk >= low) & (risk < high)
        assert band.sum() > 500
        assert risk[band].mean() == pytest.approx(1 - bought[band].mean(), abs=0.02)


def cdnow_like(customer: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, ...]:
    """(purchase days, first day, last day) per customer of sorted (customer, day) rows."""
    keys = np.unique(np.column_stack([customer, day]), axis=0)
    _ids, index, count = np.unique(keys[:, 0], return_index=True, return_counts=True)
    last = keys[index + count - 1, 1]
    return count.astype(float), keys[index, 1].astype(float), last.astype(float)


def holdout_by_frequency(s: cdnow.Split, m: bgnbd.BgNbd) -> list[tuple[str, int, float, float]]:
    """(calibration repeat purchases, customers, predicted, actual) over the 39-week holdout."""
    predicted = bgnbd.expected_purchases(m, s.x, s.t_x, s.T, 39.0)
    rows = []
    for label, members in [(str(f), s.x == f) for f in range(7)] + [("7+", s.x >= 7)]:
        rows.append(
            (label, int(members.sum()), predicted[members].sum(), s.holdout_x[members].sum())
        )
    return rows


def test_holdout_repeat_purchases_total_within_15_percent(master: cdnow.Split) -> None:
    rows = holdout_by_frequency(master, fit_bgnbd(master))
    predicted, actual = sum(r[2] for r in rows), sum(r[3] for r in rows)
    assert actual == 19_684
    assert predicted == pytest.approx(16_873.7, abs=1)  # lifetimes' figure, -14%
    assert abs(predicted - actual) / actual <= 0.15


def auc(score: np.ndarray, positive: np.ndarray) -> float:
    ranks = rankdata(score)
    n1, n0 = positive.sum(), (~positive).sum()
    return float((ranks[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def test_churn_risk_auc_on_the_master_file_is_at_least_075() -> None:
    h, today = cdnow.histories()
    scores, fit = scoring.score(h, today)
    assert fit.kind == "model"
    no_purchase = cdnow.split().holdout_days > 90
    assert auc(scores.churn_risk, no_purchase) >= 0.75
    # the blind spot it avoids: 1 - P(alive) is 0 for every one-time buyer
    assert auc(1 - scores.p_alive, no_purchase) < 0.5
