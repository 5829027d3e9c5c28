"""Mixed model for repeated measures (MMRM) with an unstructured covariance, fitted by REML
(domain.md 7.4).

Model: ``response ~ baseline + visit * arm``, errors correlated within subject with an unrestricted
(unstructured) T x T covariance across the T visits, independent between subjects. Missing visits
are simply absent rows (missing at random, no imputation): each subject contributes the sub-matrix
of its observed visits. statsmodels has no unstructured residual covariance, so the REML fit is
ours:

- the covariance is parametrized by its Cholesky factor with log-diagonal (unconstrained, always
  positive definite);
- the fixed effects are profiled out (generalized least squares at each covariance), and the REML
  log-likelihood is maximized by BFGS with its analytic gradient, then polished by Newton steps;
- subjects are grouped by missingness pattern so every step is a few batched matrix products.

The REML log-likelihood is -1/2 [(N - p) log 2 pi + sum log|Sigma_i| + log|X'V^-1X| + r'V^-1r], the
scale of ``nlme::gls(..., method = "REML")`` (no + 1/2 log|X'X| term), so ``loglik_reml`` equals R's
``logLik``. The fixed-effect covariance is model-based, (X' V^-1 X)^-1. Least-squares means put
the baseline covariate at its mean over the rows used in the fit (emmeans' default).

Degrees of freedom for the t tests and CIs of the arm differences (``df_method``):
- ``"satterthwaite"`` (default, as the R ``mmrm`` package's default): per contrast,
  2 (c'Ac)^2 / (g'Wg) with W the inverse observed REML information; with complete data it is
  exactly n_subjects - 2 per visit. Domain.md 7.4 asks for Kenward-Roger (SAS ``DDFM=KR``): KR uses
  nearly the same df and also inflates the SE for the uncertainty of the covariance estimate;
  that SE adjustment is not made here, so our SEs are the model-based ones (slightly smaller).
- ``"residual"``: N - p (observations minus fixed effects) for every visit, as ``summary.gls``
  reports; it counts observations, not subjects, so it is anticonservative in small trials.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from scipy import linalg, optimize, stats

from ikctrial.errors import InputError
from ikctrial.stats.io import complete_column, numeric_values, require_columns
from ikctrial.stats.rates import full_rank_design, shown, two_levels

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
DFMethod = Literal["satterthwaite", "residual"]

_NEWTON_STEPS = 10
_NEWTON_STOP = 1e-10
_HESSIAN_STEP = 1e-5
# Largest |gradient| of the REML log-likelihood (in the Cholesky parameters) accepted as converged.
_GRADIENT_TOL = 1e-5


def visit_order(values: Sequence[Hashable]) -> list[Hashable]:
    """Visit levels in natural order: numbers by value, labels with numbers inside them by those
    numbers ("WEEK 4" before "WEEK 12"), so the output follows the schedule."""

    def key(value: Hashable) -> tuple[Any, ...]:
        if isinstance(value, int | float | np.integer | np.floating):
            return (0, float(value))
        parts = re.split(r"(\d+(?:\.\d+)?)", str(value))
        return (1, *((0, float(p)) if i % 2 else (1, p) for i, p in enumerate(parts)))

    return sorted(set(values), key=key)


@dataclass(frozen=True)
class VisitComparison:
    """Least-squares means per arm at one visit and the difference second arm minus first."""

    visit: Hashable
    difference: float
    se: float
    df: float
    ci: tuple[float, float]
    p: float
    lsmeans: dict[Hashable, float]
    lsmeans_se: dict[Hashable, float]


@dataclass(frozen=True)
class MMRM:
    """A fitted MMRM: visit-wise LS means and arm differences, REML log-likelihood, covariance."""

    visits: tuple[VisitComparison, ...]
    loglik_reml: float
    coefficients: dict[str, tuple[float, float]]
    covariance: tuple[tuple[float, ...], ...]
    visit_levels: tuple[Hashable, ...]
    arm_levels: tuple[Hashable, Hashable]
    baseline: str | None
    n_subjects: int
    n_obs: int
    df_method: str
    converged: bool
    level: float

    def to_dict(self) -> dict[str, Any]:
        """The ``ikctrial stats mmrm --json`` document (interfaces.md, "Other endpoint models")."""
        return {
            "covariance": "unstructured",
            "visits": [
                {
                    "visit": _plain(v.visit),
                    "difference": v.difference,
                    "se": v.se,
                    "ci": list(v.ci),
                    "p": v.p,
                    "lsmeans": {str(k): x for k, x in v.lsmeans.items()},
                    "lsmeans_se": {str(k): x for k, x in v.lsmeans_se.items()},
                    "df": v.df,
                }
                for v in self.visits
            ],
            "loglik_reml": self.loglik_reml,
            "comparison": {
                "minuend": str(self.arm_levels[1]),
                "subtrahend": str(self.arm_levels[0]),
            },
            "df_method": self.df_method,
            "level": self.level,
            "n_subjects": self.n_subjects,
            "n_obs": self.n_obs,
            "baseline": self.baseline,
            "converged": self.converged,
            "covariance_matrix": [list(row) for row in self.covariance],
            "coefficients": {k: {"coef": b, "se": s} for k, (b, s) in self.coefficients.items()},
        }

    @property
    def summary(self) -> pd.DataFrame:
        """One row per visit: LS mean per arm, difference, SE, CI and p."""
        first, second = self.arm_levels
        return pd.DataFrame(
            [
                {
                    "visit": v.visit,
                    f"lsmean {first}": v.lsmeans[first],
                    f"lsmean {second}": v.lsmeans[second],
                    "difference": v.difference,
                    "se": v.se,
                    "lower": v.ci[0],
                    "upper": v.ci[1],
                    "df": v.df,
                    "p": v.p,
                }
                for v in self.visits
            ]
        ).set_index("visit")


def _plain(value: Hashable) -> Any:
    """A visit label as a JSON-friendly value (numpy scalars become Python numbers)."""
    return value.item() if isinstance(value, np.generic) else value


class _GLS(NamedTuple):
    """Generalized least squares at one covariance: beta, X'V^-1X, per-subject Sigma_i^-1 X_i
    (n, T, p), per-pattern embedded Sigma^-1 (g, T, T) and the sum of log|Sigma_i|."""

    beta: FloatArray
    info: FloatArray
    weighted: FloatArray
    inverses: FloatArray
    logdet: float


class _REML:
    """The REML criterion of the unstructured-covariance model, with fixed effects profiled out.

    Data are held per subject on the full visit grid: ``y`` (n, T) and ``x`` (n, T, p) are zero at
    missing visits, and each subject's Sigma_i^-1 is embedded in a T x T matrix that is zero on the
    missing rows and columns, so every sum over subjects is one batched product. Inverses are
    computed once per missingness pattern.
    """

    def __init__(self, y: FloatArray, x: FloatArray, observed: np.ndarray[Any, Any]) -> None:
        self.y, self.x = y, x
        self.n_visits = observed.shape[1]
        patterns, self.pattern_of = np.unique(observed, axis=0, return_inverse=True)
        self.pattern_of = self.pattern_of.ravel()
        self.masks = patterns.astype(np.float64)
        self.counts = np.bincount(self.pattern_of).astype(np.float64)
        self.rows, self.cols = np.tril_indices(self.n_visits)
        self.diagonal = self.rows == self.cols
        n_obs, n_fixed = int(observed.sum()), x.shape[2]
        self.constant = -0.5 * (n_obs - n_fixed) * math.log(2.0 * math.pi)

    def covariance(self, theta: FloatArray) -> FloatArray:
        """Sigma = L L' from the packed lower triangle of L with log-diagonal."""
        packed = np.array(theta, dtype=np.float64)
        packed[self.diagonal] = np.exp(packed[self.diagonal])
        chol = np.zeros((self.n_visits, self.n_visits))
        chol[self.rows, self.cols] = packed
        return chol @ chol.T

    def parameters(self, sigma: FloatArray) -> FloatArray:
        """The packed parameters of a positive definite covariance."""
        chol = np.linalg.cholesky(sigma)
        packed = np.asarray(chol[self.rows, self.cols], dtype=np.float64)
        packed[self.diagonal] = np.log(packed[self.diagonal])
        return packed

    def gls(self, sigma: FloatArray) -> _GLS:
        """GLS at ``sigma``; raises LinAlgError when a sub-matrix is not positive definite."""
        outer = self.masks[:, :, None] * self.masks[:, None, :]
        embedded = (
            sigma[None] * outer + np.eye(self.n_visits)[None] * (1.0 - self.masks)[:, :, None]
        )
        chol = np.linalg.cholesky(embedded)
        inverses = np.linalg.inv(embedded) * outer
        logdet = float(self.counts @ (2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(1)))
        weighted = inverses[self.pattern_of] @ self.x
        info = np.einsum("nki,nkj->ij", self.x, weighted)
        beta = linalg.solve(info, np.einsum("nki,nk->i", weighted, self.y), assume_a="pos")
        return _GLS(beta, info, weighted, inverses, logdet)

    def loglik_and_gradient(self, theta: FloatArray) -> tuple[float, FloatArray]:
        """REML log-likelihood and its gradient in the packed Cholesky parameters."""
        sigma = self.covariance(theta)
        try:
            fit = self.gls(sigma)
        except (linalg.LinAlgError, np.linalg.LinAlgError, ValueError):
            return -np.inf, np.zeros_like(theta)
        beta, info, weighted = fit.beta, fit.info, fit.weighted
        resid = self.y - self.x @ beta
        scaled = np.einsum("nkl,nl->nk", fit.inverses[self.pattern_of], resid)
        quad = float(np.sum(resid * scaled))
        loglik = self.constant - 0.5 * (fit.logdet + float(np.linalg.slogdet(info)[1]) + quad)
        # d loglik / d Sigma = -1/2 sum_i E_i'[Sigma_i^-1 - Sigma_i^-1 (r_i r_i' + X_i A^-1 X_i')
        # Sigma_i^-1] E_i, with A = X'V^-1X (beta's own derivative drops out at the GLS optimum).
        spread = np.einsum("nki,nli->kl", weighted @ linalg.inv(info), weighted)
        grad_sigma = -0.5 * (
            np.einsum("g,gkl->kl", self.counts, fit.inverses) - scaled.T @ scaled - spread
        )
        chol = np.linalg.cholesky(sigma)
        grad_chol = (2.0 * grad_sigma @ chol)[self.rows, self.cols]
        grad = np.where(self.diagonal, grad_chol * np.diag(chol)[self.cols], grad_chol)
        return loglik, grad

    def maximum(self, start: FloatArray) -> tuple[FloatArray, float, FloatArray]:
        """REML maximum from ``start``: BFGS, then Newton steps on a finite-difference Hessian of
        the analytic gradient (BFGS alone stalls near 1e-7 on the flat REML surface)."""
        fit = optimize.minimize(
            lambda th: tuple(-v for v in self.loglik_and_gradient(th)),
            start,
            jac=True,
            method="BFGS",
            options={"gtol": 1e-9, "maxiter": 2000},
        )
        theta = np.asarray(fit.x, dtype=np.float64)
        loglik, gradient = self.loglik_and_gradient(theta)
        for _ in range(_NEWTON_STEPS):
            if float(np.max(np.abs(gradient))) < _NEWTON_STOP:
                break
            step = np.linalg.solve(self.hessian(theta), gradient)
            trial = theta - step
            trial_loglik, trial_gradient = self.loglik_and_gradient(trial)
            if not trial_loglik >= loglik - 1e-12 * abs(loglik):
                break
            theta, loglik, gradient = trial, trial_loglik, trial_gradient
        return theta, loglik, gradient

    def satterthwaite_df(
        self, theta: FloatArray, contrasts: Sequence[FloatArray], fallback: float
    ) -> list[float]:
        """Satterthwaite df of each contrast c: 2 (c'Ac)^2 / (g' W g), A = (X'V^-1X)^-1, g the
        gradient of c'Ac in the covariance parameters, W the inverse observed REML information
        (as the R ``mmrm`` package's default; central differences here, automatic derivatives
        there). ``fallback`` (the residual df) where the information is not positive definite."""
        information = -self.hessian(theta)
        if np.any(np.linalg.eigvalsh(information) <= 0.0):
            return [fallback] * len(contrasts)
        weights = linalg.inv(information)
        jacobian = []
        for i in range(len(theta)):
            shift = np.zeros_like(theta)
            shift[i] = _HESSIAN_STEP
            upper = linalg.inv(self.gls(self.covariance(theta + shift)).info)
            lower = linalg.inv(self.gls(self.covariance(theta - shift)).info)
            jacobian.append((upper - lower) / (2.0 * _HESSIAN_STEP))
        cov_beta = linalg.inv(self.gls(self.covariance(theta)).info)
        dfs = []
        for c in contrasts:
            gradient = np.array([float(c @ d @ c) for d in jacobian])
            spread = float(gradient @ weights @ gradient)
            variance = float(c @ cov_beta @ c)
            dfs.append(2.0 * variance**2 / spread if spread > 0.0 else fallback)
        return dfs

    def hessian(self, theta: FloatArray) -> FloatArray:
        """Hessian of the REML log-likelihood by central differences of the analytic gradient."""
        columns = []
        for i in range(len(theta)):
            shift = np.zeros_like(theta)
            shift[i] = _HESSIAN_STEP
            columns.append(
                (
                    self.loglik_and_gradient(theta + shift)[1]
                    - self.loglik_and_gradient(theta - shift)[1]
                )
                / (2.0 * _HESSIAN_STEP)
            )
        matrix = np.column_stack(columns)
        return np.asarray((matrix + matrix.T) / 2.0, dtype=np.float64)


