"""Subjects: screening records, eligibility verdicts and the screening log."""
