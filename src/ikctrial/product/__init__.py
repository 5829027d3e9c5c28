"""The cell product: chain of identity, lot release, expiry and bedside checks (domain.md 8)."""
