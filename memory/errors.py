"""The memory stage's error types: each names the thing that is wrong and the fix."""

from __future__ import annotations

from procmem.core.errors import ProcmemError


class MemoryStoreError(ProcmemError):
    """Bad input to a visual memory, or a memory directory that cannot be used."""


class BadVectorsError(MemoryStoreError):
    """Vectors of the wrong shape, dimension, or with NaN/inf/zero rows."""


class IdError(MemoryStoreError):
    """Duplicate ids on add, or unknown ids on removal."""


class FingerprintError(MemoryStoreError):
    """Queries come from a different encoder (fingerprint or width) than the memory's."""


class CorruptStoreError(MemoryStoreError):
    """memory.sqlite or memory.json is unreadable or inconsistent."""
