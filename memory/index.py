"""Nearest-neighbour indexes over unit vectors (cosine = inner product), keyed by int64 ids.

One interface, four backends, so the store and the benchmarks can swap them:

- ``flat``:  FAISS ``IndexIDMap2(IndexFlatIP)``, exact; the default (Geirhos et al. 2024 use
  exact search up to a few million vectors).
- ``ivfpq``: FAISS ``IndexIVFPQ`` (Jegou et al. 2011), approximate, for large memories; trained
  on the vectors present when the index is built; recall is measured against ``flat``
  (benchmarks/memory.py). Options: ``nlist`` (default 4*sqrt(N)), ``m`` sub-quantizers
  (default dim/8), ``nbits`` 8, ``nprobe`` 16, ``refine`` 0 (with r > 0 the store fetches the
  r*k candidates' exact vectors from SQLite and re-ranks them: PQ codes cap recall).
- ``numpy``: exact, a matrix product and ``argpartition``; no FAISS needed.
- ``torch``: exact, ``torch.topk`` on CUDA when available (torch imported lazily).

Every index serialises to bytes (``to_bytes``/``from_bytes``) so the store can write it with
``procmem.atomic``; nothing here touches the disk.
"""

from __future__ import annotations

import contextlib
import io
import math

import numpy as np

from procmem.memory.errors import MemoryStoreError
from procmem.memory.topk import topk

KINDS = ("flat", "ivfpq", "numpy", "torch")


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

    def __init__(self, dim: int):
        self.dim = int(dim)

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

    def vectors(self, ids: np.ndarray) -> np.ndarray | None:
        """The stored float32 vectors of `ids`, or None for a lossy index (IVF-PQ)."""
        return None

    def to_bytes(self) -> bytes:
        raise NotImplementedError

    @property
    def exact(self) -> bool:
        return True


class FlatIndex(Index):
    """FAISS IndexIDMap2 over IndexFlatIP: exact inner-product search, removable ids."""

    kind = "flat"

    def __init__(self, dim: int, index=None):
        super().__init__(dim)
        faiss = _faiss()
        self.index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def add(self, ids, vectors):
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32),
                                    np.ascontiguousarray(ids, dtype=np.int64))

    def remove(self, ids):
        faiss = _faiss()
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        return int(self.index.remove_ids(faiss.IDSelectorBatch(ids))) if len(ids) else 0

    def search(self, queries, k):
        return _faiss_search(self.index, queries, k)

    def ids(self):
        return _faiss().vector_to_array(self.index.id_map).astype(np.int64)

    def vectors(self, ids):
        ids = np.asarray(ids, dtype=np.int64)
        out = np.empty((len(ids), self.dim), dtype=np.float32)
        for row, i in enumerate(ids):
            out[row] = self.index.reconstruct(int(i))
        return out

    def to_bytes(self):
        return _faiss().serialize_index(self.index).tobytes()


class IVFPQIndex(Index):
    """FAISS IndexIVFPQ with inner product (approximate); trained once on the vectors given to
    `train`; ids stored natively by the inverted lists, so removal needs no IDMap."""

    kind = "ivfpq"

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

    @property
    def exact(self):
        return False

    @property
    def trained(self) -> bool:
        return self.index is not None

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

    def to_bytes(self):
        self._need()
        return _faiss().serialize_index(self.index).tobytes()


class NumpyIndex(Index):
    """Exact search with a matrix product; vectors and ids kept as arrays (removal compacts)."""

    kind = "numpy"

    def __init__(self, dim: int, ids=None, vectors=None):
        super().__init__(dim)
        self._ids = np.asarray(ids if ids is not None else np.empty(0), dtype=np.int64)
        self._vecs = np.asarray(vectors if vectors is not None else np.empty((0, dim)), dtype=np.float32)
        self._pos: dict[int, int] | None = None

    @property
    def ntotal(self):
        return len(self._ids)

    def add(self, ids, vectors):
        self._ids = np.concatenate([self._ids, np.asarray(ids, np.int64)])
        self._vecs = np.concatenate([self._vecs, np.asarray(vectors, np.float32)])
        self._pos = None

    def remove(self, ids):
        keep = ~np.isin(self._ids, np.asarray(ids, np.int64))
        removed = int((~keep).sum())
        if removed:
            self._ids, self._vecs = self._ids[keep], self._vecs[keep]
            self._pos = None
        return removed

    def _scores(self, queries):
        return np.asarray(queries, np.float32) @ self._vecs.T

    def search(self, queries, k):
        q = len(queries)
        sims_out = np.full((q, k), -np.inf, np.float32)
        ids_out = np.full((q, k), -1, np.int64)
        n = self.ntotal
        if n == 0 or q == 0:
            return sims_out, ids_out
        for start in range(0, q, 1024):  # bound the [q, N] score matrix
            s, cols = topk(self._scores(queries[start:start + 1024]), k, keys=self._ids)
            sims_out[start:start + len(s)] = s
            ids_out[start:start + len(s)] = np.where(cols >= 0, self._ids[np.clip(cols, 0, None)], -1)
        return sims_out, ids_out

    def ids(self):
        return self._ids.copy()

    def vectors(self, ids):
        if self._pos is None:
            self._pos = {int(i): r for r, i in enumerate(self._ids)}
        return self._vecs[[self._pos[int(i)] for i in ids]]

    def to_bytes(self):
        buf = io.BytesIO()
        np.savez(buf, ids=self._ids, vectors=self._vecs)
        return buf.getvalue()


