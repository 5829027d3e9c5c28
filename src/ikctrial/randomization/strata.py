"""Strata: the protocol's stratification factors, and which stratum a subject falls in.

A factor's ``source`` is a dotted path into the eligibility engine's ``derived`` output (``bclc``,
``child_pugh.class``), so the stratum is computed from the screening data, never typed in twice.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from ikctrial.errors import InputError


class StratificationFactor(Protocol):
    """What a protocol's stratification factor provides (the protocol model satisfies it)."""

    @property
    def name(self) -> str: ...

    @property
    def source(self) -> str: ...

    @property
    def levels(self) -> Sequence[str]: ...


def stratum_key(levels: Mapping[str, str]) -> str:
    """A stable text key for a stratum, e.g. ``bclc=B|child_pugh=A`` (factor order kept)."""
    return "|".join(f"{name}={level}" for name, level in levels.items())


def all_strata(factors: Sequence[StratificationFactor]) -> list[dict[str, str]]:
    """Every combination of factor levels, in protocol order (no factor: one stratum)."""
    names = [factor.name for factor in factors]
    return [
        dict(zip(names, combination, strict=True))
        for combination in itertools.product(*(list(factor.levels) for factor in factors))
    ]


def _lookup(derived: Mapping[str, Any], path: str) -> Any:
    value: Any = derived
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def subject_stratum(
    derived: Mapping[str, Any], factors: Sequence[StratificationFactor]
) -> dict[str, str]:
    """The subject's level of each factor, read from the eligibility ``derived`` values.

    A missing value, or one that is not a level of the factor, is an ``InputError``: such a subject
    cannot be allocated to a stratum.
    """
    levels: dict[str, str] = {}
    for factor in factors:
        value = _lookup(derived, factor.source)
        allowed = [str(level) for level in factor.levels]
        if value is None:
            raise InputError(
                f"derived.{factor.source}", f"stratification factor {factor.name} is unknown"
            )
        if str(value) not in allowed:
            raise InputError(
                f"derived.{factor.source}",
                f"{value!r} is not a level of stratification factor {factor.name} "
                f"({', '.join(allowed)})",
            )
        levels[factor.name] = str(value)
    return levels
