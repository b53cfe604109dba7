"""The slot file: fixed-size float32 records, one per slot, that removal zero-fills in place.

A memory keeps its vectors (and the per-item floats derived from them, ResMem residuals) out of
SQLite, in files of records of `width` float32s each: record `s` sits at byte `s * 4 * width`.
SQLite holds each item's slot number. Removal overwrites an item's record with zeros and
fsyncs, so no byte of it stays in the file (no free pages, no journal, no B-tree rebalancing
that copies cells around, as SQLite's BLOBs had: issue 12, finding 1). A record is written and
fsynced before the row naming it commits, so a killed add leaves only unreferenced records,
which the next open zeroes (`VisualMemory` finds them: slots no row references).

No locking here: the memory's single writer (`memory.lock`) owns the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def runs(slots: np.ndarray) -> list[tuple[int, int]]:
    """Sorted slots as (first, count) runs of consecutive numbers, so each run is one write."""
    slots = np.asarray(slots, np.int64)
    if not len(slots):
        return []
    breaks = np.flatnonzero(np.diff(slots) != 1) + 1
    starts = np.concatenate([[0], breaks])
    ends = np.concatenate([breaks, [len(slots)]])
    return [(int(slots[a]), int(b - a)) for a, b in zip(starts, ends)]


class SlotFile:
    """Records of `width` little-endian float32s in the file `path` (created if missing)."""

    def __init__(self, path, width: int, *, writable: bool = True):
        self.path, self.width = Path(path), int(width)
        self.record = 4 * self.width
        self.writable = writable
        flags = os.O_RDWR | os.O_CREAT if writable else os.O_RDONLY
        self._fd = os.open(self.path, flags, 0o666) if writable or self.path.exists() else None

    # ------------------------------------------------------------------ size
    @property
    def size(self) -> int:
        """Bytes in the file (a killed append may leave a partial last record)."""
        return os.fstat(self._fd).st_size if self._fd is not None else 0

    @property
    def slots(self) -> int:
        """Whole records in the file."""
        return self.size // self.record

    # ------------------------------------------------------------------ reads
    def read(self, slots, *, copy: bool = True) -> np.ndarray:
        """The records at `slots` as float32 [len(slots), width] (any order, repeats allowed);
        a slot past the end of the file reads as zeros. With `copy=False`, slots that are one
        ascending run inside the file come back as a read-only view of the mapped file (for
        handing straight to an index, which copies them itself)."""
        slots = np.asarray(slots, np.int64).ravel()
        n = self.slots
        if not n or not len(slots):
            return np.zeros((len(slots), self.width), np.float32)
        mm = np.memmap(self.path, dtype="<f4", mode="r", shape=(n, self.width))
        first, last = int(slots[0]), int(slots[-1])
        if last - first == len(slots) - 1 and last < n and (len(slots) == 1 or (
                np.diff(slots) == 1).all()):
            run = mm[first:last + 1].view(np.ndarray)
            return np.array(run) if copy else run
        out = np.zeros((len(slots), self.width), np.float32)
        inside = slots < n
        out[inside] = mm[slots[inside]]
        return out

    def nonzero(self, slots) -> np.ndarray:
        """bool [len(slots)]: which records hold any non-zero byte."""
        slots = np.asarray(slots, np.int64).ravel()
        got = np.zeros(len(slots), bool)
        for start in range(0, len(slots), 65536):
            part = slots[start:start + 65536]
            got[start:start + len(part)] = self.read(part).view(np.uint32).any(axis=1)
        return got

    # ------------------------------------------------------------------ writes
    def write(self, slots, rows, *, sync: bool = True) -> None:
        """Write `rows` [n, width] at `slots` (distinct) and fsync (unless `sync=False`: the
        caller calls `sync` before anything may name the records). Each run of consecutive
        slots is one write straight from `rows`' buffer."""
        slots = np.asarray(slots, np.int64)
        data = np.ascontiguousarray(rows, dtype="<f4").reshape(len(slots), self.width)
        if len(slots) > 1 and (np.diff(slots) < 0).any():
            order = np.argsort(slots, kind="stable")
            slots, data = slots[order], data[order]
        at = 0
        for first, count in runs(slots):
            self._pwrite(memoryview(data[at:at + count]).cast("B"), first * self.record)
            at += count
        if sync:
            self.sync()

    def _pwrite(self, buf: memoryview, offset: int) -> None:
        while len(buf):  # a write may take fewer bytes than asked (large buffers, signals)
            done = os.pwrite(self._fd, buf, offset)
            buf, offset = buf[done:], offset + done

    def zero(self, slots) -> int:
        """Overwrite the records at `slots` with zeros and fsync; returns the bytes written
        (slots past the end of the file have nothing to erase)."""
        slots = np.unique(np.asarray(slots, np.int64))
        slots = slots[slots < self.slots]
        written = 0
        for first, count in runs(slots):
            for off in range(0, count, 4096):  # at most 4096 records of zeros per write
                k = min(4096, count - off)
                self._pwrite(memoryview(bytes(k * self.record)), (first + off) * self.record)
                written += k * self.record
        self.sync()
        return written

    def zero_tail(self) -> int:
        """Zero and cut a partial last record (a killed append); returns the bytes erased."""
        extra = self.size % self.record
        if not extra:
            return 0
        self._pwrite(memoryview(bytes(extra)), self.size - extra)
        self.sync()
        self.truncate(self.slots)
        return extra

    def truncate(self, slots: int) -> None:
        """Cut the file to `slots` records (callers zero what they cut first) and fsync."""
        os.ftruncate(self._fd, int(slots) * self.record)
        self.sync()

    def sync(self) -> None:
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
