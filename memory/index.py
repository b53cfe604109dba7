"""Nearest-neighbour indexes over unit vectors (cosine = inner product), keyed by int64 ids.

One interface, four backends, so the store and the benchmarks can swap them:

- ``flat``:  FAISS ``IndexFlatIP``, its ids in an array beside it, exact; the default
  (Geirhos et al. 2024 use exact search up to a few million vectors).
- ``ivfpq``: FAISS ``IndexIVFPQ`` (Jegou et al. 2011), approximate, for large memories; trained
  on the vectors present when the index is built; recall is measured against ``flat``
  (benchmarks/memory.py). Options: ``nlist`` (default 4*sqrt(N)), ``m`` sub-quantizers
  (default dim/8), ``nbits`` 8, ``nprobe`` 16, ``refine`` 0 (with r > 0 the store fetches the
  r*k candidates' exact vectors from the slot file and re-ranks them: PQ codes cap recall).
- ``numpy``: exact, a matrix product and ``argpartition``; no FAISS needed.
- ``torch``: exact, ``torch.topk`` on CUDA when available (torch imported lazily).

Each backend is an `Index` subclass registered in INDEX_TABLE under its kind (as timm's models
own their arguments): it owns its options, their checks, whether it keeps a cache file (only
IVF-PQ, whose training cannot be redone identically; exact kinds are rebuilt from the slot
file on open, so no cache can hold a removed vector) and its serialisation, so the store asks
the entry and never switches on a kind's name. No disk I/O.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from procmem.memory.errors import MemoryStoreError
from procmem.memory.rows import Rows
from procmem.memory.topk import topk


class IndexConfigError(MemoryStoreError):
    """An index was asked for something it cannot do (bad kind, untrained IVF-PQ, ...)."""


BLAS_THRESHOLD = 20


def _faiss():
    import faiss

    return faiss


@contextlib.contextmanager
def faiss_blas(threshold: int = BLAS_THRESHOLD):
    """Use BLAS for FAISS distance batches of >= `threshold` queries (FAISS's long-standing
    default, 20). faiss-cpu 1.15 ships 128000, which keeps batched searches and k-means on its
    SIMD loop: 8-10x slower than BLAS for 200 queries here (benchmarks/memory.py)."""
    faiss = _faiss()
    old = faiss.cvar.distance_compute_blas_threshold
    faiss.cvar.distance_compute_blas_threshold = int(threshold)
    try:
        yield
    finally:
        faiss.cvar.distance_compute_blas_threshold = old


class Index:
    """Common interface: ids are int64 >= 0; searches return (sims [Q,k] float32, ids [Q,k] int64),
    padded with -inf / -1 where the index holds fewer than k vectors."""

    kind = "?"
    file = "index.faiss"  # its cache file's name (format 1 cached every kind: removed on open)
    cached = False  # whether the store keeps a cache file (else it rebuilds on open)
    OPTIONS: dict[str, object] = {}  # option -> default, as VisualMemory.create takes them
    refine = 0  # > 0: the store re-ranks refine*k candidates with exact vectors

    def __init__(self, dim: int):
        self.dim = int(dim)

    @classmethod
    def check_options(cls, options: dict) -> None:
        """Raise IndexConfigError for an option this kind does not take or a bad value."""
        unknown = sorted(set(options) - set(cls.OPTIONS))
        if unknown:
            raise IndexConfigError(f"index type {cls.kind} takes no option {', '.join(unknown)} "
                                   f"(its options: {', '.join(cls.OPTIONS) or 'none'})")

    @classmethod
    def empty(cls, dim: int, **options) -> "Index":
        """A new empty index; `options` as stored with the memory."""
        return cls(dim)

    @classmethod
    def from_bytes(cls, dim: int, data: bytes, **options) -> "Index":
        """Rebuild a cached kind's index serialised by `to_bytes` (raises on corrupt bytes)."""
        raise NotImplementedError

    @property
    def ntotal(self) -> int:
        raise NotImplementedError

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        raise NotImplementedError

    def remove(self, ids: np.ndarray) -> int:
        raise NotImplementedError

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def ids(self) -> np.ndarray:
        raise NotImplementedError

    def reserve(self, n: int) -> None:
        """Room for `n` vectors in all, when the caller knows (no effect by default)."""

    def vectors(self, ids: np.ndarray) -> np.ndarray | None:
        """The stored float32 vectors of `ids`, or None for a lossy index (IVF-PQ)."""
        return None

    def to_bytes(self) -> bytes:
        raise NotImplementedError

    @property
    def exact(self) -> bool:
        return True


INDEX_TABLE: dict[str, type[Index]] = {}


def register_index(cls: type[Index]) -> type[Index]:
    INDEX_TABLE[cls.kind] = cls
    return cls


