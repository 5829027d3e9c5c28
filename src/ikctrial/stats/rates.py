"""Event rates per unit of exposure and their ratio between two groups (domain.md 7.3).

The TACE-frequency endpoint counts repeat TACE sessions per patient over follow-up. Groups are
compared by a log-linear count model with offset log(exposure): Poisson or negative binomial (NB2,
variance mu + mu^2 / theta). Fitting is statsmodels' GLM; what is ours is the choice of theta,
which follows R's ``MASS::glm.nb``: theta is the maximum-likelihood value (the root of the profile
score in theta), and the GLM is then fitted with alpha = 1 / theta, so coefficients, model-based
SEs, Wald CIs and the log-likelihood are those ``summary(glm.nb(...))`` reports. When the negative
binomial degenerates (theta -> infinity, i.e. no overdispersion, or no ML theta exists), the domain
rule applies: Poisson with sandwich (HC0) SEs, and the result says so in ``fallback``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import optimize, stats

from ikctrial.errors import InputError
from ikctrial.stats.io import complete_column, level_codes, numeric_values, require_columns

RateModelName = Literal["poisson", "negbin"]
SEType = Literal["model", "sandwich"]

# IRLS stops when no coefficient moves by more than 1e-13 (absolute) + 1e-13 (relative). Not the
# deviance (statsmodels' default criterion): the negative binomial's log link is not canonical, so
# IRLS (Fisher scoring) converges only linearly there, and a deviance change below 1e-12 still
# leaves coefficients ~1e-7 from the maximum (2e-6 relative on a coefficient near zero).
_GLM_TOL = 1e-13
_GLM_MAXITER = 200
# Bracket for log(theta) in the ML search: theta from 1e-4 (extreme overdispersion) to 1e6, beyond
# which the negative binomial is the Poisson model for any trial-sized data (alpha < 1e-6).
_LOG_THETA_BRACKET = (np.log(1e-4), np.log(1e6))


def shown(value: Any) -> str:
    """A data value as a message shows it: repr of the plain Python value (``1.5``, ``'A'``)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def two_levels(data: pd.DataFrame, name: str) -> tuple[Hashable, Hashable]:
    """The two levels of a comparison column, sorted (the second is compared with the first)."""
    _, levels = level_codes(data[name])
    if len(levels) != 2:
        found = ", ".join(map(shown, levels))
        raise InputError(name, f"needs exactly 2 levels to compare, found {len(levels)}: {found}")
    return levels[0], levels[1]


