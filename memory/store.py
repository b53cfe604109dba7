"""`VisualMemory`: a persistent, editable store of labelled unit vectors (contract 6).

Geirhos et al. 2024 ("Towards flexible perception with visual memory"): knowledge lives in a
database of (embedding, label) pairs that can be added to and removed from without training.

The directory (docs/architecture.md, contract 6): ``memory.sqlite`` is the source of truth for
all but the floats (memory.schema), ``vectors.f32`` holds the vectors, one fixed-size record
per slot (memory.slots), ``residuals.<n>.f32`` the ResMem residuals, ``index.faiss`` +
``index.json`` the IVF-PQ cache (exact kinds keep none), ``memory.json`` a mirror of the
settings, ``memory.lock`` the writer's lock, ``receipts/`` the unlearning receipts. Each add
(memory.edits) writes its records, then commits its rows in one transaction that bumps the
version; each removal (memory.erasure) commits, then erases. So kill -9 at any point loses no
committed add, never brings back a removed item and leaves no byte of a removed vector once
the memory is opened again.

Opening: one process at a time holds ``memory.lock`` and may edit; any other opens read-only.
The writer, before anything reads a vector, migrates a format-1 memory (memory.migrate),
sweeps the temporaries of killed writers, zeroes each pending erasure's records, zeroes
records no row names (a killed add) and deletes stale caches; then it builds the index and
finishes the pending erasures, issuing the receipts that were owed (`finished_on_open`).

Vectors are L2-normalised on add (zero, NaN and inf rows are rejected; memory.vectors); the
metric is cosine (inner product of unit vectors). Ids are int64 >= 0 and never reused.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from procmem.core.atomic import sweep_temporaries
from procmem.core.clock import utc_now
from procmem.memory import decisions, schema
from procmem.memory import index as index_mod
from procmem.memory.derived import DerivedTables
from procmem.memory.edits import Edits
from procmem.memory.erasure import Erasure
from procmem.memory.errors import CorruptStoreError, FingerprintError, IdError, MemoryStoreError
from procmem.memory.index_cache import IndexCache
from procmem.memory.migrate import migrate, needs_migration
from procmem.memory.rerank import rerank
from procmem.memory.schema import (
    FORMAT,
    INDEX_JSON,
    JSON_NAME,
    LOCK_NAME,
    SCHEMA,
    SQLITE_NAME,
    VECTORS_NAME,
    rows_by_id,
)
from procmem.memory.selection import Selecting
from procmem.memory.slots import SlotFile
from procmem.memory.vectors import normalise, vector_sha256

__all__ = ["VisualMemory", "Info", "normalise", "vector_sha256", "FORMAT", "SCHEMA",
           "SQLITE_NAME", "JSON_NAME", "INDEX_JSON", "VECTORS_NAME"]


@dataclass(frozen=True)
class Info:
    """A memory's settings and counts (what `procmem memory info` prints first)."""

    path: str
    dim: int
    metric: str
    index: str
    fingerprint: str
    version: int
    count: int
    num_classes: int
    edits: int
    erasures_pending: int


