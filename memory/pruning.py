"""Memory pruning (Geirhos et al. 2024, App. G): find the items that mislead decisions.

The memory is queried against itself (each item's own match skipped). For each item we count
v, the number of wrong decisions it contributed to: a neighbour contributes to a wrong
decision when the decision is wrong and the neighbour voted for the (wrong) predicted class.
Hard pruning removes items with v >= threshold (an unlearning receipt is issued); soft pruning
keeps them but multiplies their vote by gamma = d / (c + v), c = 1, d = 1.75 (gamma = 1 when
v = 0). The counts are stored in SQLite and recomputed after every edit, so a removed item
never appears in them. The self-query uses k = 10 and rank voting by default (the rule
and k the memory classifies with); both are options.
"""

from __future__ import annotations

import numpy as np

from procmem.core.progress import progress as progress_bar
from procmem.memory.voting import predict, vote

C_DEFAULT = 1.0
D_DEFAULT = 1.75


def gamma(v, c: float = C_DEFAULT, d: float = D_DEFAULT) -> np.ndarray:
    """Soft-pruning weight per item: d / (c + v) where v > 0, else 1 (Geirhos App. G)."""
    v = np.asarray(v, dtype=np.float64)
    return np.where(v > 0, d / (c + v), 1.0)


def self_neighbours(memory, k: int, batch: int = 4096, progress: bool = False):
    """For every item, its k nearest other items: (item ids [N], sims [N,k], ids [N,k]).

    Searches k+1 and drops the item itself (or, if an exact duplicate outranked it, the
    last neighbour), so an item never votes for itself.
    """
    all_ids, all_sims, all_nn = [], [], []
    n = len(memory)
    for ids, vecs in progress_bar(memory.iter_vectors(batch), total=-(-n // batch),
                                  disable=not progress, desc="self-query", unit="batch"):
        sims, nn = memory.index.search(vecs, k + 1)
        is_self = nn == ids[:, None]
        drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k)
        keep = np.ones_like(nn, dtype=bool)
        keep[np.arange(len(nn)), drop] = False
        all_ids.append(ids)
        all_sims.append(sims[keep].reshape(len(ids), k))
        all_nn.append(nn[keep].reshape(len(ids), k))
    if not all_ids:
        return np.empty(0, np.int64), np.empty((0, k), np.float32), np.empty((0, k), np.int64)
    return np.concatenate(all_ids), np.concatenate(all_sims), np.concatenate(all_nn)


def count_wrong(item_ids, item_labels, sims, nn, nn_labels, rule: str, num_classes: int,
                tau: float = 0.07, alpha: float = 2.0):
    """(wrong [N], votes [N]) per memory item, aligned with `item_ids` (sorted ascending)."""
    pred = predict(vote(nn_labels, sims, rule, num_classes, tau=tau, alpha=alpha))
    wrong_rows = pred != item_labels
    culprit = (nn_labels == pred[:, None]) & wrong_rows[:, None] & (nn >= 0)
    valid = nn >= 0
    pos_all = np.searchsorted(item_ids, nn[valid])
    votes = np.bincount(pos_all, minlength=len(item_ids))
    pos_bad = np.searchsorted(item_ids, nn[culprit])
    wrong = np.bincount(pos_bad, minlength=len(item_ids))
    return wrong.astype(np.int64), votes.astype(np.int64)


def compute(memory, k: int = 10, rule: str = "rank", tau: float = 0.07, alpha: float = 2.0,
            progress: bool = False) -> dict:
    """Recompute and store every item's pruning count v (and how often it was a neighbour)."""
    ids, sims, nn = self_neighbours(memory, k, progress=progress)
    order = np.argsort(ids)
    ids, sims, nn = ids[order], sims[order], nn[order]
    wrong, votes = count_wrong(ids, memory.labels_of(ids), sims, nn, memory.labels_of(nn), rule,
                               memory.num_classes, tau, alpha)
    memory.set_prune_stats(ids, wrong, votes, {"k": k, "rule": rule, "tau": tau, "alpha": alpha})
    return memory.prune_stats()


def hard_prune(memory, threshold: int, **compute_options):
    """Remove items with v >= threshold (computing the counts first if needed); returns the
    unlearning receipt of the removal, or None when no item reaches the threshold."""
    stats = memory.prune_stats()
    if stats is None or stats["version"] != memory.version or compute_options:
        stats = compute(memory, **compute_options)
    doomed = stats["ids"][stats["wrong"] >= threshold]
    if not len(doomed):
        return None
    return memory.remove(doomed, given={"pruning": {"threshold": int(threshold), **stats["config"]}})
