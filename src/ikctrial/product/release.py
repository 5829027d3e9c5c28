"""Lot release: QC results against the protocol's specification, the decision, expiry (8.2, 8.5).

Every required test needs a result; a result outside its limits fails the test and is an
out-of-specification (OOS) deviation that stays on record even if a retest passes (a retest does
not overwrite an OOS result; only a documented invalidation does). A failing lot is rejected
automatically; the one way out is an exceptional release for medical need with the investigator's
request, quality approval and patient information, all e-signed (domain.md 8.2). A test whose final
result comes after the infusion (sterility) may release on its in-process result as
``RELEASED_PENDING_FINAL_STERILITY``. Release is signed by role ``qa`` and never by a person who
recorded the lot's manufacturing (separation of duties). Numeric limits are compared in exact
decimal arithmetic on the value as entered (domain.md 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from ikctrial.errors import InputError
from ikctrial.product.identifiers import UnitId
from ikctrial.product.signature import ESignature, require_aware, require_text
from ikctrial.protocol.model import Product, ReleaseTest

QA_ROLE = "qa"
INVESTIGATOR_ROLE = "investigator"
RELEASE_MEANING = "approved for release"
EXCEPTIONAL_REQUEST_MEANING = "requested exceptional release"
EXCEPTIONAL_APPROVAL_MEANING = "approved exceptional release"
PATIENT_INFORMED_MEANING = "patient informed of out-of-specification product"


class ReleaseStatus(StrEnum):
    """Release status values of domain.md 8.2."""

    QUARANTINE = "QUARANTINE"
    RELEASED = "RELEASED"
    RELEASED_PENDING_FINAL_STERILITY = "RELEASED_PENDING_FINAL_STERILITY"
    EXCEPTIONAL_RELEASE = "EXCEPTIONAL_RELEASE"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    DESTROYED = "DESTROYED"


INFUSIBLE = frozenset(
    {
        ReleaseStatus.RELEASED,
        ReleaseStatus.RELEASED_PENDING_FINAL_STERILITY,
        ReleaseStatus.EXCEPTIONAL_RELEASE,
    }
)
"""Statuses that allow an infusion (domain.md 8.6 check 4)."""


class QcVerdict(StrEnum):
    """Outcome of one release test."""

    PASS = "pass"
    FAIL = "fail"
    MISSING = "missing"
    PRELIMINARY_PASS = "preliminary_pass"
    NOT_DONE = "not_done"


@dataclass(frozen=True)
class QcResult:
    """One QC result as entered: the value text (a number or a category) and who entered it.

    ``preliminary`` marks an in-process or interim result (sterility "no growth to date");
    ``invalidated_reason`` a result withdrawn after a documented laboratory investigation.
    """

    test_code: str
    value: str
    recorded_by: str
    recorded_at: datetime
    preliminary: bool = False
    invalidated_reason: str | None = None

    def __post_init__(self) -> None:
        require_text(self.value, f"{self.test_code}.value")
        require_text(self.recorded_by, f"{self.test_code}.recorded_by")
        require_aware(self.recorded_at, f"{self.test_code}.recorded_at")


@dataclass(frozen=True)
class QcOutcome:
    """One specification test with its verdict, the values that decided it and why."""

    code: str
    name: str
    verdict: QcVerdict
    values: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class OosDeviation:
    """An out-of-specification result, to be recorded as a deviation."""

    test_code: str
    test_name: str
    value: str
    specification: str
    recorded_by: str
    recorded_at: datetime
    preliminary: bool


@dataclass(frozen=True)
class QcEvaluation:
    """Per-test outcomes, OOS deviations and the status the results alone would allow.

    ``proposed_status`` is None when a required result is missing (release must be refused).
    """

    outcomes: tuple[QcOutcome, ...]
    deviations: tuple[OosDeviation, ...]
    proposed_status: ReleaseStatus | None

    def with_verdict(self, verdict: QcVerdict) -> tuple[QcOutcome, ...]:
        """The outcomes with ``verdict``."""
        return tuple(o for o in self.outcomes if o.verdict is verdict)


def specification_text(test: ReleaseTest) -> str:
    """The acceptance criterion in words, e.g. ``>= 70 %`` or ``= 'no growth'``."""
    if test.kind == "categorical":
        return f"= {test.expected!r}"
    unit = f" {test.unit}" if test.unit else ""
    parts = []
    if test.min is not None:
        parts.append(f"{'>=' if test.min_inclusive else '>'} {test.min:g}{unit}")
    if test.max is not None:
        parts.append(f"{'<=' if test.max_inclusive else '<'} {test.max:g}{unit}")
    return " and ".join(parts) or "reported (no limit)"


def _normalized(text: str) -> str:
    return " ".join(text.split()).casefold()


def _numeric(result: QcResult, field: str) -> Decimal:
    try:
        value = Decimal(result.value.strip())
    except InvalidOperation:
        raise InputError(field, f"{result.value!r} is not a number") from None
    if not value.is_finite():
        raise InputError(field, f"{result.value!r} is not a finite number")
    return value


def result_passes(test: ReleaseTest, result: QcResult, *, field: str = "value") -> bool:
    """True when ``result`` meets the acceptance criterion of ``test`` (exact decimal limits)."""
    if test.kind == "categorical":
        return _normalized(result.value) == _normalized(test.expected or "")
    value = _numeric(result, field)
    if test.min is not None:
        low = Decimal(str(test.min))
        if value < low or (value == low and not test.min_inclusive):
            return False
    if test.max is not None:
        high = Decimal(str(test.max))
        if value > high or (value == high and not test.max_inclusive):
            return False
    return True


def _test_outcome(
    test: ReleaseTest, results: list[tuple[int, QcResult]]
) -> tuple[QcOutcome, list[OosDeviation]]:
    spec = specification_text(test)
    valid = [(i, r) for i, r in results if r.invalidated_reason is None]
    failing = [r for i, r in valid if not result_passes(test, r, field=f"results[{i}].value")]
    finals = [r for _, r in valid if not r.preliminary]
    preliminary = [r for _, r in valid if r.preliminary]
    deviations = [
        OosDeviation(
            test.code, test.name, r.value, spec, r.recorded_by, r.recorded_at, r.preliminary
        )
        for r in failing
    ]

    def outcome(verdict: QcVerdict, reason: str, decided_by: list[QcResult]) -> QcOutcome:
        return QcOutcome(test.code, test.name, verdict, tuple(r.value for r in decided_by), reason)

    if failing:
        values = ", ".join(repr(r.value) for r in failing)
        failed = outcome(QcVerdict.FAIL, f"{values} out of specification ({spec})", failing)
        return failed, deviations
    if finals:
        return outcome(QcVerdict.PASS, f"meets {spec}", finals), []
    if preliminary and not test.available_at_infusion:
        reason = f"in-process result meets {spec}; final result follows the infusion"
        return outcome(QcVerdict.PRELIMINARY_PASS, reason, preliminary), []
    if not test.required:
        return outcome(QcVerdict.NOT_DONE, "optional test, no result", []), []
    reason = (
        "only a preliminary result; the final result is required" if preliminary else "no result"
    )
    return outcome(QcVerdict.MISSING, reason, preliminary), []


def evaluate_qc(tests: Sequence[ReleaseTest], results: Sequence[QcResult]) -> QcEvaluation:
    """Evaluate ``results`` against the specification ``tests`` (domain.md 8.2)."""
    codes = {t.code for t in tests}
    by_code: dict[str, list[tuple[int, QcResult]]] = {code: [] for code in codes}
    for index, result in enumerate(results):
        if result.test_code not in codes:
            raise InputError(
                f"results[{index}].test_code",
                f"{result.test_code!r} is not a release test of the protocol "
                f"({', '.join(sorted(codes))})",
            )
        by_code[result.test_code].append((index, result))
    outcomes: list[QcOutcome] = []
    deviations: list[OosDeviation] = []
    for test in tests:
        outcome, found = _test_outcome(test, by_code[test.code])
        outcomes.append(outcome)
        deviations.extend(found)
    verdicts = {o.verdict for o in outcomes}
    status: ReleaseStatus | None
    if QcVerdict.FAIL in verdicts:
        status = ReleaseStatus.REJECTED
    elif QcVerdict.MISSING in verdicts:
        status = None
    elif QcVerdict.PRELIMINARY_PASS in verdicts:
        status = ReleaseStatus.RELEASED_PENDING_FINAL_STERILITY
    else:
        status = ReleaseStatus.RELEASED
    return QcEvaluation(tuple(outcomes), tuple(deviations), status)


def expiry_at(final_formulation_at: datetime, shelf_life_hours: float | None) -> datetime | None:
    """``final_formulation_at + shelf life`` (domain.md 8.5); None when no shelf life is set."""
    require_aware(final_formulation_at, "final_formulation_at")
    if shelf_life_hours is None:
        return None
    return final_formulation_at + timedelta(hours=shelf_life_hours)


SHELF_LIFE_NOT_SET = (
    "expiry cannot be computed: product.shelf_life_hours is not set in the protocol "
    "(domain.md 8.5: set it from the manufacturer's stability data)"
)


@dataclass(frozen=True)
class LotRecord:
    """What release needs to know about a lot: its id, who recorded its manufacturing, and when
    the final formulation was done (the start of its shelf life)."""

    lot_id: UnitId
    manufacturing_recorders: frozenset[str]
    final_formulation_at: datetime

    def __post_init__(self) -> None:
        require_aware(self.final_formulation_at, "final_formulation_at")
        if not self.manufacturing_recorders:
            raise InputError("manufacturing_recorders", "the batch record names nobody")


@dataclass(frozen=True)
class ExceptionalRelease:
    """The three e-signed approvals an out-of-specification release needs (domain.md 8.2)."""

    reason: str
    investigator_request: ESignature
    quality_approval: ESignature
    patient_information: ESignature

    def problems(self, lot: LotRecord) -> list[str]:
        """Why these approvals are not complete for ``lot`` (empty when they are)."""
        checks = [
            self.investigator_request.problem(
                role=INVESTIGATOR_ROLE,
                meaning=EXCEPTIONAL_REQUEST_MEANING,
                what="the exceptional-release request",
            ),
            self.quality_approval.problem(
                role=QA_ROLE,
                meaning=EXCEPTIONAL_APPROVAL_MEANING,
                what="the exceptional-release quality approval",
            ),
            self.patient_information.problem(
                role=INVESTIGATOR_ROLE,
                meaning=PATIENT_INFORMED_MEANING,
                what="the patient information",
            ),
            _separation_problem(self.quality_approval, lot),
            None if self.reason.strip() else "an exceptional release needs a reason",
        ]
        return [c for c in checks if c]


@dataclass(frozen=True)
class ReleaseDecision:
    """The outcome of a release attempt: status, every reason for refusal, QC detail, expiry."""

    lot_id: UnitId
    status: ReleaseStatus
    refusals: tuple[str, ...]
    evaluation: QcEvaluation
    expiry_at: datetime | None
    signature: ESignature
    exceptional: ExceptionalRelease | None = None

    @property
    def released(self) -> bool:
        """True when the lot may go to the ward."""
        return self.status in INFUSIBLE


def _separation_problem(signature: ESignature, lot: LotRecord) -> str | None:
    if signature.user_id in lot.manufacturing_recorders:
        return (
            f"separation of duties: {signature.user_id} recorded the manufacturing of this lot "
            "and may not release it"
        )
    return None


def release_decision(
    product: Product,
    lot: LotRecord,
    results: Sequence[QcResult],
    *,
    signature: ESignature,
    exceptional: ExceptionalRelease | None = None,
) -> ReleaseDecision:
    """Decide a release attempt signed by ``signature`` at its signing time.

    A failing test rejects the lot automatically, unless complete exceptional-release approvals
    are given. Any other refusal (missing result, wrong signer, no shelf life) leaves the lot in
    ``QUARANTINE`` so the cause can be fixed; a lot past its expiry is ``EXPIRED``.
    """
    evaluation = evaluate_qc(product.release_tests, results)
    expiry = expiry_at(lot.final_formulation_at, product.shelf_life_hours)
    now = signature.signed_at
    failed = evaluation.proposed_status is ReleaseStatus.REJECTED

    def reasons(verdict: QcVerdict) -> list[str]:
        return [f"{o.name}: {o.reason}" for o in evaluation.with_verdict(verdict)]

    role_problem = signature.problem(role=QA_ROLE, meaning=RELEASE_MEANING, what="a lot release")
    refusals = reasons(QcVerdict.MISSING) + [
        p for p in (role_problem, _separation_problem(signature, lot)) if p
    ]
    if expiry is None:
        refusals.append(SHELF_LIFE_NOT_SET)
    elif now >= expiry:
        refusals.append(f"the lot expired at {expiry.isoformat()}")
    if exceptional is None:
        refusals += reasons(QcVerdict.FAIL)
    elif failed:
        refusals += exceptional.problems(lot)
    else:
        refusals.append("an exceptional release is only for an out-of-specification lot")

    def decided(status: ReleaseStatus) -> ReleaseDecision:
        return ReleaseDecision(
            lot.lot_id, status, tuple(refusals), evaluation, expiry, signature, exceptional
        )

    if expiry is not None and now >= expiry:
        return decided(ReleaseStatus.EXPIRED)
    if failed and exceptional is None:
        return decided(ReleaseStatus.REJECTED)
    if refusals:
        return decided(ReleaseStatus.QUARANTINE)
    if failed:
        return decided(ReleaseStatus.EXCEPTIONAL_RELEASE)
    assert evaluation.proposed_status is not None  # no missing result once refusals are empty
    return decided(evaluation.proposed_status)


def lot_status_at(
    decision: ReleaseDecision | None, now: datetime, *, destroyed: bool = False
) -> ReleaseStatus:
    """A lot's status at ``now``: destroyed, expired once ``now`` reaches the expiry, else as
    decided (``QUARANTINE`` when no release was attempted)."""
    require_aware(now, "now")
    if destroyed:
        return ReleaseStatus.DESTROYED
    if decision is None:
        return ReleaseStatus.QUARANTINE
    if decision.expiry_at is not None and now >= decision.expiry_at:
        return ReleaseStatus.EXPIRED
    return decision.status


def post_release_failures(
    decision: ReleaseDecision, tests: Sequence[ReleaseTest], results: Sequence[QcResult]
) -> tuple[OosDeviation, ...]:
    """OOS results that arrived after a lot was released (e.g. a positive final sterility
    culture): each needs immediate notification of investigator and sponsor (domain.md 8.2)."""
    if not decision.released:
        return ()
    known = set(decision.evaluation.deviations)
    return tuple(d for d in evaluate_qc(tests, results).deviations if d not in known)
