"""SDTM datasets built from the protocol and the trial record (domain.md 10.1)."""
