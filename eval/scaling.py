"""Error against memory size, with a power-law fit (Geirhos et al. 2024, Fig. 3 and App. E).

Nested, stratified memories (each smaller memory a subset of the next, every class kept in
the same proportion, seeded) of sizes N, N/2, N/4, ... are searched by the same queries;
the top-1 error at k = min(20, size) is fitted by least squares in log-log space,
log10(error) = slope * log10(size) + intercept, so error ~ 10^intercept * size^slope.
"""

from __future__ import annotations

import numpy as np

from procmem.eval.knn_table import FIXED_K
from procmem.eval.neighbours import exact_topk, neighbour_labels
from procmem.memory.voting import predict, vote


def nested_order(labels, seed: int = 0) -> np.ndarray:
    """A permutation whose every prefix is (as nearly as possible) stratified by class."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    keys = np.empty(len(labels))
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        # spread each class's items evenly over (0, 1] in a random order
        keys[rng.permutation(idx)] = (np.arange(len(idx)) + rng.random()) / len(idx)
    return np.argsort(keys, kind="stable")


def memory_sizes(n: int, num_classes: int, steps: int = 8) -> list[int]:
    """N, N/2, N/4, ... down to at least one item per class (at most `steps` sizes)."""
    sizes, s = [], n
    while s >= max(num_classes, 1) and len(sizes) < steps:
        sizes.append(int(s))
        s //= 2
    return sorted(set(sizes))


def power_law_fit(sizes, errors) -> dict:
    """Least-squares line through (log10 size, log10 error); points with zero error are left out."""
    x, y = np.asarray(sizes, float), np.asarray(errors, float)
    ok = y > 0
    if ok.sum() < 2:
        return {"slope": float("nan"), "intercept": float("nan"), "points": int(ok.sum())}
    slope, intercept = np.polyfit(np.log10(x[ok]), np.log10(y[ok]), 1)
    return {"slope": float(slope), "intercept": float(intercept), "points": int(ok.sum())}


def scaling_curve(mem_feats, mem_labels, qry_feats, qry_labels, num_classes: int,
                  rules=("plurality", "rank"), k: int = FIXED_K, seed: int = 0,
                  steps: int = 8, progress: bool = False) -> dict:
    """Top-1 error for each memory size and rule, and the log-log fit per rule."""
    from procmem.core.progress import progress as bar

    order = nested_order(mem_labels, seed)
    sizes = memory_sizes(len(order), num_classes, steps)
    qry_labels = np.asarray(qry_labels)
    errors = {r: [] for r in rules}
    for n in bar(sizes, desc="memory sizes", unit="size", disable=not progress):
        keep = np.sort(order[:n])
        kk = min(k, n)
        sims, idx = exact_topk(qry_feats, mem_feats[keep], kk)
        nl = neighbour_labels(idx, np.asarray(mem_labels)[keep])
        for r in rules:
            p = predict(vote(nl, sims, r, num_classes))
            errors[r].append(float(np.mean(p != qry_labels)))
    return {"sizes": sizes, "k": k, "errors": errors,
            "fit": {r: power_law_fit(sizes, errors[r]) for r in rules}}
