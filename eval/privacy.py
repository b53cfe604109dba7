"""Exact privacy audit of a kNN memory (Rodriguez-Munoz et al. 2025, Sec. 6, Fig. 14).

An item is *privacy-sensitive* when removing it from the memory changes at least one test
prediction. Leave-one-out by brute force costs N full re-searches. The exact shortcut: removing
an item that is not among a query's top-k neighbours leaves that query's top-k unchanged, and
removing the i-th neighbour turns the list n_1..n_k into n_1..n_{i-1}, n_{i+1}..n_{k+1}. So with
each query's top-(k+1) list, k re-votes per query decide every removal exactly (Q * k votes
instead of N * Q searches), for every rule in memory.voting, ties included, because neighbours
follow one total order (similarity, then index; eval.neighbours) and the re-vote sees exactly
the list a fresh search would return.
"""

from __future__ import annotations

import numpy as np

from procmem.eval.neighbours import exact_topk, neighbour_labels, similarities, topk_from_sims
from procmem.memory.voting import predict, vote


def _decide(nl, sims, rule, num_classes, vote_kw):
    return predict(vote(nl, sims, rule, num_classes, **vote_kw))


def sensitive_items(mem_feats, mem_labels, qry_feats, k: int, rule: str, num_classes: int,
                    **vote_kw) -> dict:
    """The exact set of memory indices whose removal changes some query's prediction.

    Returns `sensitive` (sorted int64 indices), `fraction` (of the memory), `predictions`
    (with the full memory) and `changed_queries` (how many queries at least one removal flips).
    """
    sims, idx = exact_topk(qry_feats, mem_feats, k + 1)
    nl = neighbour_labels(idx, mem_labels)
    base = _decide(nl[:, :k], sims[:, :k], rule, num_classes, vote_kw)
    changed = np.zeros((len(base), k), bool)
    for i in range(k):
        keep = np.r_[0:i, i + 1:k + 1]
        p = _decide(nl[:, keep], sims[:, keep], rule, num_classes, vote_kw)
        changed[:, i] = (p != base) & (idx[:, i] >= 0)
    sensitive = np.unique(idx[:, :k][changed])
    n = len(mem_labels)
    return {"sensitive": sensitive.astype(np.int64), "fraction": len(sensitive) / n if n else 0.0,
            "predictions": base, "changed_queries": int(changed.any(axis=1).sum())}


def sensitive_items_brute_force(mem_feats, mem_labels, qry_feats, k: int, rule: str,
                                num_classes: int, **vote_kw) -> np.ndarray:
    """Reference: remove each item in turn, search again, and compare every prediction."""
    sims = similarities(qry_feats, mem_feats)
    s, i = topk_from_sims(sims, k)
    base = _decide(neighbour_labels(i, mem_labels), s, rule, num_classes, vote_kw)
    out = []
    valid = np.ones(len(mem_labels), bool)
    for j in range(len(mem_labels)):
        valid[j] = False
        s, i = topk_from_sims(sims, k, valid)
        if np.any(_decide(neighbour_labels(i, mem_labels), s, rule, num_classes, vote_kw) != base):
            out.append(j)
        valid[j] = True
    return np.array(out, np.int64)


def privacy_sweep(mem_feats, mem_labels, qry_feats, qry_labels, num_classes: int,
                  ks=(1, 5, 10, 20, 50), rules=("plurality",), progress: bool = False,
                  **vote_kw) -> list[dict]:
    """Accuracy and sensitive fraction for each (rule, k): the privacy/accuracy trade-off."""
    from procmem.core.progress import progress as bar

    rows = []
    n = len(mem_labels)
    combos = [(rule, k) for rule in rules for k in sorted({min(k, n) for k in ks})]
    for rule, k in bar(combos, desc="privacy audit", unit="(rule, k)", disable=not progress):
        r = sensitive_items(mem_feats, mem_labels, qry_feats, k, rule, num_classes, **vote_kw)
        rows.append({"rule": rule, "k": k, "memory_size": n,
                     "accuracy": float(np.mean(r["predictions"] == np.asarray(qry_labels))),
                     "sensitive_fraction": r["fraction"],
                     "sensitive_count": int(len(r["sensitive"])),
                     "changed_queries": r["changed_queries"]})
    return rows
