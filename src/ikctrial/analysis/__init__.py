"""Endpoint derivation and analysis datasets: pure functions from trial data to analysis values."""
