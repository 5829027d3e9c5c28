"""The clock and the protocol the product services apply, in one place (tests replace them).

The product rules depend on the time (expiry, the infusion calendar) and on the protocol's
product section (release tests, shelf life); both are read through this module so a test can fix
the moment and use a protocol with a shelf life set (domain.md 8.5).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from ikctrial.protocol import Protocol
from ikctrial.web import protocol as web_protocol


def now() -> dt.datetime:
    """The current moment (UTC, aware)."""
    moment: dt.datetime = timezone.now()
    return moment


def protocol() -> Protocol:
    """The protocol in force."""
    return web_protocol.current_protocol()
