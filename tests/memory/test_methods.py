"""Decision scoring, KS hierarchy, kNN + linear (Jia et al.), ResMem (Yang et al.)."""

from __future__ import annotations

import numpy as np
import pytest

from procmem.memory import decisions, parametric
from procmem.memory.hierarchy import HierarchicalClassifier, Taxonomy
from procmem.memory.resmem import ResMem
from procmem.memory.store import VisualMemory
from tests.memory.conftest import unit


def test_calibration_table_and_k_sweep_hand_example():
    nn = np.array([[0, 0, 0], [1, 1, 2], [2, 0, 1], [1, 1, 1]])
    y = np.array([0, 2, 2, 1])
    rows = decisions.calibration_table(nn, y, 3)
    assert [(r["agree"], r["queries"], r["accuracy"]) for r in rows][:1] == [(1, 1, 0.0)]
    assert (rows[1]["queries"], rows[1]["accuracy"]) == (1, 0.0)  # [1,1,2] says 1, truth 2
    assert (rows[2]["queries"], rows[2]["accuracy"]) == (2, 1.0)
    sw = decisions.k_sweep(nn, np.ones(nn.shape), y, [1, 3], "plurality", 3)
    assert sw[1][1] == 0.75 and sw[3][1] == 0.5 and sw[3][5] == 1.0
    with pytest.raises(Exception, match="needs that many neighbours"):
        decisions.k_sweep(nn, np.ones(nn.shape), y, [5], "plurality", 3)


def _tree_data(rng):
    """Two super-classes (far apart), each with two leaf classes (close together)."""
    supers = rng.normal(size=(2, 24)) * 4
    leaves = np.concatenate([supers[[0, 0]], supers[[1, 1]]]) + rng.normal(size=(4, 24)) * 1.5
    y = np.repeat(np.arange(4), 40)
    return unit(leaves[y] + rng.normal(size=(len(y), 24)) * 0.6), y


def test_ks_hierarchy_walks_toy_taxonomy(tmp_path):
    rng = np.random.default_rng(3)
    x, y = _tree_data(rng)
    m = VisualMemory.create(tmp_path / "m", 24, "e")
    test = np.arange(len(y)) % 5 == 0
    m.add(x[~test], y[~test])
    tax = Taxonomy({"root": ["A", "B"], "A": [0, 1], "B": [2, 3]})
    assert tax.leaves("A") == [0, 1] and tax.leaves("root") == [0, 1, 2, 3]
    out = HierarchicalClassifier(m, tax, k=5).predict(x[test])
    supers = np.array(["A" if p["path"][0][0] == "A" else "B" for p in out])
    assert np.mean(supers == np.where(y[test] < 2, "A", "B")) == 1.0
    assert np.mean([p["label"] for p in out] == y[test]) >= 0.8
    assert all(len(p["path"]) == 2 and 0 <= p["path"][0][1] <= 1 for p in out)
    m.close()


def test_knn_weighted_loss_and_interpolation(tmp_path, blobs):
    x, y, xq, yq = blobs
    y = y.copy()
    y[0] = (y[0] + 1) % 3  # one mislabelled item: the memory finds it hard
    m = VisualMemory.create(tmp_path / "m", 16, "e")
    ids = m.add(x, y)
    wid, w = parametric.knn_loss_weights(m, k=5, alpha=1.0)
    assert np.array_equal(wid, ids)
    assert w[0] > 5 and np.median(w) < 1.01  # -log p_knn(y) large only where neighbours disagree
    probe = parametric.fit_probe(m, knn_weighted=True, k=5)
    p_lin = probe.proba(xq)
    sims, nn = m.search(xq, 5)
    p_knn = parametric.knn_proba(m.labels_of(nn), sims, 3)
    np.testing.assert_allclose(p_knn.sum(axis=1), 1.0)
    np.testing.assert_allclose(parametric.interpolate(p_knn, p_lin, 1.0), p_knn)
    p = parametric.interpolate(p_knn, p_lin, 0.5)
    assert np.mean(p.argmax(1) == yq) > 0.95 and np.mean(p_lin.argmax(1) == yq) > 0.95
    m.close()


def test_resmem_memorises_training_set_at_k1_and_forgets_removed(tmp_path, blobs):
    x, _, xq, _ = blobs
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, len(x))  # random labels: no linear model can learn them
    m = VisualMemory.create(tmp_path / "m", 16, "e")
    ids = m.add(x, y)
    probe = parametric.LinearProbe(3, C=0.01).fit(x, y)
    assert np.mean(probe.logits(x).argmax(1) == y) < 0.7
    rm = ResMem(m, probe.logits, k=1).fit()
    p = rm.predict_proba(x)
    np.testing.assert_allclose(p, np.eye(3)[y], atol=1e-6)
    assert np.array_equal(rm.predict(x), y)
    rm3 = ResMem(m, probe.logits, k=3, sigma=0.01)
    assert np.mean(rm3.predict(x) == y) == 1.0
    m.remove(ids[:10])
    n = m.connection.execute("SELECT count(*) FROM residuals").fetchone()[0]
    assert n == len(x) - 10
    m.close()
