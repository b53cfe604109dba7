"""ResMem (Yang et al. 2023, "ResMem: Learn what you can and memorize the rest").

A base model f is kept; the memory stores, per item, the residual
r_i = onehot(y_i) - softmax(f(x_i) / T). A query's prediction adds its neighbours' residuals:
p(x) = softmax(f(x) / T) + sum_j w_j r_j over the k nearest items, with
w_j = exp(-d_j / sigma) / sum_l exp(-d_l / sigma), d the Euclidean distance between unit
vectors (Yang et al. Sec. 3; sigma = 0.1, T = 1 and k = 10 are this project's defaults: the
paper tunes them per data set). With k = 1 a training item's prediction is its one-hot label:
the memory memorises exactly what the model did not learn. Residuals live in SQLite beside
their items, so removing an item removes its residual.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from procmem.memory.parametric import softmax


class ResMem:
    """Residual memory over a VisualMemory for a base model `logits(x) -> [N, C]`."""

    def __init__(self, memory, logits: Callable[[np.ndarray], np.ndarray], *, k: int = 10,
                 temperature: float = 1.0, sigma: float = 0.1):
        self.memory, self.logits = memory, logits
        self.k, self.temperature, self.sigma = int(k), float(temperature), float(sigma)

    def fit(self) -> "ResMem":
        """Compute and store every item's residual r_i = onehot(y_i) - softmax(f(x_i)/T)."""
        ids, x, y = self.memory.arrays()
        p = softmax(self.logits(x), self.temperature)
        r = -p
        r[np.arange(len(y)), y] += 1.0
        self.memory.set_residuals(ids, r)
        return self

    def predict_proba(self, queries) -> np.ndarray:
        """softmax(f(x)/T) + sum_j w_j r_j (rows may leave [0, 1]; argmax is the decision)."""
        q = np.asarray(queries, dtype=np.float32)
        base = softmax(self.logits(q), self.temperature)
        sims, nn = self.memory.search(q, self.k)
        d = np.sqrt(np.clip(2.0 - 2.0 * sims.astype(np.float64), 0.0, None))
        logw = np.where(nn >= 0, -d / self.sigma, -np.inf)
        w = np.exp(logw - logw.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        res = self.memory.residuals(np.where(nn >= 0, nn, nn.max())).reshape(*nn.shape, -1)
        res = np.nan_to_num(res.astype(np.float64))
        return base + np.einsum("qk,qkc->qc", w, res)

    def predict(self, queries) -> np.ndarray:
        return np.argmax(self.predict_proba(queries), axis=1).astype(np.int64)
