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
from procmem.eval.results import markdown_table, pct
from procmem.memory.voting import RULES, predict, vote

KS = (1, 5, 10, 20, 50, 100, 200)
FIXED_K = 20


def capped_ks(ks, memory_size: int) -> list[int]:
    """The sweep's k values that fit the memory (at least the memory size itself)."""
    out = sorted({min(k, memory_size) for k in ks})
    return [k for k in out if k >= 1]


def knn_sweep(mem_feats, mem_labels, qry_feats, qry_labels, num_classes: int,
              ks=KS, rules=RULES, fixed_k: int = FIXED_K) -> dict:
    """Accuracy for each (rule, k); the fixed-k and best-over-k summaries; fixed-k predictions."""
    ks = capped_ks(ks, len(mem_labels))
    kmax = max(ks)
    sims, idx = exact_topk(qry_feats, mem_feats, kmax)
    nl = neighbour_labels(idx, mem_labels)
    qry_labels = np.asarray(qry_labels)
    k_fixed = min(fixed_k, len(mem_labels))
    acc, best, fixed, preds = {}, {}, {}, {}
    for rule in rules:
        acc[rule] = {}
        for k in sorted(set(ks) | {k_fixed}):
            p = predict(vote(nl[:, :k], sims[:, :k], rule, num_classes))
            acc[rule][str(k)] = float(np.mean(p == qry_labels)) if len(p) else 0.0
            if k == k_fixed:
                preds[rule] = p
        fixed[rule] = acc[rule][str(k_fixed)]
        kb = max(ks, key=lambda k: (acc[rule][str(k)], -k))
        best[rule] = {"k": kb, "accuracy": acc[rule][str(kb)]}
    return {"ks": ks, "fixed_k": k_fixed, "accuracy": acc, "fixed": fixed, "best": best,
            "predictions": preds, "neighbours": idx[:, :5], "memory_size": len(mem_labels),
            "queries": len(qry_labels)}


def table_markdown(results: dict, encoders: list[str], datasets: list[str], rules=RULES) -> str:
    """One Markdown table per rule: cells 'acc@k=20 / best (k*)' in percent."""
    parts = []
    for rule in rules:
        rows = []
        for e in encoders:
            row = [e]
            for d in datasets:
                r = results.get(e, {}).get(d)
                if r is None:
                    row.append("-")
                    continue
                b = r["best"][rule]
                row.append(f"{pct(r['fixed'][rule])} / {pct(b['accuracy'])} (k={b['k']})")
            rows.append(row)
        parts.append(f"**{rule} voting**: top-1 accuracy (%) at fixed k={FIXED_K} (capped at the "
                     "memory size) / best over k (tuned on the queries)\n\n"
                     + markdown_table(["encoder"] + datasets, rows))
    return "\n\n".join(parts)
