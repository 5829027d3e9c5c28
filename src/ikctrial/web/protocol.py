"""The protocol in force for the EDC: ``IKCTRIAL_PROTOCOL`` (a YAML file) or the built-in one.

Loaded once per process: a protocol change is a new deployment (and a new protocol version, which
every verdict and allocation records).
"""

from __future__ import annotations

import os
from functools import lru_cache

from ikctrial.protocol import Protocol, load_protocol


@lru_cache(maxsize=1)
def current_protocol() -> Protocol:
    """The protocol the services apply."""
    return load_protocol(os.environ.get("IKCTRIAL_PROTOCOL") or None)
