"""BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way"): the likelihood,
its fit, and the per-customer quantities the scores are made of, vectorised over a shop.

Inputs per customer: `x` repeat purchases (distinct purchase days after the first), `t_x`
the time of the last one and `T` the customer's age, both measured from the first
purchase, in weeks (the unit of the published fits; only `alpha` depends on it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special

Array = NDArray[np.float64]
GTOL = 1e-6  # largest gradient component per customer at the optimum (log-parameters)
ACCEPT = 1e-4  # …and the largest accepted when the line search stops on precision loss
LOG_LIMIT = 30.0  # parameters stay within e^±30 while the optimiser explores


@dataclass(frozen=True)
class BgNbd:
    """Purchase rate λ ~ Gamma(r, alpha); drop-out after each purchase p ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class Summary:
    """Customers in the shape the model reads; `weight` counts identical customers once."""

    x: Array
    t_x: Array
    T: Array
    weight: Array

    @classmethod
    def of(cls, x: Array, t_x: Array, T: Array) -> Summary:
        """Identical (x, t_x, T) rows collapsed: the fit's cost follows distinct rows."""
        rows, counts = np.unique(np.column_stack([x, t_x, T]), axis=0, return_counts=True)
        return cls(rows[:, 0], rows[:, 1], rows[:, 2], counts.astype(np.float64))


def _terms(params: Array, s: Summary) -> tuple[Array, ...]:
    """The four log-terms of the likelihood (FHL 2005, eq. 6), with a4 = -inf where x = 0."""
    r, alpha, a, b = params
    x = s.x
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = (
        special.gammaln(a + b)
        + special.gammaln(b + x)
        - special.gammaln(b)
        - special.gammaln(a + b + x)
    )
    a3 = -(r + x) * np.log(alpha + s.T)
    repeat = x > 0
    a4 = np.full_like(x, -np.inf)
    xr = x[repeat]
    a4[repeat] = np.log(a) - np.log(b + xr - 1) - (r + xr) * np.log(alpha + s.t_x[repeat])
    return a1, a2, a3, a4


def log_likelihood(params: BgNbd, s: Summary) -> float:
    """Sum of the customers' log-likelihoods (weighted)."""
    a1, a2, a3, a4 = _terms(np.array([params.r, params.alpha, params.a, params.b]), s)
    return float(np.sum(s.weight * (a1 + a2 + np.logaddexp(a3, a4))))


def _negative_ll_and_gradient(log_params: Array, s: Summary) -> tuple[float, Array]:
    """-LL and its gradient in log-parameters (positivity for free, well-scaled steps)."""
    params = np.exp(np.clip(log_params, -LOG_LIMIT, LOG_LIMIT))
    r, alpha, a, b = params
    x, w = s.x, s.weight
    a1, a2, a3, a4 = _terms(params, s)
    mix = np.logaddexp(a3, a4)
    w3, w4 = np.exp(a3 - mix), np.exp(a4 - mix)  # posterior weights of the two branches
    repeat = x > 0
    tx_term = np.where(repeat, np.log(alpha + s.t_x), 0.0)
    d_r = special.digamma(r + x) - special.digamma(r) + np.log(alpha)
    d_r += -w3 * np.log(alpha + s.T) - w4 * tx_term
    d_alpha = r / alpha - w3 * (r + x) / (alpha + s.T) - w4 * (r + x) / (alpha + s.t_x)
    psi_ab, psi_abx = special.digamma(a + b), special.digamma(a + b + x)
    d_a = psi_ab - psi_abx + w4 / a
    d_b = psi_ab + special.digamma(b + x) - special.digamma(b) - psi_abx
    d_b -= w4 / np.where(repeat, b + x - 1, 1.0)
    grad = np.array([np.sum(w * d) for d in (d_r, d_alpha, d_a, d_b)])
    return -float(np.sum(w * (a1 + a2 + mix))), -grad * params


def fit(s: Summary, start: BgNbd | None = None) -> tuple[BgNbd, float]:
    """Maximum-likelihood parameters and the log-likelihood at them. ValueError when the
    optimiser does not converge to finite parameters (the caller falls back)."""
    init = start or BgNbd(1.0, float(max(np.average(s.T, weights=s.weight), 1.0)), 1.0, 1.0)
    x0 = np.log([init.r, init.alpha, init.a, init.b])
    total = float(np.sum(s.weight))
    result = optimize.minimize(
        _negative_ll_and_gradient,
        x0,
        args=(s,),
        jac=True,
        method="BFGS",
        options={"gtol": GTOL * total, "maxiter": 500},
    )
    params = np.exp(result.x)
    # BFGS stops on "precision loss" next to an optimum, and a, b → ∞ at a fixed ratio
    # (every customer shares one drop-out probability) is a flat ridge: a gradient this
    # small is converged either way
    flat = float(np.max(np.abs(result.jac))) <= ACCEPT * total
    if not (result.success or flat) or not np.all(np.isfinite(params)):
        raise ValueError(f"BG/NBD fit did not converge: {result.message}")
    fitted = BgNbd(*(float(v) for v in params))
    return fitted, -float(result.fun)


def p_alive(m: BgNbd, x: Array, t_x: Array, T: Array) -> Array:
    """P(still a customer at T | x, t_x, T) (FHL 2005, eq. 13); 1 for x = 0 by the model."""
    ratio = np.exp((m.r + x) * (np.log(m.alpha + T) - np.log(m.alpha + t_x)))
    odds = np.where(x > 0, m.a / np.maximum(m.b + x - 1, 1e-12) * ratio, 0.0)
    return 1.0 / (1.0 + odds)


def p_no_purchase(m: BgNbd, x: Array, t_x: Array, T: Array, t: float) -> Array:
    """P(no purchase in (T, T + t] | x, t_x, T): dead already, or alive and the Poisson
    process gives no event. Given alive at T, λ ~ Gamma(r + x, alpha + T) a posteriori, so
    P(none | alive) = ((alpha + T) / (alpha + T + t)) ** (r + x)."""
    quiet = np.exp((m.r + x) * (np.log(m.alpha + T) - np.log(m.alpha + T + t)))
    return 1.0 - p_alive(m, x, t_x, T) * (1.0 - quiet)


def expected_purchases(m: BgNbd, x: Array, t_x: Array, T: Array, t: float) -> Array:
    """E[purchases in (T, T + t] | x, t_x, T] (FHL 2005, eq. 10)."""
    r, alpha, a, b = m.r, m.alpha, m.a, m.b
    z = t / (alpha + T + t)
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    lead = (a + b + x - 1) / (a - 1)
    body = 1.0 - np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t))) * hyp
    return lead * body * p_alive(m, x, t_x, T)


def expected_interval(m: BgNbd, x: Array, T: Array) -> Array:
    """1 / E[λ | alive, x, T] = (alpha + T) / (r + x): the customer's expected time between
    purchases while still a customer, their own rhythm shrunk toward the shop's."""
    return (m.alpha + T) / (m.r + x)
