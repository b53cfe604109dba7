"""kNN classification accuracy of frozen embeddings: every voting rule over a sweep of k.

The shape of Geirhos et al. 2024 Table 1 / Rodriguez-Munoz et al. 2025 Table 1: rows are
encoders, columns data sets. Each cell reports top-1 accuracy at the fixed k = 20 (DINO's
kNN protocol, Caron et al. 2021) and the best over k in {1, 5, 10, 20, 50, 100, 200} (capped
at the memory size), labelled as such, since best-over-k is tuned on the query set.
Decisions use memory.voting (the one implementation of the rules).
"""

from __future__ import annotations

import numpy as np

from procmem.eval.neighbours import exact_topk, neighbour_labels
from procmem.memory.voting import RULES, predict, vote

KS = (1, 5, 10, 20, 50, 100, 200)
FIXED_K = 20


def capped_ks(ks, memory_size: int) -> list[int]:
    """The sweep's k values that fit the memory (at least the memory size itself)."""
    out = sorted({min(k, memory_size) for k in ks})
    return [k for k in out if k >= 1]


def knn_sweep(mem_feats, mem_labels, qry_feats, qry_labels, num_classes: int,
              ks=KS, rules=RULES, fixed_k: int = FIXED_K, **vote_kw) -> dict:
    """Accuracy for each (rule, k); the fixed-k and best-over-k summaries; fixed-k predictions;
    `correct` [rules, ks, queries] (uint8: 1 where right), what intervals are computed from."""
    ks = capped_ks(ks, len(mem_labels))
    kmax = max(ks)
    sims, idx = exact_topk(qry_feats, mem_feats, kmax)
    nl = neighbour_labels(idx, mem_labels)
    qry_labels = np.asarray(qry_labels)
    k_fixed = min(fixed_k, len(mem_labels))
    all_ks = sorted(set(ks) | {k_fixed})
    acc, best, fixed, preds = {}, {}, {}, {}
    correct = np.zeros((len(rules), len(all_ks), len(qry_labels)), np.uint8)
    for r, rule in enumerate(rules):
        acc[rule] = {}
        for j, k in enumerate(all_ks):
            p = predict(vote(nl[:, :k], sims[:, :k], rule, num_classes, **vote_kw))
            correct[r, j] = p == qry_labels
            acc[rule][str(k)] = float(np.mean(p == qry_labels)) if len(p) else 0.0
            if k == k_fixed:
                preds[rule] = p
        fixed[rule] = acc[rule][str(k_fixed)]
        kb = max(ks, key=lambda k: (acc[rule][str(k)], -k))
        best[rule] = {"k": kb, "accuracy": acc[rule][str(kb)]}
    return {"ks": ks, "fixed_k": k_fixed, "accuracy": acc, "fixed": fixed, "best": best,
            "predictions": preds, "neighbours": idx[:, :5], "memory_size": len(mem_labels),
            "queries": len(qry_labels), "correct": correct, "all_ks": all_ks,
            "rules": list(rules)}
