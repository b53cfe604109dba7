"""Adding to a visual memory: one SQLite transaction per add, its vectors written first.

Geirhos et al. 2024: knowledge is added (samples, or whole new classes, without training) by
editing the database. An add writes its vectors into free records of ``vectors.f32``
(memory.slots; the lowest free ones first, then at the end) and fsyncs them, then commits
the rows naming those slots, the version bump and the edit log entry in one transaction: all
items are committed, or none (bad input changes nothing; a kill before the commit leaves
records no row names, which the next open zeroes). Ids are never reused: ``next_id`` only
grows. Removal is memory.erasure. `Edits` is a part of `memory.store.VisualMemory`.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from typing import Sequence

import numpy as np

from procmem.memory import pruning
from procmem.memory.errors import CorruptStoreError, IdError, MemoryStoreError
from procmem.memory.killpoints import kill_point
from procmem.memory.schema import log_edit
from procmem.memory.vectors import normalise, sha_prefixes, vector_sha256s


class Edits:
    """`add` of VisualMemory, and what every edit does after it commits. `add_seconds` sums
    each step's seconds over the adds since the memory was opened (benchmarks/memory.py)."""

    add_seconds: dict[str, float]

    def add(self, vectors, labels, *, ids=None, sources: Sequence[str | None] | None = None,
            label_names: dict[int, str] | Sequence[str] | None = None,
            fingerprint: str | None = None,
            note: dict | None = None) -> np.ndarray:
        """Add samples (or whole new classes: new labels need no training); returns their ids.

        All items are committed, or none (bad input changes nothing). `label_names` maps
        labels to class names: a dict, or a list whose i-th entry names label i (as
        `list_image_folder` returns them). `note` (JSON-able) is kept in the edit log entry
        (e.g. `{"embeddings": path}`: the file the vectors came from, which receipts name).
        """
        self._need_writable()
        self.check_fingerprint(fingerprint)
        lap = _Laps(self.add_seconds)
        x = normalise(vectors, self.dim)
        n = len(x)
        labels = np.asarray(labels)
        if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
            raise MemoryStoreError(f"labels must be {n} integers (one per vector), got shape "
                                   f"{labels.shape} dtype {labels.dtype}")
        if n and labels.min() < 0:
            raise MemoryStoreError(f"labels must be >= 0 (-1 means 'no neighbour'), got "
                                   f"{int(labels.min())}")
        if sources is not None and len(sources) != n:
            raise MemoryStoreError(f"{len(sources)} sources for {n} vectors: give one per vector")
        next_id = int(self._meta("next_id"))
        ids = np.arange(next_id, next_id + n, dtype=np.int64) if ids is None else \
            self._check_new_ids(ids, n, next_id)
        if n == 0:
            return ids
        version = self.version + 1
        slots = self._allocate(n)
        if np.isin(slots, self._slots).any() or np.isin(slots, self._pending_slots()).any():
            raise CorruptStoreError(f"the free-slot list of the memory at {self.path} names "
                                    f"records in use; nothing was written: run `procmem memory "
                                    f"verify {self.path}` and report it")
        lap("check")
        try:
            writing = background(self._vec.write, slots, x, sync=False)  # GIL-free while we hash
            try:
                hashes = vector_sha256s(x)
            finally:
                writing.result()
            lap("write_and_hash")
            self._vec.sync()  # one fsync for the whole add, before any row names a record
            lap("fsync")
            kill_point("add:slots-written")
            with self._transaction() as conn:
                indexing = background(self.index.add, ids, x)  # FAISS runs without the GIL
                try:
                    cols, rows = _item_rows(ids, labels, sources, hashes, slots)
                    conn.executemany(f"INSERT INTO items({cols}, version) VALUES "
                                     f"({','.join('?' * len(rows))},{version})", zip(*rows))
                    if label_names:
                        names = label_names.items() if isinstance(label_names, dict) \
                            else enumerate(label_names)
                        conn.executemany("INSERT OR REPLACE INTO label_names VALUES (?, ?)",
                                         [(int(k), str(v)) for k, v in names])
                    self._set_meta("version", version)
                    self._set_meta("next_id", max(next_id, int(ids.max()) + 1))
                    log_edit(conn, version, "add", n, {
                        "min_id": int(ids.min()), "max_id": int(ids.max()),
                        "labels": np.unique(labels).tolist(), **(note or {})})
                finally:
                    indexing.result()  # inside: if the index fails, nothing is committed
        except BaseException:
            with contextlib.suppress(Exception):
                self.index.remove(ids)
            with contextlib.suppress(Exception):
                if self._conn.execute("SELECT 1 FROM items WHERE id=?", (int(ids[0]),)).fetchone() is None:
                    self._vec.zero(slots)  # not committed: no row will ever name these records
            raise
        lap("rows_and_index")
        kill_point("add:committed")
        self._index_dirty = self._kind.cached
        self._take(ids, labels.astype(np.int64), slots, hashes)
        self._after_edit()
        lap("after")
        return ids

    def _take(self, ids, labels, slots, hashes) -> None:
        """Merge committed items into the in-RAM arrays (kept sorted by id)."""
        parts = [(self._ids, ids), (self._labels, labels), (self._slots, slots)]
        if self._sha_keys is not None:
            parts.append((self._sha_keys, sha_prefixes(hashes)))
        merged = [np.concatenate(p) for p in parts]
        if (np.diff(merged[0][max(len(self._ids) - 1, 0):]) < 0).any():  # new ids out of order
            order = np.argsort(merged[0], kind="stable")
            merged = [m[order] for m in merged]
        self._ids, self._labels, self._slots = merged[:3]
        if self._sha_keys is not None:
            self._sha_keys = merged[3]
        self._free = self._free[~np.isin(self._free, slots)]

    def _allocate(self, n: int) -> np.ndarray:
        """`n` free slots: the lowest free records first, then new ones at the end."""
        take = self._free[:n]
        start = max(self._vec.slots, self._top())
        return np.concatenate([take, np.arange(start, start + n - len(take), dtype=np.int64)])

    def _check_new_ids(self, ids, n: int, next_id: int) -> np.ndarray:
        """Caller-chosen ids as int64, refused if malformed, repeated, present or used before."""
        ids = np.asarray(ids)
        if ids.shape != (n,) or not np.issubdtype(ids.dtype, np.integer):
            raise IdError(f"ids must be {n} integers (one per vector), got shape {ids.shape}")
        ids = ids.astype(np.int64)
        if n and ids.min() < 0:
            raise IdError(f"ids must be >= 0, got {int(ids.min())}")
        uniq, counts = np.unique(ids, return_counts=True)
        if (counts > 1).any():
            raise IdError(f"duplicate ids within the batch: {uniq[counts > 1][:10].tolist()}; "
                          f"nothing was added")
        present = ids[self.contains(ids)]
        if len(present):
            raise IdError(f"ids already in the memory: {present[:10].tolist()}; remove them "
                          f"first or let the memory assign ids; nothing was added")
        reused = ids[ids < next_id]
        if len(reused):
            raise IdError(f"ids {reused[:10].tolist()} were used before (and removed): a "
                          f"removed id never comes back; use ids >= {next_id}")
        return ids

    def _after_edit(self) -> None:
        """Recompute stored statistics that depend on the memory's contents."""
        cfg = self._meta("prune_config")
        if cfg is not None:
            pruning.compute(self, **json.loads(cfg))
        else:
            self._load_prune()