def _faiss_from_bytes(dim: int, data: bytes):
    index = _faiss().deserialize_index(np.frombuffer(data, dtype=np.uint8))
    if index.d != dim:
        raise IndexConfigError(f"index file holds {index.d}-d vectors, memory.json says {dim}")
    return index


class ExactIndex(Index):
    """Exact kinds: the vectors in RAM (memory.rows), built from the slot file on open."""

    def __init__(self, dim: int):
        super().__init__(dim)
        self._rows = Rows(self.dim)

    @property
    def ntotal(self) -> int:
        return len(self._rows)

    def reserve(self, n):
        self._rows.reserve(n)

    def add(self, ids, vectors):
        self._rows.add(ids, vectors)

    def remove(self, ids):
        return self._rows.remove(ids)

    def ids(self):
        return self._rows.ids.copy()

    def vectors(self, ids):
        return self._rows.vectors[self._rows.at(ids)]


@register_index
class FlatIndex(ExactIndex):
    """FAISS's exhaustive inner-product search (`faiss.knn`, what IndexFlatIP.search runs,
    BLAS from 20 queries) over the rows: the same answers as IndexIDMap2(IndexFlatIP), whose
    reverse id map and vector copy made each add cost more than the vectors' own bytes."""

    kind = "flat"

    def search(self, queries, k):
        faiss = _faiss()
        with faiss_blas():
            sims, rows = faiss.knn(np.ascontiguousarray(queries, dtype=np.float32),
                                   self._rows.vectors, int(k), metric=faiss.METRIC_INNER_PRODUCT)
        sims[rows < 0] = -np.inf
        return sims, np.where(rows >= 0, self._rows.ids[np.maximum(rows, 0)], -1)


