"""Tumor response: RECIST 1.1 and mRECIST as two rule sets of one engine (domain.md 2 and 3)."""

from ikctrial.response.assessment import (
    Assessment,
    Criteria,
    NewLesions,
    NonTargetObservation,
    NonTargetStatus,
    Response,
    TargetMeasurement,
)
from ikctrial.response.best_response import TimepointCall, best_overall_response
from ikctrial.response.recist import (
    ResponseEvaluation,
    TimepointResponse,
    evaluate_assessments,
    evaluate_response,
)

__all__ = [
    "Assessment",
    "Criteria",
    "NewLesions",
    "NonTargetObservation",
    "NonTargetStatus",
    "Response",
    "ResponseEvaluation",
    "TargetMeasurement",
    "TimepointCall",
    "TimepointResponse",
    "best_overall_response",
    "evaluate_assessments",
    "evaluate_response",
]
