"""`VisualMemory`: a persistent, editable store of labelled unit vectors (contract 6).

Geirhos et al. 2024 ("Towards flexible perception with visual memory"): knowledge lives in a
database of (embedding, label) pairs that can be added to and removed from without training.

Crash-safety design. ``memory.sqlite`` (memory.schema) is the single source of truth: it holds
every item's id, label, source, the float32 vector itself (BLOB) and its sha256, the label
names, the store version, derived statistics (memory.derived) and an append-only edit log.
Each edit (memory.edits) is one SQLite transaction that also bumps the version, so an edit is
committed or not, never half. The search index is a derived cache (memory.index_cache),
reconciled with SQLite on open; a removal deletes the stale index file at once and
checkpoints the WAL. So kill -9 at any point loses no committed add and never brings back a
removed item.

Vectors are L2-normalised on add (zero, NaN and inf rows are rejected; memory.vectors); the
metric is cosine (inner product of unit vectors). Ids are int64 >= 0 and never reused.

One process edits a memory at a time: SQLite serialises writers, but another process's
in-RAM index only sees the edits when it opens the memory again.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from procmem.core.clock import utc_now
from procmem.memory import decisions, schema
from procmem.memory import index as index_mod
from procmem.memory.derived import DerivedTables
from procmem.memory.edits import Edits
from procmem.memory.errors import CorruptStoreError, FingerprintError, IdError, MemoryStoreError
from procmem.memory.index_cache import IndexCache
from procmem.memory.rerank import rerank
from procmem.memory.schema import FORMAT, INDEX_JSON, JSON_NAME, SCHEMA, SQLITE_NAME, chunks, rows_by_id
from procmem.memory.vectors import normalise, vector_sha256

__all__ = ["VisualMemory", "Info", "normalise", "vector_sha256", "FORMAT", "SCHEMA",
           "SQLITE_NAME", "JSON_NAME", "INDEX_JSON"]


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


class VisualMemory(Edits, DerivedTables, IndexCache):
    """A memory directory: create, open, add, remove, search, classify (contract 6). The
    edits, the derived tables and the index cache are its parts in their own modules."""

    def __init__(self, path: Path, conn: sqlite3.Connection):
        self.path = Path(path)
        self._conn = conn
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
        self._load_items()
        self.index = self._reconcile_index()
        self._write_json()

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
    def open(cls, path, *, fingerprint: str | None = None) -> "VisualMemory":
        """Open an existing memory, reconciling its index with SQLite; optionally check the
        encoder `fingerprint` the caller will query with."""
        path = Path(path)
        db = path / SQLITE_NAME
        if not db.is_file():
            raise MemoryStoreError(f"no visual memory at {path} (missing {SQLITE_NAME}): create "
                                   f"one with `procmem memory build`")
        conn = schema.connect(db)
        try:
            mem = cls(path, conn)
        except sqlite3.DatabaseError as e:
            conn.close()
            raise CorruptStoreError(f"{db} is damaged ({e}): restore it from a backup or rebuild "
                                    f"the memory from its embeddings; `procmem memory verify` "
                                    f"reports details")
        except BaseException:
            conn.close()
            raise
        if fingerprint is not None:
            mem.check_fingerprint(fingerprint)
        return mem

    def close(self) -> None:
        """Write the index cache if it is stale, then close SQLite."""
        if self._conn is None:
            return
        self.flush()
        self._conn.close()
        self._conn = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ state in RAM
    def _load_items(self) -> None:
        rows = self._conn.execute("SELECT id, label FROM items ORDER BY id").fetchall()
        arr = np.array(rows, dtype=np.int64).reshape(-1, 2)
        self._ids, self._labels = arr[:, 0].copy(), arr[:, 1].copy()
        self._load_prune()

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
        """The stored float32 vectors of `ids` (from SQLite, the source of truth)."""
        ids = np.asarray(ids, dtype=np.int64).ravel()
        out = np.empty((len(ids), self.dim), np.float32)
        pos = {int(i): r for r, i in enumerate(ids)}
        for i, blob in rows_by_id(self._conn, "SELECT id, vector FROM items WHERE id IN ({})",
                                  ids.tolist()):
            out[pos[i]] = np.frombuffer(blob, dtype="<f4")
        missing = ids[~self.contains(ids)]
        if len(missing):
            raise IdError(f"ids not in the memory at {self.path}: {missing[:10].tolist()}")
        return out

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
                    self.version, len(self), self.num_classes, edits)

    # ------------------------------------------------------------------ fingerprints
    def check_fingerprint(self, fingerprint: str | None, dim: int | None = None) -> None:
        """Raise FingerprintError unless queries from (fingerprint, dim) match this memory."""
        if dim is not None and int(dim) != self.dim:
            raise FingerprintError(f"queries are {dim}-d but the memory at {self.path} stores "
                                   f"{self.dim}-d vectors from encoder {self.fingerprint}: embed "
                                   f"the queries with that encoder")
        if fingerprint is not None and str(fingerprint) != self.fingerprint:
            raise FingerprintError(f"queries come from encoder {fingerprint} but the memory at "
                                   f"{self.path} was built with encoder {self.fingerprint}: embed "
                                   f"with the memory's encoder or build a new memory")

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
        """(ids [N], vectors [N, D], labels [N]) of every item in id order, read from SQLite."""
        parts = list(self.iter_vectors())
        if not parts:
            return np.empty(0, np.int64), np.empty((0, self.dim), np.float32), np.empty(0, np.int64)
        return self._ids.copy(), np.concatenate([v for _, v in parts]), self._labels.copy()

    def iter_vectors(self, batch: int = 50_000):
        """(ids, vectors) batches over the whole store in id order, from SQLite."""
        for chunk in chunks(self._ids.tolist(), batch):
            yield np.asarray(chunk, np.int64), self._vectors_unchecked(chunk)

    def _need_open(self) -> None:
        if self._conn is None:
            raise MemoryStoreError(f"the memory at {self.path} is closed: open it again")

    @property
    def connection(self) -> sqlite3.Connection:
        """The SQLite connection (for verify and receipts; do not write through it)."""
        self._need_open()
        return self._conn

    def _vectors_unchecked(self, ids: list[int]) -> np.ndarray:
        """Vectors of sorted `ids` known to be present, in id order, straight from SQLite."""
        blobs = rows_by_id(self._conn, "SELECT vector FROM items WHERE id IN ({}) ORDER BY id", ids)
        return np.frombuffer(b"".join(r[0] for r in blobs), dtype="<f4").reshape(-1, self.dim)
