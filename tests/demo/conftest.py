"""Fixtures of the demo tests: the demo protocol file in force, and a small demo run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

SUBJECTS = 4
SEED = 11


@pytest.fixture(scope="module")
def demo_protocol(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo protocol (built-in one with the demo shelf life) as the protocol in force."""
    from ikctrial.demo.setup import write_demo_protocol
    from ikctrial.web.protocol import current_protocol

    path = write_demo_protocol(tmp_path_factory.mktemp("protocol"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IKCTRIAL_PROTOCOL", str(path))
        current_protocol.cache_clear()
        yield path
    current_protocol.cache_clear()
