"""Cox proportional-hazards model (domain.md 7.5), matched to R ``survival::coxph``.

Newton-Raphson on the partial likelihood with Efron (default, as R) or Breslow ties, strata
(separate baseline hazards), and the robust sandwich variance (Lin-Wei: score residuals times the
model variance, summed within clusters, as ``coxph(..., robust = TRUE)`` / ``cluster(id)``).
Reports Wald, likelihood-ratio and score tests, hazard ratios with Wald CIs and the log-likelihood.

Everything is vectorized over subjects: subjects are sorted by (stratum, time); risk-set sums are
reverse cumulative sums read at the first position of each tie block, and the Efron terms of the
d deaths of a block are one row per death. The information matrix never builds a p x p matrix per
event time: the risk-set part is ``X' diag(h) X`` with ``h`` the cumulative Efron weights.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Self

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from ikctrial.errors import InputError
from ikctrial.stats.io import level_codes, survival_columns
from ikctrial.stats.kaplan_meier import check_level
from ikctrial.stats.risk_sets import FloatArray

Ties = Literal["efron", "breslow"]
TIES: tuple[Ties, ...] = ("efron", "breslow")
IntArray = NDArray[np.intp]

# R coxph.control defaults are eps = 1e-9, iter.max = 20; we iterate to a tighter tolerance so the
# estimate is the maximum itself (R's reference values are produced with eps = 1e-12 as well).
_EPS = 1e-12
_MAX_ITER = 50
_MAX_HALVING = 30


class CoxSeparationWarning(UserWarning):
    """A coefficient diverges (separation, monotone likelihood): its estimate is infinite."""


def check_ties(ties: str) -> Ties:
    """The ties method, efron or breslow."""
    for known in TIES:
        if ties == known:
            return known
    raise InputError("--ties", f"{ties!r} is not one of {', '.join(TIES)}")


@dataclass(frozen=True)
class _Layout:
    """Index arrays that place each subject (kept in input order) in the risk-set structure.

    Subjects are never reordered: sorting by (stratum, time) happens once, to find the event
    blocks (distinct event times within a stratum); after that every pass over subjects reads
    them sequentially and adds into per-block arrays, which stay small when times are tied.
    """

    x: FloatArray  # (n, p) centered covariates, column-major, input order
    dead: NDArray[np.bool_]
    x_dead_sum: FloatArray  # sum of x over the deaths (the observed part of the score)
    n_blocks: int
    segment: IntArray  # per subject: the event block whose segment holds it (n_blocks: none)
    death_key: IntArray  # per subject: its event block if it died, else n_blocks
    block_stop: IntArray  # per event block: the first event block of the next stratum
    upto: IntArray  # per subject: event blocks at or before its time (running count) ...
    since: IntArray  # ... and before its stratum, so the difference counts its risk sets
    block_start: IntArray  # per event block: first index of its deaths in the expanded arrays
    block_size: FloatArray  # deaths per event block
    death_block: IntArray  # expanded: event block of each death (block by block)
    fraction: FloatArray  # expanded: Efron l / d of each death (0 for Breslow)


def _layout(
    x: FloatArray, time: FloatArray, dead: NDArray[np.bool_], stratum: IntArray, ties: Ties
) -> _Layout:
    order = np.lexsort((time, stratum)) if stratum.any() else np.argsort(time)
    t, s, died = time[order], stratum[order], dead[order]
    n = t.size
    new_stratum = np.ones(n, dtype=bool)
    new_stratum[1:] = s[1:] != s[:-1]
    new_time = new_stratum.copy()
    new_time[1:] |= t[1:] != t[:-1]
    position = np.arange(n)
    tie_first = np.maximum.accumulate(np.where(new_time, position, 0))
    stratum_first = np.maximum.accumulate(np.where(new_stratum, position, 0))
    stratum_stop = np.append(np.flatnonzero(new_stratum)[1:], n)[np.cumsum(new_stratum) - 1]
    opens_block = np.zeros(n, dtype=np.intp)  # 1 at the first position of each event block
    opens_block[tie_first[died]] = 1
    risk_first = np.flatnonzero(opens_block)
    n_blocks = risk_first.size
    upto = np.cumsum(opens_block)  # event blocks starting at or before each position
    since = (upto - opens_block)[stratum_first]
    block_size = np.bincount(upto[died] - 1, minlength=n_blocks).astype(np.float64)
    block_start = np.concatenate(([0], np.cumsum(block_size)[:-1])).astype(np.intp)
    death_block = np.repeat(np.arange(n_blocks), block_size.astype(np.intp))
    rank = np.arange(death_block.size) - block_start[death_block]
    fraction = rank / block_size[death_block] if ties == "efron" else np.zeros(rank.size)

    def unsorted(values: IntArray) -> IntArray:
        out = np.empty_like(values)
        out[order] = values
        return out

    upto_of = unsorted(upto)
    since_of = unsorted(since) if stratum.any() else np.zeros(n, dtype=np.intp)
    # the event block whose segment holds the subject (none before its stratum's first event)
    segment_of = np.where(upto_of > since_of, upto_of - 1, n_blocks)
    return _Layout(
        x=np.asfortranarray(x),
        dead=dead,
        x_dead_sum=x[dead].sum(axis=0),
        n_blocks=n_blocks,
        segment=segment_of,
        death_key=np.where(dead, segment_of, n_blocks),
        block_stop=np.searchsorted(risk_first, stratum_stop[risk_first], side="left"),
        upto=upto_of,
        since=since_of,
        block_start=block_start,
        block_size=block_size,
        death_block=death_block,
        fraction=fraction,
    )


def _block_sums(layout: _Layout, key: IntArray, values: FloatArray) -> FloatArray:
    """Sum per-subject values (n,) or (n, p) into event blocks by ``key`` (n_blocks: dropped)."""
    size = layout.n_blocks + 1
    if values.ndim == 1:
        return np.bincount(key, weights=values, minlength=size)[:-1].astype(np.float64)
    columns = [
        np.bincount(key, weights=values[:, j], minlength=size)[:-1] for j in range(values.shape[1])
    ]
    return np.column_stack(columns).astype(np.float64)


def _risk_sums(layout: _Layout, values: FloatArray) -> FloatArray:
    """Sums over the risk set of each event block: everyone in its stratum from its time on
    (segment sums, then reverse running sums within the stratum)."""
    tail = _tail_sums(_block_sums(layout, layout.segment, values))
    return np.asarray(tail[:-1] - tail[layout.block_stop], dtype=np.float64)


def _cumulative(layout: _Layout, per_block: FloatArray) -> FloatArray:
    """For each subject: the sum of ``per_block`` over the event blocks of its stratum at or
    before its time (the risk sets it belongs to)."""
    running = np.zeros((per_block.shape[0] + 1, *per_block.shape[1:]))
    np.cumsum(per_block, axis=0, out=running[1:])
    return np.asarray(running[layout.upto] - running[layout.since], dtype=np.float64)


def _tail_sums(values: FloatArray) -> FloatArray:
    """Sums from each position to the end (one extra trailing zero row)."""
    tail = np.zeros((values.shape[0] + 1, *values.shape[1:]))
    np.cumsum(values[::-1], axis=0, out=tail[-2::-1])
    return tail


def _per_block(layout: _Layout, per_death: FloatArray) -> FloatArray:
    """Sum values of the expanded deaths (block by block) within each event block."""
    return np.asarray(np.add.reduceat(per_death, layout.block_start, axis=0), dtype=np.float64)


@dataclass(frozen=True)
class _Terms:
    loglik: float
    score: FloatArray
    information: FloatArray
    weight: FloatArray  # exp(eta - shift) per subject
    den: FloatArray  # per expanded death: Efron denominator risk0 - f dead0
    risk1: FloatArray  # per event block: sum of w x over the risk set
    dead1: FloatArray  # per event block: sum of w x over its deaths


def _terms(layout: _Layout, beta: FloatArray) -> _Terms:
    """Partial log-likelihood, score and information at beta.

    Death l of a block has ``xbar_l = (risk1 - f_l dead1) / den_l`` with a scalar ``den_l``, so the
    sums over deaths of xbar_l and xbar_l xbar_l' are per-block vectors and matrices weighted by
    scalar sums of 1/den, f/den, 1/den^2, f/den^2 and f^2/den^2: no p-vector per death.
    """
    # einsum, not BLAS gemv, whose threads stall when the CPUs are busy
    eta = np.einsum("ij,j->i", layout.x, beta)
    shift = float(eta.max())
    w = np.exp(np.subtract(eta, shift, out=eta), out=eta)
    wx = np.multiply(layout.x, w[:, None], order="F")
    risk0, risk1 = _risk_sums(layout, w), _risk_sums(layout, wx)
    dead0 = _block_sums(layout, layout.death_key, w)
    dead1 = _block_sums(layout, layout.death_key, wx)
    g, f = layout.death_block, layout.fraction
    den = risk0[g] - f * dead0[g]
    inverse = 1.0 / den
    a, c = _per_block(layout, inverse), _per_block(layout, f * inverse)
    a2, c2, e2 = (_per_block(layout, v * inverse**2) for v in (1.0, f, f * f))
    loglik = float(layout.x_dead_sum @ beta - g.size * shift - np.sum(np.log(den)))
    score = layout.x_dead_sum - (risk1 * a[:, None] - dead1 * c[:, None]).sum(axis=0)
    cross = risk1.T @ (dead1 * c2[:, None])
    xbar_squares = (
        risk1.T @ (risk1 * a2[:, None]) - cross - cross.T + dead1.T @ (dead1 * e2[:, None])
    )
    h = w * _cumulative(layout, a)
    h -= np.where(layout.dead, w, 0.0) * np.append(c, 0.0)[layout.death_key]
    np.multiply(layout.x, h[:, None], out=wx)
    information = wx.T @ layout.x - xbar_squares
    return _Terms(loglik, score, information, w, den, risk1, dead1)


def _score_residuals(layout: _Layout, terms: _Terms) -> FloatArray:
    """Score residuals per subject (R ``residuals(fit, "score")``, Efron-weighted): each death
    gets x minus the mean of its block's xbar; everyone at risk loses its share of every death's
    (x - xbar) / den, a death sharing (1 - l/d) of its own block's."""
    f, g, w, x = layout.fraction, layout.death_block, terms.weight, layout.x
    inverse = 1.0 / terms.den
    xbar = (terms.risk1[g] - f[:, None] * terms.dead1[g]) * inverse[:, None]
    weighted = xbar * inverse[:, None]
    cum_a = _cumulative(layout, _per_block(layout, inverse))
    cum_b = _cumulative(layout, _per_block(layout, weighted))
    residual = -w[:, None] * (x * cum_a[:, None] - cum_b)
    block = layout.death_key[layout.dead]
    own_c = _per_block(layout, f * inverse)[block]
    own_d = _per_block(layout, weighted * f[:, None])[block]
    mean_xbar = (_per_block(layout, xbar) / layout.block_size[:, None])[block]
    x_dead, w_dead = x[layout.dead], w[layout.dead]
    residual[layout.dead] += (
        x_dead - mean_xbar + w_dead[:, None] * (x_dead * own_c[:, None] - own_d)
    )
    return residual


