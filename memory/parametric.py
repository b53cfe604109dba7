"""kNN + parametric classifiers (Jia et al. 2021, "Rethinking nearest neighbors for visual
classification"): a linear probe on the memory's vectors, its interpolation with the kNN
distribution, and the kNN-weighted training loss.

- interpolation: p = lam * p_knn + (1 - lam) * p_linear (Jia et al. Eq. 3; lam tuned on
  validation data in the paper, 0.5 here as the neutral default);
- kNN-weighted loss: each training item's cross-entropy is multiplied by
  1 + alpha * (-log p_knn(y_i | x_i)), with p_knn leave-one-out (the item's own match is
  skipped), so items the memory finds hard weigh more (Jia et al. Eq. 4; alpha = 1 and k = 10
  here, the paper tunes both).

p_knn is the normalised vote of memory.voting (softmax rule, tau = 0.07, as Wu et al. /
Caron et al.'s kNN). The probe is scikit-learn's multinomial logistic regression (per-item
weights give the weighted loss exactly); torch is not needed.
"""

from __future__ import annotations

import numpy as np

from procmem.memory.voting import vote


def knn_proba(nn_labels, sims, num_classes: int, rule: str = "softmax", *, tau: float = 0.07,
              alpha: float = 2.0) -> np.ndarray:
    """Normalised kNN votes [Q, C] (rows sum to 1; uniform where no neighbour voted)."""
    s = vote(nn_labels, sims, rule, num_classes, tau=tau, alpha=alpha)
    tot = s.sum(axis=1, keepdims=True)
    return np.where(tot > 0, s / np.where(tot > 0, tot, 1), 1.0 / num_classes)


class LinearProbe:
    """Multinomial logistic regression on unit vectors (L2 strength 1/C, sklearn lbfgs)."""

    def __init__(self, num_classes: int, C: float = 1.0, max_iter: int = 1000):
        self.num_classes, self.C, self.max_iter = num_classes, C, max_iter
        self.model = None

    def fit(self, x, y, sample_weight=None) -> "LinearProbe":
        from sklearn.linear_model import LogisticRegression

        self.model = LogisticRegression(C=self.C, max_iter=self.max_iter)
        self.model.fit(np.asarray(x), np.asarray(y), sample_weight=sample_weight)
        return self

    def logits(self, x) -> np.ndarray:
        """Logits over all num_classes (classes unseen in training get -inf-like -1e9)."""
        raw = self.model.decision_function(np.asarray(x))
        if raw.ndim == 1:  # binary: sklearn returns one column
            raw = np.stack([-raw / 2, raw / 2], axis=1)
        out = np.full((len(raw), self.num_classes), -1e9)
        out[:, self.model.classes_] = raw
        return out

    def proba(self, x, temperature: float = 1.0) -> np.ndarray:
        return softmax(self.logits(x), temperature)


def softmax(logits, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax(logits / temperature), computed stably in float64."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def knn_loss_weights(memory, k: int = 10, alpha: float = 1.0, rule: str = "softmax",
                     tau: float = 0.07) -> tuple[np.ndarray, np.ndarray]:
    """(ids, weights): 1 + alpha * (-log p_knn(y_i)) with leave-one-out p_knn (Jia et al.)."""
    from procmem.memory.pruning import self_neighbours

    ids, sims, nn = self_neighbours(memory, k)
    p = knn_proba(memory.labels_of(nn), sims, memory.num_classes, rule, tau=tau)
    py = p[np.arange(len(ids)), memory.labels_of(ids)]
    return ids, 1.0 + alpha * -np.log(np.clip(py, 1e-12, None))


def fit_probe(memory, *, knn_weighted: bool = False, k: int = 10, alpha: float = 1.0,
              C: float = 1.0) -> LinearProbe:
    """A linear probe on the memory, optionally with Jia et al.'s kNN-weighted loss."""
    ids, x, y = memory.arrays()
    w = None
    if knn_weighted:
        wid, w = knn_loss_weights(memory, k, alpha)
        w = w[np.searchsorted(wid, ids)]
    return LinearProbe(memory.num_classes, C=C).fit(x, y, sample_weight=w)


def interpolate(p_knn, p_linear, lam: float = 0.5) -> np.ndarray:
    """lam * p_knn + (1 - lam) * p_linear (Jia et al. Eq. 3)."""
    if not 0.0 <= lam <= 1.0:
        from procmem.memory.errors import MemoryStoreError

        raise MemoryStoreError(f"interpolation weight lambda must be in [0, 1], got {lam}")
    return lam * np.asarray(p_knn) + (1.0 - lam) * np.asarray(p_linear)
