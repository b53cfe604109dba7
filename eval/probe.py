"""Online kNN probe: how well the teacher's features sort a small real ImageFolder.

dino's eval_knn.py (Wu et al. 2018 weighting): cosine similarity, k = 20 neighbours, each
voting exp(sim / T) with T = 0.07 for its label (memory.voting's `softmax` rule). The folder
is split per class into a memory part and a query part (the evaluation's seeded stratified
split); the images are only embedded, never trained on. Pretraining takes the probe as a
callable (`pretrain(..., probe=probe_from_config(cfg))`), so real images never enter pretrain.
"""

from __future__ import annotations

import numpy as np

from procmem.encoder.imagefolder import list_image_folder, read_rgb
from procmem.eval.datasets import stratified_split
from procmem.eval.neighbours import exact_topk, neighbour_labels
from procmem.memory.voting import predict, vote


def knn_accuracy(mem: np.ndarray, mem_labels: np.ndarray, queries: np.ndarray,
                 query_labels: np.ndarray, k: int = 20, temperature: float = 0.07) -> float:
    """Top-1 accuracy of the exp(sim/T)-weighted k-NN vote (features L2-normalised)."""
    mem_labels, query_labels = np.asarray(mem_labels), np.asarray(query_labels)
    sims, idx = exact_topk(queries, mem, min(k, len(mem)))
    ncls = int(max(mem_labels.max(), query_labels.max())) + 1
    scores = vote(neighbour_labels(idx, mem_labels), sims, "softmax", ncls, tau=temperature)
    return float((predict(scores) == query_labels).mean())


class KNNProbe:
    """Loads the folder once; `__call__(encoder)` returns the k-NN top-1 accuracy."""

    def __init__(self, folder: str, per_class: int = 50, query_fraction: float = 0.5,
                 k: int = 20, temperature: float = 0.07):
        paths, labels, self.label_names = list_image_folder(folder, per_class)
        labels = np.asarray(labels)
        mem, qry = stratified_split(labels, query_fraction)
        images = [read_rgb(p) for p in paths]
        self.mem_images = [images[i] for i in mem]
        self.query_images = [images[i] for i in qry]
        self.mem_labels, self.query_labels = labels[mem], labels[qry]
        self.k, self.temperature = k, temperature

    def __call__(self, encoder) -> float:
        return knn_accuracy(encoder.embed(self.mem_images), self.mem_labels,
                            encoder.embed(self.query_images), self.query_labels,
                            self.k, self.temperature)


def probe_from_config(cfg: dict) -> KNNProbe | None:
    """The probe a pretraining config asks for (`probe.data`, `probe.every`), or None."""
    p = cfg["probe"]
    if not p["data"] or p["every"] <= 0:
        return None
    return KNNProbe(p["data"], p["per_class"], p["query_fraction"], p["k"], p["temperature"])
