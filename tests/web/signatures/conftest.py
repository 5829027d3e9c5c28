"""The CRF fixtures (randomized subject, passwords) for the signature tests."""

from tests.web.crf.conftest import passwords, randomize

__all__ = ["passwords", "randomize"]