@dataclass(frozen=True)
class CoxResult:
    """A fitted Cox model, with what R ``summary(coxph(...))`` reports."""

    names: list[str]
    coef: FloatArray
    var: FloatArray
    robust_var: FloatArray | None
    loglik_null: float
    loglik: float
    score_test: float
    n: int
    events: int
    ties: Ties
    level: float
    converged: bool
    infinite: list[str]

    @property
    def se(self) -> FloatArray:
        """Model-based standard errors."""
        return np.asarray(np.sqrt(np.diag(self.var)), dtype=np.float64)

    @property
    def robust_se(self) -> FloatArray | None:
        """Robust (sandwich) standard errors, when requested."""
        if self.robust_var is None:
            return None
        return np.asarray(np.sqrt(np.diag(self.robust_var)), dtype=np.float64)

    @property
    def _used_var(self) -> FloatArray:
        return self.var if self.robust_var is None else self.robust_var

    @property
    def _used_se(self) -> FloatArray:
        return np.asarray(np.sqrt(np.diag(self._used_var)), dtype=np.float64)

    @property
    def p_values(self) -> FloatArray:
        """Two-sided Wald p-values (robust SE when requested, as R)."""
        return np.asarray(2.0 * stats.norm.sf(np.abs(self.coef / self._used_se)), dtype=np.float64)

    @property
    def hr_ci(self) -> tuple[FloatArray, FloatArray]:
        """Wald confidence limits of the hazard ratios (robust SE when requested, as R)."""
        z = float(stats.norm.ppf(1.0 - (1.0 - self.level) / 2.0))
        with np.errstate(over="ignore"):  # a diverging coefficient has an unbounded interval
            return np.exp(self.coef - z * self._used_se), np.exp(self.coef + z * self._used_se)

    @property
    def likelihood_ratio_test(self) -> tuple[float, int, float]:
        """Likelihood-ratio chi-square, df, p."""
        chisq = 2.0 * (self.loglik - self.loglik_null)
        return chisq, self.coef.size, float(stats.chi2.sf(chisq, self.coef.size))

    @property
    def wald_test(self) -> tuple[float, int, float]:
        """Global Wald chi-square, df, p (robust variance when requested, as R)."""
        chisq = float(self.coef @ np.linalg.solve(self._used_var, self.coef))
        return chisq, self.coef.size, float(stats.chi2.sf(chisq, self.coef.size))

    @property
    def score_logrank_test(self) -> tuple[float, int, float]:
        """Score (log-rank) test at beta = 0: chi-square, df, p."""
        return (
            self.score_test,
            self.coef.size,
            float(stats.chi2.sf(self.score_test, self.coef.size)),
        )

    @property
    def summary(self) -> pd.DataFrame:
        """One row per coefficient: coef, exp(coef), se, robust se, z, p and the HR interval."""
        lower, upper = self.hr_ci
        robust = self.robust_se
        return pd.DataFrame(
            {
                "coef": self.coef,
                "exp(coef)": np.exp(self.coef),
                "se(coef)": self.se,
                "robust se": np.full(self.coef.size, np.nan) if robust is None else robust,
                "z": self.coef / self._used_se,
                "p": self.p_values,
                "lower": lower,
                "upper": upper,
            },
            index=pd.Index(self.names, name="covariate"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The interfaces.md JSON document."""
        lower, upper = self.hr_ci
        robust = self.robust_se
        return {
            "coefficients": {
                name: {
                    "coef": float(self.coef[i]),
                    "se": float(self.se[i]),
                    "robust_se": None if robust is None else float(robust[i]),
                    "hr": float(np.exp(self.coef[i])),
                    "ci": [float(lower[i]), float(upper[i])],
                    "p": float(self.p_values[i]),
                }
                for i, name in enumerate(self.names)
            },
            "loglik": self.loglik,
            "n": self.n,
            "events": self.events,
            "ties": self.ties,
        }


def _check_design(x: FloatArray, names: Sequence[str]) -> None:
    """A covariate with zero variance cannot be estimated: say which one."""
    for constant in np.flatnonzero(np.ptp(x, axis=0) == 0).tolist():
        raise InputError(
            names[constant],
            f"has zero variance (every value is {x[0, constant]:g}); its effect is not estimable",
        )


def _check_information(information: FloatArray, names: Sequence[str]) -> None:
    """A covariate the partial likelihood cannot tell apart from those before it (collinear over
    the risk sets, as the information at beta = 0 shows) cannot be estimated: say which one."""
    scale = np.sqrt(np.diag(information))
    for j, name in enumerate(names):
        if not scale[j] > 0:
            raise InputError(
                name, "does not vary within the risk sets; its effect is not estimable"
            )
        block = information[: j + 1, : j + 1] / np.outer(scale[: j + 1], scale[: j + 1])
        # smallest eigenvalue ~ 1 - R^2 of the covariate on those before it
        if j and np.linalg.eigvalsh(block)[0] < 1e-10:
            raise InputError(name, "is collinear with the covariates before it")


def cox_fit(
    x: FloatArray,
    time: FloatArray,
    event: NDArray[np.bool_],
    *,
    names: Sequence[str],
    strata: IntArray | None = None,
    cluster: IntArray | None = None,
    ties: Ties = "efron",
    robust: bool = False,
    level: float = 0.95,
    event_field: str = "event",
) -> CoxResult:
    """Fit the Cox model on a covariate matrix (n, p); ``cluster`` codes imply robust SEs.

    Without any event the partial likelihood is flat (every beta fits equally), so there is no
    estimate: an ``InputError`` naming ``event_field`` (the event or censoring column), never
    HR = 1 with a zero-width interval."""
    ties = check_ties(ties)
    level = check_level(level)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] == 0:
        raise InputError("--covariates", "name at least one covariate")
    centered = x - x.mean(axis=0)
    _check_design(x, names)
    if not event.any():
        raise InputError(event_field, "no events: the Cox model cannot be estimated")
    stratum = np.zeros(time.size, dtype=np.intp) if strata is None else strata
    layout = _layout(centered, time, event, stratum, ties)
    beta = np.zeros(x.shape[1])
    terms = _terms(layout, beta)
    _check_information(terms.information, names)
    loglik_null = terms.loglik
    score_test = _quadratic_inverse(terms.score, terms.information)
    beta, terms, converged = _maximize(layout, terms)
    var = _inverse(terms.information)
    newton = np.abs(terms.score @ var)
    infinite_mask = (newton > 1e-9) & (newton > np.sqrt(1e-9) * np.abs(beta))
    infinite_mask |= ~np.isfinite(np.diag(var))
    infinite = [name for name, flag in zip(names, infinite_mask, strict=True) if flag]
    if infinite or not converged:
        warnings.warn(
            "partial likelihood converged before the coefficient of "
            f"{', '.join(infinite) or 'some covariate'}: it may be infinite (separation)",
            CoxSeparationWarning,
            stacklevel=2,
        )
    robust_var = None
    if robust or cluster is not None:
        dfbeta = _score_residuals(layout, terms) @ var
        if cluster is not None:
            grouped = np.zeros((int(cluster.max()) + 1, dfbeta.shape[1]))
            np.add.at(grouped, cluster, dfbeta)
            dfbeta = grouped
        robust_var = dfbeta.T @ dfbeta
    return CoxResult(
        names=list(names),
        coef=beta,
        var=var,
        robust_var=robust_var,
        loglik_null=loglik_null,
        loglik=terms.loglik,
        score_test=score_test,
        n=int(time.size),
        events=int(event.sum()),
        ties=ties,
        level=level,
        converged=converged,
        infinite=infinite,
    )


def _maximize(layout: _Layout, start: _Terms) -> tuple[FloatArray, _Terms, bool]:
    """Newton-Raphson from beta = 0 with step halving, until the relative change of the
    log-likelihood is below _EPS (or no step improves it: the maximum at machine precision)."""
    beta, terms = np.zeros(start.score.size), start
    for _ in range(_MAX_ITER):
        step = _solve(terms.information, terms.score)
        candidate = _terms(layout, beta + step)
        for _ in range(_MAX_HALVING):
            if candidate.loglik >= terms.loglik:
                break
            step = step / 2.0
            candidate = _terms(layout, beta + step)
        if candidate.loglik < terms.loglik:
            return beta, terms, True
        previous = terms.loglik
        beta, terms = beta + step, candidate
        if abs(terms.loglik - previous) <= _EPS * abs(terms.loglik):
            return beta, terms, True
    return beta, terms, False


def _inverse(matrix: FloatArray) -> FloatArray:
    try:
        return np.asarray(np.linalg.inv(matrix), dtype=np.float64)
    except np.linalg.LinAlgError:
        return np.asarray(np.linalg.pinv(matrix, hermitian=True), dtype=np.float64)


def _solve(matrix: FloatArray, vector: FloatArray) -> FloatArray:
    return np.asarray(_inverse(matrix) @ vector, dtype=np.float64)


def _quadratic_inverse(vector: FloatArray, matrix: FloatArray) -> float:
    return float(vector @ _solve(matrix, vector))


def design_matrix(data: pd.DataFrame, covariates: Sequence[str]) -> tuple[FloatArray, list[str]]:
    """Covariate matrix (column-major): numeric columns as they are, other columns as treatment
    contrasts against their first sorted level, named column + level as R names them
    (``TRT01PXanomeline``)."""
    from ikctrial.stats.io import complete_column, numeric_values, require_columns

    columns: list[FloatArray] = []
    names: list[str] = []
    for name in covariates:
        require_columns(data, [name])
        if pd.api.types.is_numeric_dtype(data[name]) and not pd.api.types.is_bool_dtype(data[name]):
            columns.append(numeric_values(data, name))
            names.append(name)
            continue
        codes, levels = level_codes(complete_column(data, name))
        if len(levels) < 2:
            raise InputError(name, f"has one level ({levels[0]!r}); its effect is not estimable")
        columns.extend((codes == k).astype(np.float64) for k in range(1, len(levels)))
        names.extend(f"{name}{level}" for level in levels[1:])
    matrix = np.empty((len(data), len(columns)), order="F")
    for j, values in enumerate(columns):
        matrix[:, j] = values
    return matrix, names


class CoxPH:
    """Cox proportional-hazards model with a lifelines-like notebook API.

    >>> cph = CoxPH(ties="efron", robust=True).fit(df, time="AVAL", censor="CNSR",
    ...                                            covariates=["TRT01P", "AGE"], cluster="USUBJID")
    >>> cph.summary; cph.params_; cph.hazard_ratios_; cph.log_likelihood_
    """

    def __init__(self, *, ties: Ties = "efron", robust: bool = False, level: float = 0.95) -> None:
        self.ties = ties
        self.robust = robust
        self.level = level

    def fit(
        self,
        data: pd.DataFrame,
        *,
        time: str,
        covariates: Sequence[str],
        event: str | None = None,
        censor: str | None = None,
        strata: str | None = None,
        cluster: str | None = None,
        filter: str | None = None,
    ) -> Self:
        """Fit on a DataFrame; non-numeric covariates become treatment contrasts."""
        columns = survival_columns(
            data,
            time=time,
            event=event,
            censor=censor,
            strata=strata,
            cluster=cluster,
            filter=filter,
        )
        x, names = design_matrix(columns.data, covariates)
        self.result_ = cox_fit(
            x,
            columns.time,
            columns.event,
            names=names,
            strata=None if columns.strata is None else level_codes(columns.strata)[0],
            cluster=None if columns.cluster is None else level_codes(columns.cluster)[0],
            ties=self.ties,
            robust=self.robust,
            level=self.level,
            event_field=event if event is not None else censor or "event",
        )
        self.params_ = pd.Series(self.result_.coef, index=names, name="coef")
        self.hazard_ratios_ = pd.Series(np.exp(self.result_.coef), index=names, name="exp(coef)")
        self.standard_errors_ = pd.Series(self.result_.se, index=names, name="se(coef)")
        self.variance_matrix_ = pd.DataFrame(self.result_.var, index=names, columns=names)
        self.log_likelihood_ = self.result_.loglik
        return self

    @property
    def summary(self) -> pd.DataFrame:
        """One row per coefficient (see ``CoxResult.summary``)."""
        return self.result_.summary
