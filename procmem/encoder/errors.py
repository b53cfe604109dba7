"""The encoder floor's error type."""

from __future__ import annotations

from procmem.core.errors import ProcmemError


class EncoderError(ProcmemError):
    """An encoder spec or file, or images given to an encoder, that cannot be used."""
