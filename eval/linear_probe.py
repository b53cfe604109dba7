"""Linear probe on frozen embeddings (Rodriguez-Munoz et al. 2025, Table 5).

Features are standardised with statistics of the memory (training) side, then memory's
multinomial logistic regression (memory.parametric.LinearProbe: sklearn LogisticRegression,
L2, lbfgs, C=1.0, max_iter=1000) is fitted. The probe reads the same cached features as
the kNN table, so the two tables compare a parametric and a memory-based read-out of one
embedding. A fit can take minutes and sklearn reports nothing while it runs, so `heartbeat`
keeps a progress line alive (elapsed time) until it returns.
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

DEFAULT_C = 1.0
DEFAULT_MAX_ITER = 1000


@contextlib.contextmanager
def heartbeat(bar, every: float = 1.0):
    """While the block runs, tick `bar` (a procmem.core.progress.Progress) every `every`
    seconds without advancing it, so its elapsed time and plain lines keep coming."""
    stop = threading.Event()

    def tick():
        while not stop.wait(every):
            bar.update(0)

    t = threading.Thread(target=tick, daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join()


def linear_probe(mem_feats, mem_labels, qry_feats, qry_labels, C: float = DEFAULT_C,
                 max_iter: int = DEFAULT_MAX_ITER) -> dict:
    """Top-1 accuracy of a logistic-regression probe trained on memory, tested on queries;
    `correct` (uint8 per query) is what its interval is computed from."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.preprocessing import StandardScaler

    from procmem.memory.parametric import LinearProbe

    num_classes = int(max(np.max(mem_labels), np.max(qry_labels))) + 1
    scaler = StandardScaler().fit(mem_feats)
    probe = LinearProbe(num_classes, C=C, max_iter=max_iter)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        probe.fit(scaler.transform(mem_feats), mem_labels)
    pred = probe.logits(scaler.transform(qry_feats)).argmax(axis=1)
    correct = (pred == np.asarray(qry_labels)).astype(np.uint8)
    return {"accuracy": float(np.mean(correct)), "C": C, "queries": int(len(correct)),
            "memory_size": int(len(mem_labels)), "max_iter": max_iter,
            "converged": not any(issubclass(w.category, ConvergenceWarning) for w in caught),
            "predictions": pred.astype(np.int64), "correct": correct}
