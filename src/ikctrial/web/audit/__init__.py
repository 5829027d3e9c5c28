"""Audit trail: every create, update and delete of trial data, hash-chained (21 CFR 11.10(e))."""
