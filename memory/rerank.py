"""Exact re-ranking of approximate candidates (Jegou et al. 2011): PQ codes cap an IVF-PQ
index's recall, so the store fetches the candidates' exact vectors from SQLite and orders them
by their true similarity (`refine` in memory.index).
"""

from __future__ import annotations

import numpy as np


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