def _validated(
    data: pd.DataFrame, subject: str, visit: str, response: str, arm: str, baseline: str | None
) -> pd.DataFrame:
    """Rows with an observed response, checked: one arm and one baseline per subject, one row per
    subject and visit, every visit observed in both arms."""
    columns = [subject, visit, response, arm, *([baseline] if baseline else [])]
    require_columns(data, columns)
    for name in (subject, visit, arm):
        complete_column(data, name)
    if data[response].notna().any():
        numeric_values(data[data[response].notna()], response)
    for label in visit_order(data[visit].tolist()):
        if data.loc[data[visit] == label, response].isna().all():
            raise InputError(visit, f"visit {shown(label)} has no {response} data")
    rows = data[data[response].notna()].copy()
    rows[response] = numeric_values(rows, response)
    per_subject = [arm]
    if baseline:
        rows[baseline] = numeric_values(rows, baseline)
        per_subject.append(baseline)
    for name in per_subject:
        varying = rows.groupby(subject)[name].nunique()
        if (varying > 1).any():
            raise InputError(
                name, f"differs between rows of subject {shown(varying[varying > 1].index[0])}"
            )
    duplicated = rows.duplicated([subject, visit])
    if duplicated.any():
        first = rows[duplicated].iloc[0]
        raise InputError(
            visit,
            f"subject {shown(first[subject])} has more than one row at visit {shown(first[visit])}",
        )
    return rows


