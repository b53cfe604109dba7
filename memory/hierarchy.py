"""Hierarchical prediction with a label tree (Geirhos et al. 2024, App. H).

Starting at the root, each step picks the child whose *in-class distance distribution*
best matches the query's distances to that child's items, by the p-value of a two-sample
Kolmogorov-Smirnov test: the reference distribution of child c pools, for items of c, the
distances (d = 1 - cosine) to their k nearest other items of c; the query's sample is its
distances to its k nearest items of c. A query that truly belongs under c sits at the
distances c's own members do, so the KS test cannot tell the samples apart (high p).
The walk stops at a leaf (a class label); the path explains the decision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import ks_2samp

from procmem.memory.errors import MemoryStoreError


@dataclass
class Taxonomy:
    """A label tree: `children[node]` lists a node's children; leaves are int class labels."""

    children: dict
    root: object = "root"

    def leaves(self, node) -> list[int]:
        if node not in self.children:
            return [int(node)]
        return [leaf for c in self.children[node] for leaf in self.leaves(c)]


class HierarchicalClassifier:
    """KS-test walk down a Taxonomy over the items of a VisualMemory."""

    def __init__(self, memory, taxonomy: Taxonomy, k: int = 10, max_reference: int = 2000,
                 seed: int = 0):
        self.taxonomy, self.k = taxonomy, int(k)
        _, vecs, labels = memory.arrays()
        rng = np.random.default_rng(seed)
        self._members: dict = {}
        self._reference: dict = {}
        stack = [taxonomy.root]
        while stack:
            node = stack.pop()
            for child in taxonomy.children.get(node, []):
                mask = np.isin(labels, taxonomy.leaves(child))
                x = vecs[mask]
                if len(x) < 2:
                    raise MemoryStoreError(f"taxonomy node {child!r} has {len(x)} items in the "
                                           f"memory; each node needs at least 2 to form its "
                                           f"in-class distance distribution")
                self._members[child] = x
                pick = rng.choice(len(x), min(len(x), max_reference), replace=False)
                d = 1.0 - x[pick] @ x.T
                d[np.arange(len(pick)), pick] = np.inf  # skip each item's self match
                kk = min(self.k, len(x) - 1)
                self._reference[child] = np.sort(d, axis=1)[:, :kk].ravel()
                stack.append(child)

    def _query_distances(self, q: np.ndarray, node) -> np.ndarray:
        d = 1.0 - self._members[node] @ q
        return np.sort(d)[: min(self.k, len(d))]

    def predict_one(self, q: np.ndarray) -> dict:
        """{'label': leaf, 'path': [(node, p-value), ...]} for one unit query vector."""
        node, path = self.taxonomy.root, []
        while node in self.taxonomy.children:
            scored = []
            for child in self.taxonomy.children[node]:
                p = ks_2samp(self._query_distances(q, child), self._reference[child]).pvalue
                scored.append((p, -float(np.mean(self._query_distances(q, child))), child))
            p, _, node = max(scored, key=lambda t: (t[0], t[1]))  # ties: the nearer child
            path.append((node, float(p)))
        return {"label": int(node), "path": path}

    def predict(self, queries) -> list[dict]:
        q = np.asarray(queries, dtype=np.float32)
        q = q / np.linalg.norm(q, axis=1, keepdims=True)
        return [self.predict_one(v) for v in q]