class VisualMemory(Selecting, Edits, Erasure, DerivedTables, IndexCache):
    """A memory directory: create, open, add, remove, search, classify (contract 6). The
    selection, the edits, the erasure, the derived tables and the index are parts in their
    own modules."""

    def __init__(self, path: Path, conn: sqlite3.Connection, lock_fd: int | None = None):
        self.path, self._conn, self._lock_fd = Path(path), conn, lock_fd
        self.writable = lock_fd is not None
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        try:
            self.dim = int(meta["dim"])
            self.fingerprint = meta["fingerprint"]
            self.index_kind = meta["index"]
            self.index_options = json.loads(meta["index_options"])
        except (KeyError, ValueError) as e:
            raise CorruptStoreError(f"{self.path / SQLITE_NAME} lacks its settings ({e}): the "
                                    f"memory was never fully created; delete it and build again")
        self._kind = index_mod.kind(self.index_kind)
        self._index_dirty = False
        self.add_seconds: dict[str, float] = {}
        self._vec = SlotFile(self.path / VECTORS_NAME, self.dim, writable=self.writable)
        name = meta.get("residuals_file")
        self._res = SlotFile(self.path / name, int(meta["residuals_width"]),
                             writable=self.writable) if name else None
        self._load_items()
        self._pending = {int(v): json.loads(r) for v, r in
                         conn.execute("SELECT version, record FROM pending_erasures")}
        held, self.swept, self.zeroed_on_open = {}, 0, 0
        if self.writable:  # before anything reads a vector
            self.swept = sweep_temporaries(self.path)
            held = self._hold_and_zero_pending()
            self._zero_unreferenced()
            self._drop_stale_caches()
            for p in self.path.glob("residuals.*.f32"):
                if name != p.name:
                    p.unlink()
        self._update_free()
        self.index = self._build_index()
        self.finished_on_open = self._finish_pending(held) if self.writable else []
        self.flush()

    # ------------------------------------------------------------------ open / create
    @classmethod
    def create(cls, path, dim: int, fingerprint: str, index: str = "flat", *,
               exist_ok: bool = False, **index_options) -> "VisualMemory":
        """A new, empty memory in directory `path` for `dim`-d vectors from encoder `fingerprint`."""
        path = Path(path)
        if int(dim) < 1:
            raise MemoryStoreError(f"dimension must be >= 1, got {dim}")
        kind = index_mod.kind(index)
        kind.check_options(index_options)
        kind.empty(int(dim), **index_options)  # what needs the dimension (IVF-PQ's m), before any write
        if (path / SQLITE_NAME).exists():
            if exist_ok:
                return cls.open(path)
            raise MemoryStoreError(f"{path} already holds a visual memory: open it, add to it, or "
                                   f"choose a new directory")
        path.mkdir(parents=True, exist_ok=True)
        meta = {"format": str(FORMAT), "dim": str(int(dim)), "metric": "cosine",
                "fingerprint": str(fingerprint), "index": index,
                "index_options": json.dumps(index_options, sort_keys=True),
                "version": "0", "next_id": "0", "created": utc_now()}
        schema.create_database(path, meta, {"dim": int(dim), "fingerprint": str(fingerprint),
                                            "index": index})
        return cls.open(path)

    @classmethod
    def open(cls, path, *, fingerprint: str | None = None, read_only: bool = False) -> "VisualMemory":
        """Open an existing memory (migrating a format-1 one, finishing interrupted erasures);
        optionally check the encoder `fingerprint` the caller will query with. Read-only when
        asked, or when another process holds the memory: then nothing on disk is changed."""
        path = Path(path)
        db = path / SQLITE_NAME
        if not db.is_file():
            raise MemoryStoreError(f"no visual memory at {path} (missing {SQLITE_NAME}): create "
                                   f"one with `procmem memory build`")
        lock_fd = None if read_only else schema.lock_writer(path)
        conn = None
        try:
            conn = schema.connect(db, read_only=lock_fd is None)
            if needs_migration(conn):
                conn.close()
                if lock_fd is None:
                    raise MemoryStoreError(f"{path} is a format-1 memory (vectors inside SQLite): "
                                           f"open it once for writing, with no other process "
                                           f"using it, to migrate it")
                sweep_temporaries(path)
                migrate(path)
                conn = schema.connect(db)
            mem = cls(path, conn, lock_fd)
        except sqlite3.DatabaseError as e:
            cls._release(conn, lock_fd)
            raise CorruptStoreError(f"{db} is damaged ({e}): restore it from a backup or rebuild "
                                    f"the memory from its embeddings; `procmem memory verify` "
                                    f"reports details")
        except BaseException:
            cls._release(conn, lock_fd)
            raise
        if fingerprint is not None:
            mem.check_fingerprint(fingerprint)
        return mem

    @staticmethod
    def _release(conn, lock_fd) -> None:
        with contextlib.suppress(Exception):
            conn.close()
        if lock_fd is not None:
            os.close(lock_fd)

    def close(self) -> None:
        """Write the IVF-PQ cache if it is stale, then close SQLite and release the lock."""
        if self._conn is None:
            return
        self.flush()
        self._conn.close()
        self._conn = None
        for f in (self._vec, self._res):
            if f is not None:
                f.close()
        self._release(None, self._lock_fd)
        self._lock_fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ slots
    def _load_items(self) -> None:
        rows = self._conn.execute("SELECT id, label, slot FROM items ORDER BY id")
        arr = np.fromiter((v for row in rows for v in row), np.int64).reshape(-1, 3)
        self._ids, self._labels, self._slots = (np.ascontiguousarray(arr[:, c]) for c in range(3))
        # sha256 prefixes aligned with _ids (memory.erasure), loaded when a removal needs them
        self._sha_keys = None if len(self._ids) else np.empty(0, np.uint64)
        self._load_prune()

    def _pending_slots(self) -> np.ndarray:
        return np.array([it["slot"] for r in self._pending.values() for it in r["items"]], np.int64)

    def _top(self) -> int:
        """One past the highest slot a row or a pending erasure names."""
        used = np.concatenate([self._slots, self._pending_slots()])
        return int(used.max()) + 1 if len(used) else 0

    def _zero_unreferenced(self) -> None:
        """Zero the records no row and no pending erasure names (a killed add's), and a
        partial last record."""
        self.zeroed_on_open = self._vec.zero_tail()
        for f in (self._vec, self._res):
            if f is not None and f.slots:
                free = self._unused(f.slots)
                dirty = free[f.nonzero(free)]
                if len(dirty):
                    self.zeroed_on_open += f.zero(dirty)

    def _update_free(self) -> None:
        """The free slots (zeroed records below the top); records above it are cut off."""
        top = self._top()
        for f in (self._vec, self._res):
            if self.writable and f is not None and f.slots > top:
                f.truncate(top)
        self._free = self._unused(min(self._vec.slots, top))

    def _unused(self, n: int) -> np.ndarray:
        """Slots below `n` that no row and no pending erasure names, ascending."""
        used = np.zeros(n, bool)
        for slots in (self._slots, self._pending_slots()):
            used[slots[slots < n]] = True
        return np.flatnonzero(~used).astype(np.int64)

    # ------------------------------------------------------------------ state in RAM
    def _transaction(self):
        return schema.transaction(self._conn)

    def _meta(self, key: str) -> str | None:
        return schema.get_meta(self._conn, key)

    def _set_meta(self, key: str, value) -> None:
        schema.set_meta(self._conn, key, value)

    @property
    def version(self) -> int:
        return int(self._meta("version"))

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def ids(self) -> np.ndarray:
        return self._ids.copy()

    @property
    def labels(self) -> np.ndarray:
        """Labels aligned with `ids` (sorted by id)."""
        return self._labels.copy()

    @property
    def label_names(self) -> dict[int, str]:
        return dict(self._conn.execute("SELECT label, name FROM label_names"))

    @property
    def num_classes(self) -> int:
        top = int(self._labels.max()) + 1 if len(self._labels) else 0
        names = self._conn.execute("SELECT max(label) FROM label_names").fetchone()[0]
        return max(top, (names + 1) if names is not None else 0, 1)

    def labels_of(self, ids) -> np.ndarray:
        """Labels of `ids` (any shape); -1 for -1 (padding) or ids not in the memory."""
        ids = np.asarray(ids, dtype=np.int64)
        if not len(self._ids):
            return np.full(ids.shape, -1, np.int64)
        pos = np.clip(np.searchsorted(self._ids, ids), 0, len(self._ids) - 1)
        return np.where(self._ids[pos] == ids, self._labels[pos], -1).astype(np.int64)

    def contains(self, ids) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        return np.isin(ids, self._ids)

    def vectors(self, ids) -> np.ndarray:
        """The stored float32 vectors of `ids`, in the order given (from the slot file)."""
        ids = np.asarray(ids, dtype=np.int64).ravel()
        missing = ids[~self.contains(ids)]
        if len(missing):
            raise IdError(f"ids not in the memory at {self.path}: {missing[:10].tolist()}")
        return self._vec.read(self._slots[np.searchsorted(self._ids, ids)])

    def sources(self, ids) -> list[str | None]:
        ids = np.asarray(ids, dtype=np.int64).ravel().tolist()
        got = dict(rows_by_id(self._conn, "SELECT id, source FROM items WHERE id IN ({})", ids))
        return [got.get(i) for i in ids]

    def edit_log(self) -> list[dict]:
        cur = self._conn.execute("SELECT seq, version, time, op, count, detail FROM edits ORDER BY seq")
        return [dict(seq=s, version=v, time=t, op=o, count=c, detail=json.loads(d))
                for s, v, t, o, c, d in cur]

    def info(self) -> Info:
        edits = self._conn.execute("SELECT count(*) FROM edits").fetchone()[0]
        return Info(str(self.path), self.dim, "cosine", self.index_kind, self.fingerprint,
                    self.version, len(self), self.num_classes, edits, len(self._pending))

    # ------------------------------------------------------------------ fingerprints
    def check_fingerprint(self, fingerprint: str | None, dim: int | None = None) -> None:
        """Raise FingerprintError unless queries from (fingerprint, dim) match this memory."""
        if fingerprint is not None and str(fingerprint) != self.fingerprint:
            raise FingerprintError(f"queries come from encoder {fingerprint} but the memory at "
                                   f"{self.path} was built with encoder {self.fingerprint}: embed "
                                   f"with the memory's encoder or build a new memory")
        if dim is not None and int(dim) != self.dim:
            raise FingerprintError(f"queries are {dim}-d but the memory at {self.path} stores "
                                   f"{self.dim}-d vectors from encoder {self.fingerprint}: embed "
                                   f"the queries with that encoder")

    # ------------------------------------------------------------------ search / classify
    def search(self, queries, k: int, *, fingerprint: str | None = None):
        """Nearest `k` items by cosine similarity: (sims float32 [Q, k], ids int64 [Q, k]),
        nearest first, padded with (-inf, -1) when the memory holds fewer than k items."""
        self._need_open()
        q = np.asarray(queries)
        self.check_fingerprint(fingerprint, q.shape[-1] if q.ndim >= 1 else None)
        if int(k) < 1:
            raise MemoryStoreError(f"k must be >= 1, got {k}")
        q = normalise(q, self.dim, "queries")
        if self.index.refine > 0:  # exact re-ranking of an approximate index's candidates
            _, cand = self.index.search(q, int(k) * self.index.refine)
            return rerank(q, cand, int(k), lambda ids: self._vectors_unchecked(ids.tolist()))
        return self.index.search(q, int(k))

    def classify(self, queries, k: int = 10, rule: str = "rank", *, tau: float = 0.07,
                 alpha: float = 2.0, pruning: str = "none", fingerprint: str | None = None):
        """kNN decision with its neighbours (memory.decisions.Decisions); `pruning="soft"`
        multiplies each neighbour's vote by gamma = d/(c+v) (Geirhos et al. App. G)."""
        sims, ids = self.search(queries, k, fingerprint=fingerprint)
        return decisions.decide(self, sims, ids, rule, tau=tau, alpha=alpha, pruning=pruning)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids [N], vectors [N, D], labels [N]) of every item in id order."""
        return self._ids.copy(), self._vec.read(self._slots), self._labels.copy()

    def iter_vectors(self, batch: int = 50_000):
        """(ids, vectors) batches over the whole store in id order, from the slot file."""
        for start in range(0, len(self._ids), batch):
            yield self._ids[start:start + batch].copy(), self._vec.read(self._slots[start:start + batch])

    def _need_open(self) -> None:
        if self._conn is None:
            raise MemoryStoreError(f"the memory at {self.path} is closed: open it again")

    def _need_writable(self) -> None:
        self._need_open()
        if not self.writable:
            raise MemoryStoreError(f"the memory at {self.path} is open read-only (opened with "
                                   f"read_only=True, or another process holds {LOCK_NAME}): "
                                   f"close the other process, then open it again to edit")

    @property
    def connection(self) -> sqlite3.Connection:
        """The SQLite connection (for verify and receipts; do not write through it)."""
        self._need_open()
        return self._conn

    def _vectors_unchecked(self, ids: list[int]) -> np.ndarray:
        """Vectors of sorted `ids` known to be present, in id order, from the slot file."""
        return self._vec.read(self._slots[np.searchsorted(self._ids, np.asarray(ids, np.int64))])

