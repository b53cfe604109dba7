"""The exact privacy audit equals brute-force leave-one-out, for every rule, ties included."""

import numpy as np
import pytest

from procmem.eval.neighbours import exact_topk, topk_from_sims
from procmem.eval.privacy import privacy_sweep, sensitive_items, sensitive_items_brute_force
from procmem.memory.voting import RULES


def test_topk_total_order_breaks_ties_by_index():
    sims = np.array([[0.5, 0.9, 0.5, 0.9, 0.1, 0.5]], np.float32)
    s, i = topk_from_sims(sims, 4)
    assert i.tolist() == [[1, 3, 0, 2]]  # tie at the k-th value resolved by the smaller index
    s, i = topk_from_sims(sims, 8)
    assert i[0, 6:].tolist() == [-1, -1] and s[0, 6:].tolist() == [0, 0]
    valid = np.array([True, False, True, True, True, True])
    _, i = topk_from_sims(sims, 2, valid)
    assert i.tolist() == [[3, 0]]


def test_exact_topk_matches_full_sort_in_blocks():
    rng = np.random.default_rng(0)
    m, q = rng.normal(size=(50, 4)).astype(np.float32), rng.normal(size=(7, 4)).astype(np.float32)
    s, i = exact_topk(q, m, 5, block=3)
    ref = np.argsort(-(q @ m.T), axis=1, kind="stable")[:, :5]
    assert np.array_equal(i, ref)


@pytest.mark.parametrize("rule", RULES)
def test_exact_audit_equals_brute_force_with_ties(rule):
    rng = np.random.default_rng(7)
    for trial in range(12):
        n, nq = int(rng.integers(2, 30)), int(rng.integers(1, 20))
        # small integer vectors: many exactly equal similarities, so tie handling is exercised
        mem = rng.integers(-1, 2, (n, 3)).astype(np.float32)
        qry = rng.integers(-1, 2, (nq, 3)).astype(np.float32)
        labels = rng.integers(0, 3, n)
        for k in (1, 2, 4, 7, n + 3):
            fast = sensitive_items(mem, labels, qry, k, rule, 3)["sensitive"]
            slow = sensitive_items_brute_force(mem, labels, qry, k, rule, 3)
            assert np.array_equal(fast, slow), (trial, k)


def test_exact_audit_on_real_embeddings_and_sweep(digits):
    from procmem.encoder.pixels import PixelEncoder

    mem, qry = digits
    enc = PixelEncoder(8, 2)
    mf, qf = enc.embed(mem.images[:120]), enc.embed(qry.images[:40])
    ml = mem.labels[:120]
    for k in (1, 5):
        fast = sensitive_items(mf, ml, qf, k, "softmax", 10)
        assert np.array_equal(fast["sensitive"],
                              sensitive_items_brute_force(mf, ml, qf, k, "softmax", 10))
    rows = privacy_sweep(mf, ml, qf, qry.labels[:40], 10, ks=(1, 5), rules=("plurality",))
    assert [r["k"] for r in rows] == [1, 5]
    # with k = 1 the sensitive items are exactly the distinct nearest neighbours whose removal
    # hands the query to a neighbour of another label
    assert 0 < rows[0]["sensitive_fraction"] <= 40 / 120
    assert all(0.5 < r["accuracy"] <= 1 for r in rows)
