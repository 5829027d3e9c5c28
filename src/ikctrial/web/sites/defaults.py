"""Defaults of a new site, importable without setting Django up (the command line's options)."""

from __future__ import annotations

DEFAULT_SITE_TIMEZONE = "Asia/Taipei"
"""A new site's time zone unless one is given: the trial's hospitals are in Taiwan (issue 7)."""
