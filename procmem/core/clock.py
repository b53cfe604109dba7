"""Wall-clock time as stored in logs, receipts and run files: UTC, ISO 8601, milliseconds."""

from __future__ import annotations

import datetime


def utc_now() -> str:
    """Now in UTC as ISO 8601 with milliseconds (e.g. 2026-12-01T23:10:23.123+00:00)."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
