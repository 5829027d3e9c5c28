"""ADaM analysis datasets: metadata and conformance (domain.md 10.2)."""
