"""Exact top-k with a total order: similarity descending, ties to the smaller key.

Exact audits (the privacy audit must equal brute-force leave-one-out, ties included) and the
exact backends need a neighbour order that is a pure function of the similarities.
`np.argpartition` alone picks arbitrarily among values tied at the k-th place, so every
column at or above the k-th value is kept as a candidate and the candidates are then sorted
by (similarity descending, key ascending).
"""

from __future__ import annotations

import numpy as np


def topk(sims: np.ndarray, k: int, keys: np.ndarray | None = None,
         valid: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (similarities [Q, k], columns [Q, k]) of each row of `sims` [Q, N].

    keys (int [N]): tie-break key per column (default: the column index), smaller first.
    valid (bool [N]): columns that may be returned (leave-one-out, removed items).
    Rows with fewer than k valid columns are padded with column -1 and similarity -inf.
    """
    sims = np.asarray(sims, np.float32)
    q, n = sims.shape
    if valid is not None:
        sims = np.where(np.asarray(valid, bool)[None, :], sims, -np.inf)
        n_valid = int(np.count_nonzero(valid))
    else:
        n_valid = n
    kk = min(k, n_valid)
    out_s = np.full((q, k), -np.inf, np.float32)
    out_i = np.full((q, k), -1, np.int64)
    if kk == 0 or q == 0:
        return out_s, out_i
    if kk < n:
        part = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        thresh = np.take_along_axis(sims, part, axis=1).min(axis=1, keepdims=True)
        cand_mask = sims >= thresh  # ties at the k-th value included
        width = int(cand_mask.sum(axis=1).max())
        cand = np.argsort(~cand_mask, axis=1, kind="stable")[:, :width]  # ascending column
    else:
        cand = np.broadcast_to(np.arange(n), (q, n))
    if keys is not None:
        keys = np.asarray(keys, np.int64)
        cand = np.take_along_axis(cand, np.argsort(keys[cand], axis=1, kind="stable"), axis=1)
    cs = np.take_along_axis(sims, cand, axis=1)
    # candidates sit in ascending key order, so a stable sort on -similarity breaks ties by key
    order = np.argsort(-cs, axis=1, kind="stable")[:, :kk]
    out_i[:, :kk] = np.take_along_axis(cand, order, axis=1)
    out_s[:, :kk] = np.take_along_axis(sims, out_i[:, :kk], axis=1)
    out_i[:, :kk][~np.isfinite(out_s[:, :kk])] = -1  # invalid columns that filled a short row
    return out_s, out_i
