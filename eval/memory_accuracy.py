"""Top-1 accuracy of queries against a live VisualMemory.

Shared by the unlearning audit and the adding-classes experiment, which both measure a
memory before and after an edit. Decisions come from memory.decisions.decide (search ->
labels -> memory.voting), the memory's own decision path.
"""

from __future__ import annotations

import numpy as np

from procmem.memory.decisions import decide


def memory_predictions(memory, queries, k: int = 20, rule: str = "plurality",
                       num_classes: int | None = None) -> np.ndarray:
    """Predicted labels [Q] from the memory's top-k neighbours (k capped at the memory size)."""
    if len(queries) == 0:
        return np.zeros(0, np.int64)
    sims, ids = memory.search(queries, max(1, min(k, len(memory))))
    return decide(memory, sims, ids, rule, num_classes=num_classes).pred


def memory_accuracy(memory, queries, labels, k: int = 20, rule: str = "plurality",
                    num_classes: int | None = None) -> float:
    if len(labels) == 0:
        return float("nan")
    p = memory_predictions(memory, queries, k, rule, num_classes)
    return float(np.mean(p == np.asarray(labels)))
