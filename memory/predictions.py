"""Decisions as a person reads them: one row per query with class names, never label indices.

A row holds the query's path, the predicted class and its confidence (its share of the k
neighbours' votes under the voting rule, Geirhos et al. 2024), the top five classes with their
shares, and the neighbours behind the decision (ids, classes, similarities, sources), nearest
first. `write_csv` saves the rows as `predictions.csv` (lists joined by "; ").
"""

from __future__ import annotations

import csv
import io

import numpy as np

from procmem.core.atomic import atomic_write_text

COLUMNS = ("path", "true_class", "class", "confidence", "top5_classes", "top5_scores",
           "neighbour_ids", "neighbour_classes", "neighbour_similarities", "neighbour_sources")


def vote_shares(scores: np.ndarray) -> np.ndarray:
    """Each class's share of a query's votes, float64 [Q, C] (rows without votes stay 0)."""
    scores = np.asarray(scores, np.float64)
    total = scores.sum(axis=1, keepdims=True)
    return np.divide(scores, total, out=np.zeros_like(scores), where=total > 0)


def class_name(names: dict[int, str], label: int) -> str:
    """A label's class name ('' for -1: no decision or no label; the number when unnamed)."""
    return "" if label < 0 else names.get(int(label), str(int(label)))


def prediction_rows(memory, dec, paths, truth=None, top: int = 5) -> list[dict]:
    """The rows of `dec` (memory.decisions.Decisions over queries at `paths`); `truth`: the
    queries' labels in the memory's numbering, when they have any."""
    names = memory.label_names
    shares = vote_shares(dec.scores)
    best = dec.topk(min(top, shares.shape[1]))
    rows = []
    for q, path in enumerate(paths):
        keep = dec.ids[q] >= 0
        ids = dec.ids[q][keep]
        classes = [c for c in best[q] if shares[q, c] > 0]
        pred = int(dec.pred[q])
        rows.append({
            "path": str(path),
            "true_class": "" if truth is None else class_name(names, int(truth[q])),
            "class": class_name(names, pred),
            "confidence": round(float(shares[q, pred]), 4) if pred >= 0 else 0.0,
            "top5_classes": [class_name(names, int(c)) for c in classes],
            "top5_scores": [round(float(shares[q, c]), 4) for c in classes],
            "neighbour_ids": ids.tolist(),
            "neighbour_classes": [class_name(names, int(lb)) for lb in dec.labels[q][keep]],
            "neighbour_similarities": [round(float(s), 4) for s in dec.sims[q][keep]],
            "neighbour_sources": [s or "" for s in memory.sources(ids)],
        })
    return rows


def write_csv(path, rows: list[dict], labelled: bool) -> None:
    """`rows` as CSV at `path` (atomically); the true_class column only when `labelled`."""
    columns = [c for c in COLUMNS if labelled or c != "true_class"]
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(columns)
    for row in rows:
        out.writerow(["; ".join(map(str, row[c])) if isinstance(row[c], list) else row[c]
                      for c in columns])
    atomic_write_text(path, buf.getvalue())
