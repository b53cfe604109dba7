"""kNN decisions with their evidence, and how to score them (Geirhos et al. 2024).

`decide` turns a search result into class scores via memory.voting (optionally soft-pruned)
and keeps the neighbours (ids, labels, similarities, weights) so every decision can be
explained. `accuracy`, `k_sweep` (one search at max k, sliced) and `calibration_table`
(accuracy against the plurality count among the k neighbours, Geirhos Fig. 4) score them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from procmem.memory.errors import MemoryStoreError
from procmem.memory.voting import neighbour_weights, predict, topk_classes, vote


@dataclass
class Decisions:
    """Scores [Q, C], predictions [Q] and the neighbours [Q, k] behind them."""

    scores: np.ndarray
    pred: np.ndarray
    ids: np.ndarray
    labels: np.ndarray
    sims: np.ndarray
    weights: np.ndarray
    rule: str

    def topk(self, n: int = 5) -> np.ndarray:
        return topk_classes(self.scores, n)

    def explain(self, q: int, label_names: dict[int, str] | None = None) -> dict:
        """Query q's decision and its neighbours, nearest first (padding left out)."""
        names = label_names or {}
        keep = self.ids[q] >= 0
        return {"prediction": int(self.pred[q]), "prediction_name": names.get(int(self.pred[q])),
                "rule": self.rule,
                "neighbours": [{"id": int(i), "label": int(lb), "label_name": names.get(int(lb)),
                                "similarity": float(s), "weight": float(w)}
                               for i, lb, s, w in zip(self.ids[q][keep], self.labels[q][keep],
                                                      self.sims[q][keep], self.weights[q][keep])]}


def decide(memory, sims, ids, rule: str = "rank", *, tau: float = 0.07, alpha: float = 2.0,
           pruning: str = "none", num_classes: int | None = None) -> Decisions:
    """Vote among the neighbours `ids` (from memory.search) under `rule`.

    pruning: "none", or "soft" to multiply each neighbour's vote by gamma = d/(c+v) from the
    stored pruning counts (memory.pruning, Geirhos App. G).
    """
    labels = memory.labels_of(ids)
    mult = np.ones(labels.shape)
    if pruning == "soft":
        from procmem.memory.pruning import gamma

        if memory.prune_stats() is None:
            raise MemoryStoreError(f"soft pruning needs pruning counts: run `procmem memory "
                                   f"prune {memory.path}` (or memory.pruning.compute) first")
        mult = gamma(memory.wrong_counts(ids))
    elif pruning != "none":
        raise MemoryStoreError(f"unknown pruning mode {pruning!r}; choose none or soft")
    mult = np.where(labels >= 0, mult, 0.0)
    n_cls = num_classes or memory.num_classes
    scores = vote(labels, sims, rule, n_cls, tau=tau, alpha=alpha, weights=mult)
    w = neighbour_weights(np.where(labels >= 0, sims, 0.0), rule, tau=tau, alpha=alpha) * mult
    return Decisions(scores, predict(scores), np.asarray(ids), labels, np.asarray(sims), w, rule)


def accuracy(scores, y, topk: tuple[int, ...] = (1, 5)) -> dict[int, float]:
    """Top-n accuracy for each n in `topk` ({1: top-1, 5: top-5})."""
    y = np.asarray(y)
    if not len(y):
        return {n: float("nan") for n in topk}
    best = topk_classes(scores, max(topk))
    return {n: float(np.mean((best[:, :n] == y[:, None]).any(axis=1))) for n in topk}


def k_sweep(nn_labels, sims, y, ks, rule: str, num_classes: int, *, tau: float = 0.07,
            alpha: float = 2.0, weights=None) -> dict[int, dict[int, float]]:
    """{k: {1: top-1, 5: top-5}} for every k in `ks` from one search at max(ks)."""
    nn_labels, sims = np.asarray(nn_labels), np.asarray(sims)
    if max(ks) > nn_labels.shape[1]:
        raise MemoryStoreError(f"k sweep up to {max(ks)} needs that many neighbours; the search "
                               f"returned {nn_labels.shape[1]}")
    out = {}
    for k in sorted(ks):
        w = None if weights is None else np.asarray(weights)[:, :k]
        out[k] = accuracy(vote(nn_labels[:, :k], sims[:, :k], rule, num_classes, tau=tau,
                               alpha=alpha, weights=w), y)
    return out


def calibration_table(nn_labels, y, num_classes: int) -> list[dict]:
    """Accuracy of the plurality decision against how many of the k neighbours agree with
    it (Geirhos et al. 2024: more agreement, higher accuracy): rows of
    {agree, queries, fraction, accuracy} for agree = 1..k."""
    nn_labels, y = np.asarray(nn_labels), np.asarray(y)
    scores = vote(nn_labels, np.zeros(nn_labels.shape), "plurality", num_classes)
    pred = predict(scores)
    agree = scores.max(axis=1).astype(int)
    k = nn_labels.shape[1]
    rows = []
    for a in range(1, k + 1):
        m = agree == a
        rows.append({"agree": a, "queries": int(m.sum()), "fraction": float(m.mean()) if len(m) else 0.0,
                     "accuracy": float(np.mean(pred[m] == y[m])) if m.any() else float("nan")})
    return rows
