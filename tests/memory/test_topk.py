"""memory.topk: the one exact top-k, with ties at the k-th place broken by the smaller key."""

import numpy as np

from procmem.memory.index import NumpyIndex
from procmem.memory.topk import topk


def _brute(sims, k, keys):
    rows = []
    for r in sims:
        order = sorted(range(len(r)), key=lambda j: (-r[j], keys[j]))[:k]
        rows.append(order)
    return np.array(rows)


def test_ties_at_the_boundary_go_to_the_smaller_key():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n, k = int(rng.integers(3, 12)), int(rng.integers(1, 6))
        sims = rng.integers(0, 3, size=(4, n)).astype(np.float32)  # many ties
        keys = rng.permutation(n) * 7
        _, cols = topk(sims, k, keys=keys)
        assert (cols[:, :min(k, n)] == _brute(sims, min(k, n), keys)).all()


def test_padding_and_valid_mask():
    sims = np.array([[0.5, 0.9, 0.1]], np.float32)
    s, c = topk(sims, 5, valid=np.array([True, False, True]))
    assert c.tolist() == [[0, 2, -1, -1, -1]]
    assert np.isneginf(s[0, 2:]).all()


def test_numpy_index_breaks_ties_by_smaller_id():
    rng = np.random.default_rng(1)
    vecs = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=40)]  # many identical vectors
    ids = rng.permutation(1000)[:40].astype(np.int64)
    index = NumpyIndex(4)
    index.add(ids, vecs)
    q = np.eye(4, dtype=np.float32)
    sims, got = index.search(q, 7)
    want_cols = _brute(q @ vecs.T, 7, ids)
    assert (got == ids[want_cols]).all()
