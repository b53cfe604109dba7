"""Unlearning audit of a VisualMemory (Geirhos et al. 2024, Sec. 3.4).

Removing data from a visual memory is deleting rows, not retraining. The audit builds a
memory of the memory split, removes a forget set (a seeded random fraction of the items, or
one whole class) and reports:

- efficiency: seconds for `VisualMemory.remove` (its receipt's checks included, and their
  share measured by running them again) against building a memory of the retained items
  from scratch (the retrain-free baseline; a parametric model would need retraining);
- utility: top-1 accuracy of the queries before and after (on all queries, and on queries
  whose class was not forgotten);
- forget quality: no query, and no forgotten item's own vector, retrieves any forgotten id
  among its neighbours (searched over the whole memory), and the receipt's checks pass.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from procmem.eval.memory_accuracy import memory_accuracy
from procmem.memory import receipts


def build_memory(path, feats, labels, fingerprint: str, class_names=None, sources=None,
                 index: str = "flat"):
    """A new VisualMemory at `path` holding (feats, labels), label names from `class_names`."""
    from procmem.memory.store import VisualMemory

    mem = VisualMemory.create(path, feats.shape[1], fingerprint, index=index)
    names = {i: n for i, n in enumerate(class_names)} if class_names is not None else None
    mem.add(feats, np.asarray(labels, np.int64), sources=sources, label_names=names)
    mem.flush()
    return mem


def forget_set(labels, fraction: float = 0.1, forget_class: int | None = None, seed: int = 0
               ) -> np.ndarray:
    """Positions to forget: one whole class, or a seeded random `fraction` of the items."""
    labels = np.asarray(labels)
    if forget_class is not None:
        return np.flatnonzero(labels == forget_class)
    rng = np.random.default_rng(seed)
    n = max(1, int(round(fraction * len(labels))))
    return np.sort(rng.choice(len(labels), n, replace=False))


def unlearning_audit(mem_feats, mem_labels, qry_feats, qry_labels, fingerprint: str,
                     workdir=None, fraction: float = 0.1, forget_class: int | None = None,
                     k: int = 20, rule: str = "plurality", seed: int = 0, class_names=None,
                     index: str = "flat") -> dict:
    """Build, remove the forget set, and measure efficiency, utility and forget quality."""
    mem_labels, qry_labels = np.asarray(mem_labels), np.asarray(qry_labels)
    num_classes = int(max(mem_labels.max(), qry_labels.max())) + 1
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        tmp = Path(tmp)
        mem = build_memory(tmp / "memory", mem_feats, mem_labels, fingerprint, class_names,
                           index=index)
        try:
            ids = mem.ids
            pos = forget_set(mem_labels, fraction, forget_class, seed)
            doomed = ids[pos]
            keep_q = ~np.isin(qry_labels, np.unique(mem_labels[pos])) if forget_class is not None \
                else np.ones(len(qry_labels), bool)
            before = memory_accuracy(mem, qry_feats, qry_labels, k, rule, num_classes)
            before_kept = memory_accuracy(mem, qry_feats[keep_q], qry_labels[keep_q], k, rule,
                                          num_classes)
            doomed_vecs = mem.vectors(doomed)
            t0 = time.perf_counter()
            receipt = mem.remove(doomed)
            t_remove = time.perf_counter() - t0
            t0 = time.perf_counter()  # the receipt's share: the same checks on the same files
            receipts.run_all(mem, doomed, doomed_vecs)
            t_checks = time.perf_counter() - t0
            t0 = time.perf_counter()
            mem.flush()  # rewrite the index cache (part of the edit's cost)
            t_remove += time.perf_counter() - t0
            after = memory_accuracy(mem, qry_feats, qry_labels, k, rule, num_classes)
            after_kept = memory_accuracy(mem, qry_feats[keep_q], qry_labels[keep_q], k, rule,
                                         num_classes)
            kk = len(mem)
            probes = np.concatenate([qry_feats, mem_feats[pos]])
            _, found = mem.search(probes, max(kk, 1))
            leaked = np.intersect1d(found[found >= 0], doomed)
            rest = np.setdiff1d(np.arange(len(mem_labels)), pos)
            t0 = time.perf_counter()
            rebuilt = build_memory(tmp / "rebuilt", mem_feats[rest], mem_labels[rest], fingerprint,
                                   class_names, index=index)
            t_rebuild = time.perf_counter() - t0
            rebuilt.close()
        finally:
            mem.close()
    return {
        "memory_size": int(len(mem_labels)), "forgotten": int(len(pos)),
        "forget": {"class": forget_class} if forget_class is not None else {"fraction": fraction,
                                                                              "seed": seed},
        "k": k, "rule": rule,
        "efficiency": {"remove_s": t_remove, "receipt_checks_s": t_checks,
                       "edit_s": max(t_remove - t_checks, 0.0), "rebuild_s": t_rebuild,
                       "speedup": t_rebuild / t_remove if t_remove > 0 else float("inf")},
        "utility": {"accuracy_before": before, "accuracy_after": after,
                    "accuracy_kept_classes_before": before_kept,
                    "accuracy_kept_classes_after": after_kept},
        "forget_quality": {"probes": int(len(probes)), "searched_k": int(kk),
                           "forgotten_ids_retrieved": int(len(leaked)),
                           "receipt_passed": bool(receipt.passed),
                           "receipt_checks": {n: bool(c["passed"]) for n, c in receipt.checks.items()},
                           "passed": bool(len(leaked) == 0 and receipt.passed)},
        "receipt": {"removed": len(receipt.removed_ids), "version_before": receipt.version_before,
                    "version_after": receipt.version_after, "time": receipt.time,
                    "checks": receipt.checks, "passed": bool(receipt.passed)},
    }
