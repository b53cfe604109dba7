"""kNN table, linear probe and NIGHTS 2AFC on small real data."""

import numpy as np
import pytest

from procmem.encoder.pixels import PixelEncoder
from procmem.eval.knn_table import capped_ks, knn_sweep
from procmem.eval.linear_probe import linear_probe
from procmem.eval.nights import two_afc


@pytest.fixture(scope="module")
def digit_feats(digits):
    mem, qry = digits
    enc = PixelEncoder(8, 2)
    return enc.embed(mem.images), mem.labels, enc.embed(qry.images), qry.labels


def test_capped_ks():
    assert capped_ks((1, 5, 10, 20, 50, 100, 200), 30) == [1, 5, 10, 20, 30]
    assert capped_ks((1, 5), 3) == [1, 3]


def test_knn_sweep_every_rule(digit_feats):
    mf, ml, qf, ql = digit_feats
    r = knn_sweep(mf, ml, qf, ql, 10)
    assert r["ks"] == [1, 5, 10, 20, 50, 100, 200] and r["fixed_k"] == 20
    for rule in ("plurality", "distance", "softmax", "rank"):
        assert r["fixed"][rule] > 0.85  # raw pixels classify digits well
        assert r["best"][rule]["accuracy"] >= r["fixed"][rule]
        assert r["best"][rule]["accuracy"] == max(r["accuracy"][rule][str(k)] for k in r["ks"])
    # plurality decays at large k on 40 items per class; rank voting decays much less
    assert r["accuracy"]["rank"]["200"] > r["accuracy"]["plurality"]["200"]
    # k=1 with any rule is the nearest neighbour's label
    nn = np.argmax(qf @ mf.T, axis=1)
    assert r["accuracy"]["plurality"]["1"] == pytest.approx(np.mean(ml[nn] == ql))
    # every (rule, k) answer per query is kept: intervals and paired differences use it
    assert r["correct"].shape == (4, len(r["all_ks"]), len(ql))
    j = r["all_ks"].index(20)
    assert r["correct"][3, j].mean() == pytest.approx(r["fixed"]["rank"])


def test_knn_on_noise_is_chance():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(400, 16)).astype(np.float32)
    f /= np.linalg.norm(f, axis=1, keepdims=True)
    r = knn_sweep(f[:300], rng.integers(0, 4, 300), f[300:], rng.integers(0, 4, 100), 4, ks=(20,))
    assert r["fixed"]["plurality"] < 0.45


def test_linear_probe(digit_feats):
    mf, ml, qf, ql = digit_feats
    r = linear_probe(mf[:200], ml[:200], qf, ql, max_iter=100)
    assert r["accuracy"] > 0.85 and r["predictions"].shape == ql.shape
    assert r["correct"].mean() == pytest.approx(r["accuracy"]) and r["queries"] == len(ql)


def test_two_afc_ties_count_half():
    ref = np.array([[1, 0], [1, 0], [1, 0], [1, 0], [1, 0]], float)
    left = np.array([[1, 0], [0, 1], [0, 1], [1, 0], [0, 1]], float)
    right = np.array([[0, 1], [1, 0], [0, 1], [0, 1], [1, 0]], float)
    lv = [1, 1, 1, 1, 0]
    rv = [0, 0, 0, 1, 1]
    # agree, disagree, model tie, human tie, agree (right)
    r = two_afc(ref, left, right, lv, rv)
    assert r["per_triplet"].tolist() == [1.0, 0.0, 0.5, 0.5, 1.0]
    assert r["agreement"] == pytest.approx(0.6)
    assert r["stderr"] == pytest.approx(np.std([1, 0, .5, .5, 1], ddof=1) / np.sqrt(5))
    assert r["model_ties"] == 1 and r["human_ties"] == 1