def covariate_columns(data: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """Design columns for covariates, named as R names them: numbers enter linearly, anything else
    as treatment contrasts against its first level in sorted order (``bclcB``)."""
    columns: dict[str, np.ndarray[Any, np.dtype[np.float64]]] = {}
    for name in names:
        column = data[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            columns[name] = numeric_values(data, name)
            continue
        _, levels = level_codes(column)
        if len(levels) < 2:
            raise InputError(name, f"covariate has a single level {shown(levels[0])}")
        for level in levels[1:]:
            columns[f"{name}{level}"] = np.asarray(column == level, dtype=np.float64)
    return pd.DataFrame(columns, index=data.index)


def full_rank_design(
    design: pd.DataFrame, field_name: str
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The design matrix as floats; an InputError when its columns are linearly dependent."""
    matrix = design.to_numpy(dtype=float)
    if np.linalg.matrix_rank(matrix) < matrix.shape[1]:
        raise InputError(
            field_name, "terms are collinear (a level or covariate is confounded with another)"
        )
    return matrix


@dataclass(frozen=True)
class Coefficient:
    """One model coefficient on the log-rate scale, with its Wald test."""

    coef: float
    se: float
    ci: tuple[float, float]
    p: float


@dataclass(frozen=True)
class RateRatio:
    """Rates per unit of exposure by group and the model-based ratio second group / first group.

    ``rates`` are crude (sum of counts / sum of exposure). ``rate_ratio`` is exp(coefficient of the
    second group level) from the count model, adjusted for ``covariates`` when given.
    """

    model: RateModelName
    group: str
    reference: Hashable
    compared: Hashable
    rate_ratio: float
    ci: tuple[float, float]
    p: float
    rates: dict[Hashable, float]
    events: dict[Hashable, int]
    exposure: dict[Hashable, float]
    theta: float | None
    se_type: SEType
    fallback: str | None
    coefficients: dict[str, Coefficient]
    loglik: float
    pearson_chi2_df: float
    n: int
    level: float
    covariates: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The ``ikctrial stats rate --json`` document (interfaces.md, "Other endpoint models")."""
        return {
            "model": self.model,
            "rate_ratio": self.rate_ratio,
            "ci": list(self.ci),
            "p": self.p,
            "rates": {str(k): v for k, v in self.rates.items()},
            "theta": self.theta,
            "comparison": {"numerator": str(self.compared), "denominator": str(self.reference)},
            "se_type": self.se_type,
            "fallback": self.fallback,
            "level": self.level,
            "n": self.n,
            "events": {str(k): v for k, v in self.events.items()},
            "exposure": {str(k): v for k, v in self.exposure.items()},
            "covariates": list(self.covariates),
            "coefficients": {
                name: {"coef": c.coef, "se": c.se, "ci": list(c.ci), "p": c.p}
                for name, c in self.coefficients.items()
            },
            "loglik": self.loglik,
            "pearson_chi2_df": self.pearson_chi2_df,
        }

    @property
    def summary(self) -> pd.DataFrame:
        """Coefficients with rate ratios exp(coef) and their CIs, one row per model term."""
        rows = {
            name: {
                "coef": c.coef,
                "se": c.se,
                "exp(coef)": float(np.exp(c.coef)),
                "lower": float(np.exp(c.ci[0])),
                "upper": float(np.exp(c.ci[1])),
                "p": c.p,
            }
            for name, c in self.coefficients.items()
        }
        return pd.DataFrame.from_dict(rows, orient="index")


def _nb_theta_score(
    theta: float,
    y: np.ndarray[Any, np.dtype[np.float64]],
    mu: np.ndarray[Any, np.dtype[np.float64]],
) -> float:
    """d loglik / d theta of the NB2 likelihood at fixed means (what MASS::theta.ml solves):
    sum of digamma(y + theta) - digamma(theta) + log(theta) + 1 - log(theta + mu)
    - (y + theta) / (theta + mu), written without cancellation so that its sign stays right at
    large theta, where it is O(1 / theta^2): digamma(y + theta) - digamma(theta) is
    sum_{k < y} 1 / (theta + k) for integer y, and the rest is -log1p(mu / theta)
    + (mu - y) / (theta + mu)."""
    counts = y.astype(np.int64)
    steps = np.arange(int(counts.max(initial=0)), dtype=np.float64)
    partial = np.concatenate([[0.0], np.cumsum(1.0 / (theta + steps))])
    return float(np.sum(partial[counts] - np.log1p(mu / theta) + (mu - y) / (theta + mu)))


def _wald_p(estimate: float, se: float) -> float:
    """Two-sided Wald p-value; NaN when the SE is zero (a fit without residual variation)."""
    if se > 0.0:
        return float(2.0 * stats.norm.sf(abs(estimate / se)))
    return float("nan")


def _glm_fit(
    y: np.ndarray[Any, np.dtype[np.float64]],
    x: np.ndarray[Any, np.dtype[np.float64]],
    offset: np.ndarray[Any, np.dtype[np.float64]],
    family: sm.families.Family,
    cov_type: str = "nonrobust",
) -> Any:
    """A log-link GLM fitted by IRLS until the coefficients stop moving (see ``_GLM_TOL``)."""
    model = sm.GLM(y, x, family=family, offset=offset)
    with np.errstate(divide="ignore", invalid="ignore"):  # saturated fits: 0 residual df
        return model.fit(
            tol=_GLM_TOL,
            rtol=_GLM_TOL,
            tol_criterion="params",
            maxiter=_GLM_MAXITER,
            cov_type=cov_type,
        )


def _ml_theta(
    y: np.ndarray[Any, np.dtype[np.float64]],
    x: np.ndarray[Any, np.dtype[np.float64]],
    offset: np.ndarray[Any, np.dtype[np.float64]],
) -> float | None:
    """The ML theta of the NB2 model (profile score root), or None when theta -> infinity or no root
    exists in the bracket (then the negative binomial is not identifiable from these data)."""

    def profile_score(log_theta: float) -> float:
        theta = float(np.exp(log_theta))
        fit = _glm_fit(y, x, offset, sm.families.NegativeBinomial(alpha=1.0 / theta))
        return _nb_theta_score(theta, y, np.asarray(fit.mu, dtype=float))

    low, high = _LOG_THETA_BRACKET
    score_low, score_high = profile_score(low), profile_score(high)
    if not (score_low > 0.0 > score_high):
        return None
    root = optimize.brentq(profile_score, low, high, xtol=1e-13, rtol=4 * np.finfo(float).eps)
    return float(np.exp(root))


def rate_ratio(
    data: pd.DataFrame,
    *,
    count: str,
    exposure: str,
    group: str,
    covariates: Sequence[str] = (),
    model: RateModelName = "negbin",
    robust: bool = False,
    level: float = 0.95,
) -> RateRatio:
    """Crude rates per unit of exposure by group and the rate ratio (second sorted level / first)
    from a Poisson or negative-binomial GLM with offset log(exposure), matched to R's
    ``glm(..., family = poisson)`` and ``MASS::glm.nb`` (Wald CI and p on the z scale).

    ``robust`` asks for sandwich (HC0) SEs for the Poisson model. A negative-binomial fit with no
    finite ML theta falls back to Poisson with sandwich SEs (domain.md 7.3), said in ``fallback``.
    """
    if model not in ("poisson", "negbin"):
        raise InputError("model", f"{model!r} is not one of poisson, negbin")
    if not 0.0 < level < 1.0:
        raise InputError("level", f"{level!r} is not between 0 and 1")
    covariates = tuple(covariates)
    for name in covariates:
        if name in (count, exposure, group):
            raise InputError("covariates", f"{name!r} is already the count, exposure or group")
    require_columns(data, [count, exposure, group, *covariates])
    for name in (group, *covariates):
        complete_column(data, name)

    y = numeric_values(data, count)
    if np.any(y < 0) or np.any(y != np.round(y)):
        bad = data[count][(y < 0) | (y != np.round(y))].iloc[0]
        raise InputError(count, f"{shown(bad)}: counts must be non-negative integers")
    t = numeric_values(data, exposure)
    if np.any(t <= 0):
        raise InputError(exposure, f"{shown(data[exposure][t <= 0].iloc[0])}: exposure must be > 0")
    reference, compared = two_levels(data, group)

    in_compared = (data[group] == compared).to_numpy()
    for lvl, rows in ((reference, ~in_compared), (compared, in_compared)):
        if y[rows].sum() == 0:
            raise InputError(
                count,
                f"no events in {group} {shown(lvl)}: the rate ratio is 0 or infinite, no Wald CI",
            )
    design = pd.concat(
        [
            pd.DataFrame(
                {"(Intercept)": 1.0, f"{group}{compared}": in_compared.astype(float)},
                index=data.index,
            ),
            covariate_columns(data, covariates),
        ],
        axis=1,
    )
    x = full_rank_design(design, "covariates" if covariates else group)
    offset = np.log(t)

    theta: float | None = None
    fallback: str | None = None
    se_type: SEType = "sandwich" if robust else "model"
    if model == "negbin":
        theta = _ml_theta(y, x, offset)
        if theta is None:
            fallback = (
                "negative binomial has no ML theta in [1e-4, 1e6] (alpha -> 0, no overdispersion): "
                "Poisson with sandwich SEs (domain.md 7.3)"
            )
            model, se_type = "poisson", "sandwich"
    family = (
        sm.families.Poisson() if theta is None else sm.families.NegativeBinomial(alpha=1.0 / theta)
    )
    fit = _glm_fit(y, x, offset, family, cov_type="HC0" if se_type == "sandwich" else "nonrobust")
    poisson_fit = fit if theta is None else _glm_fit(y, x, offset, sm.families.Poisson())

    z = float(stats.norm.ppf(0.5 + level / 2.0))
    params = np.asarray(fit.params, dtype=float)
    ses = np.asarray(fit.bse, dtype=float)
    coefficients = {
        name: Coefficient(
            coef=float(b),
            se=float(s),
            ci=(float(b - z * s), float(b + z * s)),
            p=_wald_p(float(b), float(s)),
        )
        for name, b, s in zip(design.columns, params, ses, strict=True)
    }
    effect = coefficients[f"{group}{compared}"]

    events = {lvl: int(y[(data[group] == lvl).to_numpy()].sum()) for lvl in (reference, compared)}
    person_time = {
        lvl: float(t[(data[group] == lvl).to_numpy()].sum()) for lvl in (reference, compared)
    }
    return RateRatio(
        model=model,
        group=group,
        reference=reference,
        compared=compared,
        rate_ratio=float(np.exp(effect.coef)),
        ci=(float(np.exp(effect.ci[0])), float(np.exp(effect.ci[1]))),
        p=effect.p,
        rates={lvl: events[lvl] / person_time[lvl] for lvl in (reference, compared)},
        events=events,
        exposure=person_time,
        theta=theta,
        se_type=se_type,
        fallback=fallback,
        coefficients=coefficients,
        loglik=float(fit.llf),
        pearson_chi2_df=float(poisson_fit.pearson_chi2 / poisson_fit.df_resid)
        if poisson_fit.df_resid > 0
        else float("nan"),
        n=len(y),
        level=level,
        covariates=covariates,
    )
