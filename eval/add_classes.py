"""Adding classes without training (Geirhos et al. 2024, Table 1 / Sec. 3.2).

A memory holding only the "old" classes answers old-class queries; then the "new" classes'
items are inserted (rows, no gradient step) and the same queries are asked again, plus the
new classes' queries. Reported: old-class accuracy before and after (the cost of more
competitors) and new-class accuracy after (generalisation with zero training).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from procmem.eval.memory_accuracy import memory_accuracy
from procmem.eval.unlearning import build_memory


def split_classes(num_classes: int, new_fraction: float = 0.5, seed: int | None = None) -> np.ndarray:
    """The new classes: the last `new_fraction` of class ids, or a seeded random choice."""
    n_new = max(1, int(round(new_fraction * num_classes)))
    if n_new >= num_classes:
        n_new = num_classes - 1
    if seed is None:
        return np.arange(num_classes - n_new, num_classes)
    return np.sort(np.random.default_rng(seed).choice(num_classes, n_new, replace=False))


def add_classes(mem_feats, mem_labels, qry_feats, qry_labels, fingerprint: str,
                new_classes=None, k: int = 20, rule: str = "plurality", workdir=None,
                class_names=None) -> dict:
    """Old-class accuracy before/after inserting the new classes, and new-class accuracy."""
    mem_labels, qry_labels = np.asarray(mem_labels), np.asarray(qry_labels)
    num_classes = int(max(mem_labels.max(), qry_labels.max())) + 1
    new = np.asarray(new_classes if new_classes is not None else split_classes(num_classes))
    is_new_m, is_new_q = np.isin(mem_labels, new), np.isin(qry_labels, new)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        mem = build_memory(Path(tmp) / "memory", mem_feats[~is_new_m], mem_labels[~is_new_m],
                           fingerprint, class_names)
        try:
            old_before = memory_accuracy(mem, qry_feats[~is_new_q], qry_labels[~is_new_q], k,
                                         rule, num_classes)
            mem.add(mem_feats[is_new_m], mem_labels[is_new_m])
            old_after = memory_accuracy(mem, qry_feats[~is_new_q], qry_labels[~is_new_q], k,
                                        rule, num_classes)
            new_after = memory_accuracy(mem, qry_feats[is_new_q], qry_labels[is_new_q], k,
                                        rule, num_classes)
            all_after = memory_accuracy(mem, qry_feats, qry_labels, k, rule, num_classes)
        finally:
            mem.close()
    return {"new_classes": new.tolist(), "old_classes": int(num_classes - len(new)),
            "k": k, "rule": rule,
            "old_accuracy_before": old_before, "old_accuracy_after": old_after,
            "new_accuracy_after": new_after, "all_accuracy_after": all_after,
            "added_items": int(is_new_m.sum())}