@register_index
class IVFPQIndex(Index):
    """FAISS IndexIVFPQ with inner product (approximate); trained once on the vectors given to
    `train`; ids stored natively by the inverted lists, so removal needs no IDMap."""

    kind = "ivfpq"
    cached = True
    OPTIONS = {"nlist": None, "m": None, "nbits": 8, "nprobe": 16, "refine": 0}
    _LEAST = {"nlist": 1, "m": 1, "nbits": 1, "nprobe": 1, "refine": 0}

    def __init__(self, dim: int, index=None, *, nlist: int | None = None, m: int | None = None,
                 nbits: int = 8, nprobe: int = 16, refine: int = 0):
        super().__init__(dim)
        self.index = index
        self.nlist, self.nbits, self.nprobe = nlist, nbits, nprobe
        self.refine = int(refine)  # used by the store: re-rank refine*k candidates exactly
        self.m = m or max(1, dim // 8)
        if dim % self.m:
            raise IndexConfigError(f"IVF-PQ needs m (sub-quantizers) dividing the dimension {dim}; "
                              f"got m={self.m}: pick a divisor such as {max(1, dim // 8)}")

    @classmethod
    def check_options(cls, options):
        super().check_options(options)
        for name, value in options.items():
            if value is None and cls.OPTIONS[name] is None:  # nlist, m: chosen from the data
                continue
            whole = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
            if not whole or value < cls._LEAST[name]:
                raise IndexConfigError(f"IVF-PQ option {name} must be an integer >= "
                                       f"{cls._LEAST[name]}, got {value!r}")

    @classmethod
    def empty(cls, dim, **options):
        return cls(dim, **options)

    @classmethod
    def from_bytes(cls, dim, data, **options):
        return cls(dim, _faiss_from_bytes(dim, data), **options)

    @property
    def exact(self):
        return False

    def train(self, vectors: np.ndarray) -> None:
        faiss = _faiss()
        n = len(vectors)
        nlist = self.nlist or max(1, int(4 * math.sqrt(max(n, 1))))
        if n < max(nlist, 2 ** self.nbits):
            raise IndexConfigError(f"IVF-PQ needs at least {max(nlist, 2 ** self.nbits)} vectors to "
                              f"train (nlist={nlist}, 2^nbits={2 ** self.nbits}); the memory has "
                              f"{n}: use --index flat for a memory this small")
        quantizer = faiss.IndexFlatIP(self.dim)
        index = faiss.IndexIVFPQ(quantizer, self.dim, nlist, self.m, self.nbits,
                                 faiss.METRIC_INNER_PRODUCT)
        with faiss_blas():
            index.train(np.ascontiguousarray(vectors, dtype=np.float32))
        index.nprobe = self.nprobe
        self.index = index

    @property
    def ntotal(self):
        return int(self.index.ntotal) if self.index is not None else 0

    def _need(self):
        if self.index is None:
            raise IndexConfigError("IVF-PQ index is not trained yet: build the memory with its vectors "
                              "first (VisualMemory trains it on the first add)")

    def add(self, ids, vectors):
        if not len(ids):
            return
        if self.index is None:
            self.train(vectors)
        with faiss_blas():  # assigning vectors to lists is a batched search
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32),
                                    np.ascontiguousarray(ids, dtype=np.int64))

    def remove(self, ids):
        if self.index is None or not len(ids):
            return 0
        faiss = _faiss()
        return int(self.index.remove_ids(faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64))))

    def search(self, queries, k):
        if self.index is None:
            q = len(queries)
            return np.full((q, k), -np.inf, np.float32), np.full((q, k), -1, np.int64)
        self.index.nprobe = self.nprobe
        return _faiss_search(self.index, queries, k)

    def ids(self):
        if self.index is None:
            return np.empty(0, np.int64)
        faiss = _faiss()
        invlists = self.index.invlists
        out = []
        for lst in range(self.index.nlist):
            n = invlists.list_size(lst)
            if n:
                out.append(faiss.rev_swig_ptr(invlists.get_ids(lst), n).copy())
        return np.concatenate(out).astype(np.int64) if out else np.empty(0, np.int64)

    def stored(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, float32 [N, dim]) of every vector the inverted lists hold, as their codes
        decode (each list's PQ codes after its coarse code, little-endian: FAISS's sa codes)."""
        if self.index is None:
            return np.empty(0, np.int64), np.empty((0, self.dim), np.float32)
        faiss, invlists = _faiss(), self.index.invlists
        width = self.index.coarse_code_size()
        ids, packed = [], []
        for lst in range(self.index.nlist):
            n = invlists.list_size(lst)
            if n:
                ids.append(faiss.rev_swig_ptr(invlists.get_ids(lst), n).copy())
                codes = faiss.rev_swig_ptr(invlists.get_codes(lst), n * invlists.code_size)
                coarse = np.frombuffer(int(lst).to_bytes(width, "little"), np.uint8)
                packed.append(np.hstack([np.tile(coarse, (n, 1)), codes.copy().reshape(n, -1)]))
        if not ids:
            return np.empty(0, np.int64), np.empty((0, self.dim), np.float32)
        return np.concatenate(ids).astype(np.int64), self.index.sa_decode(np.concatenate(packed))

    def encoded(self, vectors: np.ndarray) -> np.ndarray:
        """`vectors` as this index would store them (encoded, then decoded)."""
        self._need()
        with faiss_blas():
            return self.index.sa_decode(self.index.sa_encode(np.ascontiguousarray(vectors, np.float32)))

    def to_bytes(self):
        self._need()
        return _faiss().serialize_index(self.index).tobytes()


@register_index
class NumpyIndex(ExactIndex):
    """Exact search with a matrix product and `memory.topk` (ties to the smaller id)."""

    kind = "numpy"
    file = "index.npz"

    def search(self, queries, k):
        q = len(queries)
        sims_out = np.full((q, k), -np.inf, np.float32)
        ids_out = np.full((q, k), -1, np.int64)
        if self.ntotal == 0 or q == 0:
            return sims_out, ids_out
        for start in range(0, q, 1024):  # bound the [q, N] score matrix
            s, i = self._top(queries[start:start + 1024], k)
            sims_out[start:start + len(s), :s.shape[1]] = s
            ids_out[start:start + len(s), :s.shape[1]] = i
        return sims_out, ids_out

    def _top(self, queries, k):
        """(sims, ids) of one batch's nearest (ties to the smaller id, padded to k)."""
        ids = self._rows.ids
        s, cols = topk(np.asarray(queries, np.float32) @ self._rows.vectors.T, k, keys=ids)
        return s, np.where(cols >= 0, ids[np.clip(cols, 0, None)], -1)


@register_index
class TorchIndex(NumpyIndex):
    """Exact search with torch (CUDA when available); the rows copied to the device once per
    change."""

    kind = "torch"
    _dev_cache = (None, None)

    def _top(self, queries, k):
        import torch

        dev = "cuda" if torch.cuda.is_available() else "cpu"
        if self._dev_cache[0] != self._rows.changes:
            self._dev_cache = (self._rows.changes, torch.from_numpy(self._rows.vectors).to(dev))
        x = self._dev_cache[1]
        qq = torch.from_numpy(np.ascontiguousarray(queries, np.float32)).to(dev)
        vals, idx = torch.topk(qq @ x.T, min(k, self.ntotal), dim=1)
        return vals.cpu().numpy(), self._rows.ids[idx.cpu().numpy()]


def _faiss_search(index, queries, k):
    with faiss_blas():
        sims, ids = index.search(np.ascontiguousarray(queries, dtype=np.float32), int(k))
    sims[ids < 0] = -np.inf  # FAISS returns float32 and int64 arrays of its own: no copies
    return sims, ids


KINDS = tuple(INDEX_TABLE)


def kind(name: str) -> type[Index]:
    """The registered index class of kind `name` (one of KINDS)."""
    try:
        return INDEX_TABLE[name]
    except KeyError:
        raise IndexConfigError(f"unknown index type {name!r}; choose one of {', '.join(KINDS)}"
                               ) from None
