"""Exact cosine top-k with a total order: similarity descending, then memory index ascending.

The audits need a neighbour order that is a pure function of the similarities (the exact
privacy audit must equal brute-force leave-one-out, ties included), which approximate or
multi-threaded searches do not promise. Vectors are unit length, so cosine = inner product.
Missing neighbours (k > memory size) are padded with index -1 and similarity 0, which
memory.voting.vote ignores (label -1).
"""

from __future__ import annotations

import numpy as np


def similarities(queries: np.ndarray, memory: np.ndarray) -> np.ndarray:
    """Inner products [Q, N] in float32 (cosine for unit vectors)."""
    return np.asarray(queries, np.float32) @ np.asarray(memory, np.float32).T


def topk_from_sims(sims: np.ndarray, k: int, valid: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (similarities, indices) of each row of `sims`, ties broken by lower index.

    `valid` (bool [N]) excludes memory columns (leave-one-out, removed items).
    """
    q, n = sims.shape
    sims = np.asarray(sims, np.float32)
    if valid is not None:
        sims = np.where(valid[None, :], sims, -np.inf)
        n_valid = int(valid.sum())
    else:
        n_valid = n
    kk = min(k, n_valid)
    out_s = np.zeros((q, k), np.float32)
    out_i = np.full((q, k), -1, np.int64)
    if kk == 0:
        return out_s, out_i
    if kk < n:
        part = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        thresh = np.take_along_axis(sims, part, axis=1).min(axis=1, keepdims=True)
        # everything at or above the k-th value is a candidate (ties at the boundary included)
        cand_mask = sims >= thresh
        width = int(cand_mask.sum(axis=1).max())
        cand = np.argsort(~cand_mask, axis=1, kind="stable")[:, :width]
    else:
        cand = np.broadcast_to(np.arange(n), (q, n))
    cs = np.take_along_axis(sims, cand, axis=1)
    # candidates sit in ascending index order, so a stable sort on -similarity breaks ties by index
    order = np.argsort(-cs, axis=1, kind="stable")[:, :kk]
    out_i[:, :kk] = np.take_along_axis(cand, order, axis=1)
    out_s[:, :kk] = np.take_along_axis(sims, out_i[:, :kk], axis=1)
    return out_s, out_i


def exact_topk(queries: np.ndarray, memory: np.ndarray, k: int, block: int = 1024
               ) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k (similarities [Q, k], memory indices [Q, k]) in query blocks."""
    sims, idx = [], []
    for s in range(0, len(queries), block):
        a, b = topk_from_sims(similarities(queries[s:s + block], memory), k)
        sims.append(a)
        idx.append(b)
    if not sims:
        return np.zeros((0, k), np.float32), np.zeros((0, k), np.int64)
    return np.concatenate(sims), np.concatenate(idx)


def neighbour_labels(idx: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Labels of neighbour indices, -1 where the index is padding."""
    labels = np.asarray(labels, np.int64)
    return np.where(idx >= 0, labels[np.clip(idx, 0, None)], -1)
