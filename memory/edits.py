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
from typing import Sequence

import numpy as np

from procmem.memory import pruning
from procmem.memory.errors import IdError, MemoryStoreError
from procmem.memory.killpoints import kill_point
from procmem.memory.schema import log_edit
from procmem.memory.vectors import normalise, vector_sha256


class Edits:
    """`add` of VisualMemory, and what every edit does after it commits."""

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
        hashes = [vector_sha256(v) for v in x]
        src = list(sources) if sources is not None else [None] * n
        version = self.version + 1
        slots = self._allocate(n)
        self._vec.write(slots, x)
        kill_point("add:slots-written")
        try:
            with self._transaction() as conn:
                conn.executemany(
                    "INSERT INTO items(id, label, source, sha256, slot, version) "
                    "VALUES (?,?,?,?,?,?)",
                    zip(ids.tolist(), labels.astype(np.int64).tolist(),
                        [None if s is None else str(s) for s in src], hashes, slots.tolist(),
                        [version] * n))
                if label_names:
                    names = label_names.items() if isinstance(label_names, dict) \
                        else enumerate(label_names)
                    conn.executemany("INSERT OR REPLACE INTO label_names VALUES (?, ?)",
                                     [(int(k), str(v)) for k, v in names])
                self._set_meta("version", version)
                self._set_meta("next_id", max(next_id, int(ids.max()) + 1))
                log_edit(conn, version, "add", n, {
                    "min_id": int(ids.min()), "max_id": int(ids.max()),
                    "labels": sorted(set(labels.tolist())), **(note or {})})
                self.index.add(ids, x)  # inside: if it fails, nothing is committed
        except BaseException:
            with contextlib.suppress(Exception):
                self.index.remove(ids)
            with contextlib.suppress(Exception):
                if self._conn.execute("SELECT 1 FROM items WHERE id=?", (int(ids[0]),)).fetchone() is None:
                    self._vec.zero(slots)  # not committed: no row will ever name these records
            raise
        kill_point("add:committed")
        self._index_dirty = self._kind.cached
        order = np.argsort(np.concatenate([self._ids, ids]), kind="stable")
        self._ids = np.concatenate([self._ids, ids])[order]
        self._labels = np.concatenate([self._labels, labels.astype(np.int64)])[order]
        self._slots = np.concatenate([self._slots, slots])[order]
        self._free = self._free[~np.isin(self._free, slots)]
        self._after_edit()
        return ids

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