class TorchIndex(NumpyIndex):
    """Exact search with torch (CUDA when available); same storage as NumpyIndex."""

    kind = "torch"

    def search(self, queries, k):
        import torch

        q = len(queries)
        n = self.ntotal
        if n == 0 or q == 0:
            return np.full((q, k), -np.inf, np.float32), np.full((q, k), -1, np.int64)
        dev = "cuda" if torch.cuda.is_available() else "cpu"
        if getattr(self, "_dev_cache", None) is None or self._dev_cache[0] is not self._vecs:
            self._dev_cache = (self._vecs, torch.from_numpy(self._vecs).to(dev))
        x = self._dev_cache[1]
        kk = min(k, n)
        sims_out = np.full((q, k), -np.inf, np.float32)
        ids_out = np.full((q, k), -1, np.int64)
        for start in range(0, q, 1024):
            qq = torch.from_numpy(np.ascontiguousarray(queries[start:start + 1024], np.float32)).to(dev)
            vals, idx = torch.topk(qq @ x.T, kk, dim=1)
            sims_out[start:start + len(qq), :kk] = vals.cpu().numpy()
            ids_out[start:start + len(qq), :kk] = self._ids[idx.cpu().numpy()]
        return sims_out, ids_out


def _order(sims: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Row-wise order of [Q, k] candidates: similarity descending, ties to the smaller id."""
    by_id = np.argsort(ids, axis=1, kind="stable")
    by_sim = np.argsort(-np.take_along_axis(sims, by_id, axis=1), axis=1, kind="stable")
    return np.take_along_axis(by_id, by_sim, axis=1)


def rerank(queries: np.ndarray, ids: np.ndarray, k: int, fetch) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k among candidate `ids` [Q, K] (-1 = none): `fetch(sorted unique ids)` returns
    their float32 vectors in that order (Jegou et al. 2011's re-ranking with exact vectors)."""
    q = np.asarray(queries, np.float32)
    uniq = np.unique(ids[ids >= 0])
    vecs = fetch(uniq) if len(uniq) else np.zeros((1, q.shape[1]), np.float32)
    pos = np.clip(np.searchsorted(uniq, ids), 0, max(len(uniq) - 1, 0))
    sims = np.einsum("qd,qkd->qk", q, vecs[pos]).astype(np.float32)
    sims[ids < 0] = -np.inf
    order = _order(sims, np.where(ids < 0, np.iinfo(np.int64).max, ids))[:, :k]
    out_s, out_i = np.take_along_axis(sims, order, 1), np.take_along_axis(ids, order, 1)
    if out_s.shape[1] < k:
        pad = k - out_s.shape[1]
        out_s = np.pad(out_s, ((0, 0), (0, pad)), constant_values=-np.inf)
        out_i = np.pad(out_i, ((0, 0), (0, pad)), constant_values=-1)
    return out_s, out_i


def _faiss_search(index, queries, k):
    with faiss_blas():
        sims, ids = index.search(np.ascontiguousarray(queries, dtype=np.float32), int(k))
    sims = sims.astype(np.float32)
    sims[ids < 0] = -np.inf
    return sims, ids.astype(np.int64)


def create(kind: str, dim: int, **options) -> Index:
    """A new empty index of `kind` (one of KINDS)."""
    if kind == "flat":
        return FlatIndex(dim)
    if kind == "ivfpq":
        return IVFPQIndex(dim, **options)
    if kind == "numpy":
        return NumpyIndex(dim)
    if kind == "torch":
        return TorchIndex(dim)
    raise IndexConfigError(f"unknown index type {kind!r}; choose one of {', '.join(KINDS)}")


def from_bytes(kind: str, dim: int, data: bytes, **options) -> Index:
    """Rebuild an index serialised by `Index.to_bytes` (raises on corrupt bytes)."""
    if kind in ("flat", "ivfpq"):
        faiss = _faiss()
        index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        if index.d != dim:
            raise IndexConfigError(f"index file holds {index.d}-d vectors, memory.json says {dim}")
        # deserialize_index already returns the concrete class; wrapping it again would
        # give two Python owners of one C++ object.
        return FlatIndex(dim, index) if kind == "flat" else IVFPQIndex(dim, index, **options)
    if kind in ("numpy", "torch"):
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            ids, vecs = z["ids"], z["vectors"]
        if vecs.ndim != 2 or vecs.shape[1] != dim or len(ids) != len(vecs):
            raise IndexConfigError(f"numpy index holds vectors of shape {vecs.shape}, expected [N, {dim}]")
        cls = NumpyIndex if kind == "numpy" else TorchIndex
        return cls(dim, ids, vecs)
    raise IndexConfigError(f"unknown index type {kind!r}; choose one of {', '.join(KINDS)}")