def _item_rows(ids, labels, sources, hashes, slots) -> tuple[str, list]:
    """The items table's columns and their values for executemany (sources only when given:
    fewer values to bind per row)."""
    rows = [ids.tolist(), labels.astype(np.int64).tolist(), hashes, slots.tolist()]
    if sources is None:
        return "id, label, sha256, slot", rows
    return "id, label, sha256, slot, source", rows + [[None if v is None else str(v) for v in sources]]


class background(threading.Thread):
    """`fn(*args, **kwargs)` started in a thread at once, for calls that release the GIL (file
    writes, FAISS): `result()` waits for it and re-raises what it raised."""

    def __init__(self, fn, *args, **kwargs):
        super().__init__(daemon=True)
        self._call, self._error, self._value = (fn, args, kwargs), None, None
        self.start()

    def run(self) -> None:
        fn, args, kwargs = self._call
        try:
            self._value = fn(*args, **kwargs)
        except BaseException as e:  # handed to the caller by result()
            self._error = e

    def result(self):
        self.join()
        if self._error is not None:
            raise self._error
        return self._value


class _Laps:
    """Adds the seconds since the last call to `into[step]`."""

    def __init__(self, into: dict[str, float]):
        self.into, self._t = into, time.perf_counter()

    def __call__(self, step: str) -> None:
        now = time.perf_counter()
        self.into[step] = self.into.get(step, 0.0) + now - self._t
        self._t = now