def _design(
    visit_index: FloatArray,
    arm_second: FloatArray,
    base: FloatArray | None,
    visits: Sequence[Hashable],
    names: tuple[str, str, str | None],
    second_arm: Hashable,
) -> pd.DataFrame:
    """Design of ``response ~ baseline + visit * arm`` with R's treatment-contrast column names."""
    visit_name, arm_name, base_name = names
    columns: dict[str, FloatArray] = {"(Intercept)": np.ones(len(visit_index))}
    if base_name is not None and base is not None:
        columns[base_name] = base
    for j, level in enumerate(visits[1:], start=1):
        columns[f"{visit_name}{level}"] = (visit_index == j).astype(float)
    columns[f"{arm_name}{second_arm}"] = arm_second
    for j, level in enumerate(visits[1:], start=1):
        columns[f"{visit_name}{level}:{arm_name}{second_arm}"] = (visit_index == j) * arm_second
    return pd.DataFrame(columns)


def mmrm(
    data: pd.DataFrame,
    *,
    subject: str,
    visit: str,
    response: str,
    arm: str,
    baseline: str | None = None,
    level: float = 0.95,
    df_method: DFMethod = "satterthwaite",
) -> MMRM:
    """Fit ``response ~ baseline + visit * arm`` with unstructured covariance by REML and return the
    LS means per visit and arm and the difference (second arm level in sorted order minus first),
    matched to ``nlme::gls(corSymm, varIdent, method = "REML")``. Rows with a missing response are
    missing visits; a subject keeps the visits it has."""
    if not 0.0 < level < 1.0:
        raise InputError("level", f"{level!r} is not between 0 and 1")
    if df_method not in ("satterthwaite", "residual"):
        raise InputError("df", f"{df_method!r} is not one of satterthwaite, residual")
    rows = _validated(data, subject, visit, response, arm, baseline)
    first_arm, second_arm = two_levels(rows, arm)
    visits = visit_order(rows[visit].tolist())
    for name in visits:
        seen = set(rows.loc[rows[visit] == name, arm])
        for level_name in (first_arm, second_arm):
            if level_name not in seen:
                raise InputError(
                    visit,
                    f"visit {shown(name)} has no {response} data in arm {shown(level_name)}",
                )

    position = {name: j for j, name in enumerate(visits)}
    visit_index = rows[visit].map(position).to_numpy(dtype=int)
    names = (visit, arm, baseline)
    arm_second = np.asarray(rows[arm] == second_arm, dtype=np.float64)
    base = rows[baseline].to_numpy(dtype=float) if baseline else None
    design = _design(visit_index.astype(float), arm_second, base, visits, names, second_arm)
    x = full_rank_design(design, baseline or visit)
    y = rows[response].to_numpy(dtype=float)
    n_obs, n_fixed = x.shape
    if n_obs <= n_fixed:
        raise InputError(response, f"{n_obs} observations cannot fit {n_fixed} fixed effects")

    reml = _REML(*_subject_grid(rows[subject].to_numpy(), visit_index, y, x, len(visits)))
    start = _starting_covariance(y, x, visit_index, len(visits))
    theta, loglik, gradient = reml.maximum(reml.parameters(start))
    sigma = reml.covariance(theta)
    fit = reml.gls(sigma)
    beta, info = fit.beta, fit.info
    cov_beta = linalg.inv(info)
    converged = bool(np.isfinite(loglik)) and float(np.max(np.abs(gradient))) < _GRADIENT_TOL

    base_mean = float(np.mean(base)) if base is not None else None

    def lsmean_vector(j: int, second: float) -> FloatArray:
        at_base = None if base_mean is None else np.array([base_mean])
        row = _design(np.array([float(j)]), np.array([second]), at_base, visits, names, second_arm)
        vector: FloatArray = row.to_numpy(dtype=float)[0]
        return vector

    lsmeans = [
        {first_arm: lsmean_vector(j, 0.0), second_arm: lsmean_vector(j, 1.0)}
        for j in range(len(visits))
    ]
    contrasts = [v[second_arm] - v[first_arm] for v in lsmeans]
    residual_df = float(n_obs - n_fixed)
    dfs = (
        reml.satterthwaite_df(theta, contrasts, fallback=residual_df)
        if df_method == "satterthwaite"
        else [residual_df] * len(contrasts)
    )
    comparisons = []
    for name, vectors, contrast, df in zip(visits, lsmeans, contrasts, dfs, strict=True):
        estimate = float(contrast @ beta)
        se = math.sqrt(float(contrast @ cov_beta @ contrast))
        t_crit = float(stats.t.ppf(0.5 + level / 2.0, df))
        comparisons.append(
            VisitComparison(
                visit=name,
                difference=estimate,
                se=se,
                df=df,
                ci=(estimate - t_crit * se, estimate + t_crit * se),
                p=float(2.0 * stats.t.sf(abs(estimate / se), df)),
                lsmeans={k: float(v @ beta) for k, v in vectors.items()},
                lsmeans_se={k: math.sqrt(float(v @ cov_beta @ v)) for k, v in vectors.items()},
            )
        )
    ses = np.sqrt(np.diag(cov_beta))
    return MMRM(
        visits=tuple(comparisons),
        loglik_reml=loglik,
        coefficients={
            n: (float(b), float(s)) for n, b, s in zip(design.columns, beta, ses, strict=True)
        },
        covariance=tuple(tuple(float(v) for v in r) for r in sigma),
        visit_levels=tuple(visits),
        arm_levels=(first_arm, second_arm),
        baseline=baseline,
        n_subjects=int(rows[subject].nunique()),
        n_obs=n_obs,
        df_method=df_method,
        converged=converged,
        level=level,
    )


def _subject_grid(
    subjects: np.ndarray[Any, Any],
    visit_index: np.ndarray[Any, Any],
    y: FloatArray,
    x: FloatArray,
    n_visits: int,
) -> tuple[FloatArray, FloatArray, np.ndarray[Any, Any]]:
    """Responses (n, T), designs (n, T, p) and the observed mask (n, T) on the subject x visit grid,
    zero where a visit is missing."""
    codes, uniques = pd.factorize(subjects)
    y_grid = np.zeros((len(uniques), n_visits))
    x_grid = np.zeros((len(uniques), n_visits, x.shape[1]))
    observed = np.zeros((len(uniques), n_visits), dtype=bool)
    y_grid[codes, visit_index] = y
    x_grid[codes, visit_index] = x
    observed[codes, visit_index] = True
    return y_grid, x_grid, observed


def _starting_covariance(
    y: FloatArray, x: FloatArray, visit_index: Any, n_visits: int
) -> FloatArray:
    """Diagonal start: per-visit variance of the ordinary least-squares residuals."""
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    variances = [float(np.mean(resid[visit_index == j] ** 2)) for j in range(n_visits)]
    return np.diag([v if v > 0 else 1.0 for v in variances])
