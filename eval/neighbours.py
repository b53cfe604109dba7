"""Exact cosine top-k with a total order: similarity descending, then memory index ascending.

The audits need a neighbour order that is a pure function of the similarities (the exact
privacy audit must equal brute-force leave-one-out, ties included), which approximate or
multi-threaded searches do not promise. Vectors are unit length, so cosine = inner product.
Missing neighbours (k > memory size) are padded with index -1 and similarity 0, which
memory.voting.vote ignores (label -1).
"""

from __future__ import annotations

import numpy as np

from procmem.memory.topk import topk


def similarities(queries: np.ndarray, memory: np.ndarray) -> np.ndarray:
    """Inner products [Q, N] in float32 (cosine for unit vectors)."""
    return np.asarray(queries, np.float32) @ np.asarray(memory, np.float32).T


def topk_from_sims(sims: np.ndarray, k: int, valid: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (similarities, indices) of each row of `sims`, ties broken by lower index.

    `valid` (bool [N]) excludes memory columns (leave-one-out, removed items).
    """
    s, i = topk(sims, k, valid=valid)
    return np.where(i >= 0, s, 0.0).astype(np.float32), i


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
