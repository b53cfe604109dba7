"""kNN voting rules: turn a query's neighbours (labels, similarities) into class scores.

The one implementation of the rules (architecture contract 6); `VisualMemory.classify`,
pruning and eval's audits all call `vote`. Rules, for neighbour i of a query, nearest first
(Geirhos et al. 2024, "Towards flexible perception with visual memory", Sec. 2):

- ``plurality``: w_i = 1 (classic kNN majority vote).
- ``distance``:  w_i = exp(-d_i), d_i = ||q - x_i||_2 = sqrt(2 - 2 s_i), the Euclidean distance
  between unit vectors (s_i the cosine similarity), the distance the nearest-neighbour search
  ranks by.
- ``softmax``:   w_i = exp(s_i / tau), tau = 0.07 (Wu et al. 2018; Caron et al. 2021 DINO kNN
  evaluation).
- ``rank``:      w_i = 1 / (alpha + rank_i), alpha = 2, rank_i = 1 for the nearest neighbour
  (Geirhos et al.'s RankVoting; weights decay with rank, not with distance, so a growing k
  adds little and accuracy does not decay with k the way plurality's does).

Each rule is a `Rule` entry in RULE_TABLE that owns its parameters and their checks (as timm's
registered models own their arguments); `RULES` lists their names in registration order.
Optional per-neighbour multipliers `weights` (e.g. soft-pruning gammas, Geirhos App. G)
multiply w_i. Label -1 marks padding ("no neighbour"), contributing nothing.
"""

from __future__ import annotations

import numpy as np

from procmem.core.errors import ProcmemError


class VotingError(ProcmemError):
    """Bad arguments to a voting rule."""


class Rule:
    """A voting rule: its name, its own parameters (with the papers' defaults), their
    checks and the per-neighbour weight w_i; `@register_rule` enters it in RULE_TABLE."""

    name = "?"
    params: dict[str, float] = {}  # parameter -> default

    def __init__(self, **params):
        self.values = {**self.params, **params}
        self.check()

    def check(self) -> None:
        """Raise VotingError for a parameter outside the rule's range."""

    def weights(self, sims: np.ndarray) -> np.ndarray:
        """w_i [Q, k] from cosine similarities sims float64 [Q, k], nearest first."""
        raise NotImplementedError


RULE_TABLE: dict[str, type[Rule]] = {}


def register_rule(cls: type[Rule]) -> type[Rule]:
    RULE_TABLE[cls.name] = cls
    return cls


@register_rule
class Plurality(Rule):
    """w_i = 1: the classic kNN majority vote."""

    name = "plurality"

    def weights(self, sims):
        return np.ones_like(sims)


@register_rule
class Distance(Rule):
    """w_i = exp(-||q - x_i||), the Euclidean distance between unit vectors."""

    name = "distance"

    def weights(self, sims):
        return np.exp(-np.sqrt(np.clip(2.0 - 2.0 * sims, 0.0, None)))


@register_rule
class Softmax(Rule):
    """w_i = exp(s_i / tau) (Wu et al. 2018; DINO's kNN evaluation)."""

    name = "softmax"
    params = {"tau": 0.07}

    def check(self):
        if self.values["tau"] <= 0:
            raise VotingError(f"softmax voting needs tau > 0, got {self.values['tau']}; the "
                              f"paper's default is 0.07")

    def weights(self, sims):
        return np.exp(sims / self.values["tau"])


@register_rule
class Rank(Rule):
    """w_i = 1 / (alpha + rank_i), rank 1 the nearest (Geirhos et al.'s RankVoting)."""

    name = "rank"
    params = {"alpha": 2.0}

    def check(self):
        if self.values["alpha"] <= -1:
            raise VotingError(f"rank voting needs alpha > -1, got {self.values['alpha']}; the "
                              f"paper's default is 2")

    def weights(self, sims):
        rank = np.arange(1, sims.shape[-1] + 1, dtype=np.float64)
        return np.broadcast_to(1.0 / (self.values["alpha"] + rank), sims.shape).copy()


RULES = tuple(RULE_TABLE)


def make_rule(rule: str, **params) -> Rule:
    """The rule named `rule`, given the parameters it takes from `params` (others ignored)."""
    if rule not in RULE_TABLE:
        raise VotingError(f"unknown voting rule {rule!r}; choose one of {', '.join(RULES)}")
    cls = RULE_TABLE[rule]
    return cls(**{k: v for k, v in params.items() if k in cls.params})


def neighbour_weights(sims: np.ndarray, rule: str, *, tau: float = 0.07,
                      alpha: float = 2.0) -> np.ndarray:
    """Per-neighbour vote weight w_i [Q, k] for `rule` (before any multipliers)."""
    return make_rule(rule, tau=tau, alpha=alpha).weights(np.asarray(sims, dtype=np.float64))


def vote(labels, sims, rule: str, num_classes: int, *, tau: float = 0.07, alpha: float = 2.0,
         weights=None) -> np.ndarray:
    """Class scores float64 [Q, num_classes] from neighbours ordered nearest first.

    labels int [Q, k] (-1 = padding), sims float [Q, k] cosine similarities, `weights` an
    optional float [Q, k] multiplier per neighbour. scores[q, c] = sum_i w_i [label_i = c].
    """
    labels = np.asarray(labels)
    sims = np.asarray(sims, dtype=np.float64)
    if labels.ndim != 2 or sims.shape != labels.shape:
        raise VotingError(f"labels and sims must both be [Q, k] arrays of the same shape, got "
                          f"{labels.shape} and {sims.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise VotingError(f"labels must be integers, got dtype {labels.dtype}")
    if num_classes < 1:
        raise VotingError(f"num_classes must be >= 1, got {num_classes}")
    valid = labels >= 0
    if np.any(labels >= num_classes) or np.any(labels < -1):
        bad = labels[(labels >= num_classes) | (labels < -1)][0]
        raise VotingError(f"neighbour label {int(bad)} outside 0..{num_classes - 1} (and -1 for "
                          f"padding); pass num_classes covering every label in the memory")
    if np.any(~np.isfinite(sims[valid])):
        raise VotingError("neighbour similarities contain NaN or inf; check the embeddings")
    w = neighbour_weights(sims, rule, tau=tau, alpha=alpha)
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != labels.shape:
            raise VotingError(f"weights must have the neighbours' shape {labels.shape}, "
                              f"got {weights.shape}")
        w = w * weights
    q, _ = labels.shape
    flat = (np.arange(q)[:, None] * num_classes + labels)[valid]
    scores = np.bincount(flat, weights=w[valid], minlength=q * num_classes)
    return scores.reshape(q, num_classes)


def predict(scores) -> np.ndarray:
    """The winning class per row, int64 [Q].

    Tie rule (deterministic): among classes with exactly the highest score, the smallest
    class index wins. A row whose scores are all zero (no neighbour voted) predicts -1.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2:
        raise VotingError(f"scores must be a [Q, num_classes] array, got shape {scores.shape}")
    pred = np.argmax(scores, axis=1).astype(np.int64)  # argmax returns the first maximum
    pred[~np.any(scores != 0, axis=1)] = -1
    return pred


def topk_classes(scores, k: int) -> np.ndarray:
    """The k best classes per row, int64 [Q, k], best first, ties to the smaller index."""
    scores = np.asarray(scores, dtype=np.float64)
    return np.argsort(-scores, axis=1, kind="stable")[:, :k].astype(np.int64)
