"""Online kNN probe: how well the teacher's features sort a small real ImageFolder.

dino's eval_knn.py (Wu et al. 2018 weighting): cosine similarity, k = 20 neighbours, each
voting exp(sim / T) with T = 0.07 for its label. The folder is split per class into a
memory part and a query part; the images are only embedded, never trained on. This is a
training-time signal; the full visual memory lives in memory/ (which pretrain never imports).
"""

from __future__ import annotations

import numpy as np

from procmem.pretrain.encoder import Encoder
from procmem.pretrain.imagefolder import list_image_folder, read_rgb


def knn_accuracy(mem: np.ndarray, mem_labels: np.ndarray, queries: np.ndarray,
                 query_labels: np.ndarray, k: int = 20, temperature: float = 0.07) -> float:
    """Top-1 accuracy of the exp(sim/T)-weighted k-NN vote (features L2-normalised)."""
    k = min(k, len(mem))
    sims = queries @ mem.T
    idx = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    top = np.take_along_axis(sims, idx, axis=1)
    weights = np.exp(top / temperature)
    ncls = int(max(mem_labels.max(), query_labels.max())) + 1
    votes = np.zeros((len(queries), ncls))
    np.add.at(votes, (np.arange(len(queries))[:, None], mem_labels[idx]), weights)
    return float((votes.argmax(1) == query_labels).mean())


class KNNProbe:
    """Loads the folder once; `__call__(encoder)` returns the k-NN top-1 accuracy."""

    def __init__(self, folder: str, per_class: int = 50, query_fraction: float = 0.5,
                 k: int = 20, temperature: float = 0.07):
        paths, labels, self.label_names = list_image_folder(folder, per_class)
        labels = np.asarray(labels)
        is_query = np.zeros(len(labels), bool)
        for c in np.unique(labels):
            members = np.flatnonzero(labels == c)
            nq = max(1, int(round(len(members) * query_fraction)))
            is_query[members[-nq:]] = True
        images = [read_rgb(p) for p in paths]
        self.mem_images = [im for im, q in zip(images, is_query) if not q]
        self.query_images = [im for im, q in zip(images, is_query) if q]
        self.mem_labels, self.query_labels = labels[~is_query], labels[is_query]
        self.k, self.temperature = k, temperature

    def __call__(self, encoder: Encoder) -> float:
        return knn_accuracy(encoder.embed(self.mem_images), self.mem_labels,
                            encoder.embed(self.query_images), self.query_labels,
                            self.k, self.temperature)
