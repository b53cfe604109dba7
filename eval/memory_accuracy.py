"""Top-1 accuracy of queries against a live VisualMemory: search, labels of the neighbours, vote.

Shared by the unlearning audit and the adding-classes experiment, which both measure a
memory before and after an edit. Decisions use memory.voting (the one implementation).
"""

from __future__ import annotations

import numpy as np

from memory.voting import predict, vote


def memory_predictions(memory, queries, k: int = 20, rule: str = "plurality",
                       num_classes: int | None = None) -> np.ndarray:
    """Predicted labels [Q] from the memory's top-k neighbours (k capped at the memory size)."""
    if len(queries) == 0:
        return np.zeros(0, np.int64)
    sims, ids = memory.search(queries, max(1, min(k, len(memory))))
    labels = memory.labels_of(ids)
    sims = np.where(ids >= 0, sims, 0.0)
    return predict(vote(labels, sims, rule, num_classes or memory.num_classes))


def memory_accuracy(memory, queries, labels, k: int = 20, rule: str = "plurality",
                    num_classes: int | None = None) -> float:
    if len(labels) == 0:
        return float("nan")
    p = memory_predictions(memory, queries, k, rule, num_classes)
    return float(np.mean(p == np.asarray(labels)))
