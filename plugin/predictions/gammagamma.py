"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"; Colombo & Jiang 1999):
fit on customers with repeat purchases, and each customer's expected spend per purchase.

A customer's purchase values are Gamma(p, nu) with nu ~ Gamma(q, v) across customers; the
data per customer are `x` repeat purchases and `m` their mean value (first purchase
excluded, as in the published fit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special

Array = NDArray[np.float64]
GTOL = 1e-6  # largest gradient component per customer at the optimum (log-parameters)
ACCEPT = 1e-4  # …and the largest accepted when the line search stops on precision loss
LOG_LIMIT = 50.0  # parameters stay within e^±50 while the optimiser explores


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    v: float

    @property
    def mean_spend(self) -> float:
        """The population's expected spend per purchase, p·v / (q - 1) (inf for q <= 1)."""
        return self.p * self.v / (self.q - 1) if self.q > 1 else float("inf")


def _negative_ll_and_gradient(log_params: Array, x: Array, m: Array) -> tuple[float, Array]:
    p, q, v = np.exp(np.clip(log_params, -LOG_LIMIT, LOG_LIMIT))
    px = p * x
    total = x * m + v
    ll = (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(v)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(total)
    )
    psi_pxq = special.digamma(px + q)
    d_p = x * (psi_pxq - special.digamma(px) + np.log(m) + np.log(x) - np.log(total))
    d_q = psi_pxq - special.digamma(q) + np.log(v) - np.log(total)
    d_v = q / v - (px + q) / total
    grad = np.array([d_p.sum(), d_q.sum(), d_v.sum()]) * np.array([p, q, v])
    return -float(ll.sum()), -grad


def fit(x: Array, m: Array) -> GammaGamma:
    """Maximum-likelihood parameters over customers with x > 0 and m > 0 (the caller
    filters). ValueError when the optimiser does not converge."""
    start = np.log([1.0, 1.0, max(float(np.mean(m)), 1e-6)])
    result = optimize.minimize(
        _negative_ll_and_gradient,
        start,
        args=(x, m),
        jac=True,
        method="BFGS",
        options={"gtol": GTOL * len(x), "maxiter": 500},
    )
    params = np.exp(result.x)
    flat = float(np.max(np.abs(result.jac))) <= ACCEPT * len(x)  # converged, precision loss
    if not (result.success or flat) or not np.all(np.isfinite(params)):
        raise ValueError(f"Gamma-Gamma fit did not converge: {result.message}")
    return GammaGamma(*(float(v) for v in params))


def expected_spend(g: GammaGamma, x: Array, m: Array) -> Array:
    """E[spend per purchase | x, m] = p (v + x m) / (p x + q - 1): a weighted mean of the
    population mean and the customer's own; the population mean for x = 0."""
    return g.p * (g.v + x * m) / (g.p * x + g.q - 1)
