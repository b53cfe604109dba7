"""Linear probe on frozen embeddings (Rodriguez-Munoz et al. 2025, Table 5).

Features are standardised with statistics of the memory (training) side, then memory's
multinomial logistic regression (memory.parametric.LinearProbe: sklearn LogisticRegression,
L2, lbfgs, C=1.0, max_iter=1000) is fitted. The probe reads the same cached features as
the kNN table, so the two tables compare a parametric and a memory-based read-out of one
embedding.
"""

from __future__ import annotations

import numpy as np

from procmem.eval.results import markdown_table, pct

DEFAULT_C = 1.0
DEFAULT_MAX_ITER = 1000


def linear_probe(mem_feats, mem_labels, qry_feats, qry_labels, C: float = DEFAULT_C,
                 max_iter: int = DEFAULT_MAX_ITER) -> dict:
    """Top-1 accuracy of a logistic-regression probe trained on memory, tested on queries."""
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
    return {"accuracy": float(np.mean(pred == np.asarray(qry_labels))), "C": C,
            "max_iter": max_iter, "converged": not any(issubclass(w.category, ConvergenceWarning)
                                                      for w in caught),
            "predictions": pred.astype(np.int64)}


def table_markdown(results: dict, encoders: list[str], datasets: list[str]) -> str:
    rows = [[e] + [pct(results.get(e, {}).get(d, {}).get("accuracy")) for d in datasets]
            for e in encoders]
    return (f"**Linear probe**: top-1 accuracy (%), standardised features, "
            f"LogisticRegression(C={DEFAULT_C}, max_iter={DEFAULT_MAX_ITER})\n\n"
            + markdown_table(["encoder"] + datasets, rows))
