"""Batched K-means against scikit-learn on real photo colours (shipped with scikit-image)."""

from __future__ import annotations

import numpy as np
import pytest

from procmem.generators import kmeans as km


@pytest.fixture(scope="module")
def photos():
    from skimage import data

    imgs = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    return [im[:256:4, :256:4].reshape(-1, 3).astype(np.float32) / 255 for im in imgs]


def test_inertia_matches_sklearn_within_1_percent(photos):
    from sklearn.cluster import KMeans

    batch = np.stack(photos)
    ours = km.kmeans(batch, 2, np.random.default_rng(0))
    for b, x in enumerate(photos):
        ref = KMeans(2, random_state=0, n_init=1).fit(x).inertia_
        assert ours.inertia[b] <= ref * 1.01, (b, ours.inertia[b], ref)
        # the reported inertia is the true sum of squared distances to the assigned centres
        c = ours.centers[b][ours.labels[b]]
        assert np.isclose(((x - c) ** 2).sum(), ours.inertia[b], rtol=1e-4)


def test_labels_are_nearest_centres_for_k3(photos):
    x = photos[0]
    r = km.kmeans(x, 3, np.random.default_rng(1))
    d = ((x[:, None] - r.centers[None]) ** 2).sum(-1)
    assert (r.labels == d.argmin(1)).mean() > 0.999  # ties aside
    assert r.labels.max() == 2 and r.inertia > 0


def test_batched_equals_one_by_one_given_same_draws(photos):
    """Each set's clustering depends only on its own points: two separable blobs are found
    exactly, in every set of the batch."""
    rng = np.random.default_rng(0)
    a = rng.normal(0.2, 0.02, (500, 3))
    b = rng.normal(0.8, 0.02, (300, 3))
    x = np.concatenate([a, b]).astype(np.float32)
    batch = np.stack([x, x[::-1].copy()])
    r = km.kmeans(batch, 2, np.random.default_rng(3), sample=256)
    for lab in (r.labels[0], r.labels[1][::-1]):
        assert len(set(lab[:500])) == 1 and len(set(lab[500:])) == 1 and lab[0] != lab[-1]


def test_fixed_budget_runs_exactly_that_many_iterations(photos):
    r = km.kmeans(photos[1], 2, np.random.default_rng(0), iters=km.PAPER_ITERS)
    assert r.iterations == 3


def test_single_colour_image_does_not_crash():
    x = np.full((1, 100, 3), 0.5, np.float32)
    r = km.kmeans(x, 2, np.random.default_rng(0))
    assert np.isfinite(r.centers).all() and r.inertia[0] == pytest.approx(0, abs=1e-6)


@pytest.mark.parametrize("kwargs,match", [
    (dict(k=0), "k=0"), (dict(init="forgy"), "unknown init"), (dict(n_init=0), "n_init"),
])
def test_bad_input_is_a_clear_error(kwargs, match):
    with pytest.raises(km.KMeansError, match=match):
        km.kmeans(np.zeros((1, 10, 3), np.float32), **kwargs)
    with pytest.raises(km.KMeansError, match="shape"):
        km.kmeans(np.zeros((10,), np.float32))


def _plain_lloyd(x, c, iters, tol, max_iter):
    """Every run through every iteration: the loop `_lloyd` must agree with bit for bit."""
    done = 0
    for _ in range(iters if iters is not None else max_iter):
        new = km._lloyd_step(x, c)
        done += 1
        shift = np.sqrt(((new - c) ** 2).sum(-1)).max()
        c = new
        if iters is None and shift <= tol:
            break
    return c, done


@pytest.mark.parametrize("k,iters,tol", [(2, None, 1e-3), (3, None, 0.0), (2, 40, 1e-3), (4, None, -1.0)])
def test_runs_at_a_fixed_point_are_set_aside_without_changing_the_result(photos, k, iters, tol):
    x = np.repeat(np.stack(photos)[:, :1024], 3, axis=0)  # 12 runs, converging at different times
    xx = km._sq_norms(x)
    c0 = km._kmeans_pp(x, xx, k, np.random.default_rng(k))
    expect, expect_done = _plain_lloyd(x, c0.copy(), iters, tol, 30)
    got, done = km._lloyd(x, c0.copy(), iters, tol, 30)
    assert np.array_equal(got, expect) and done == expect_done
    assert np.array_equal(km._inertia(x, xx, got), km.assign(x, got)[1])


def test_uint8_colours_cluster_as_their_float_values(photos):
    u8 = (np.stack(photos) * 255).round().astype(np.uint8)
    f = u8.astype(np.float32) / np.float32(255)
    for kw in (dict(), dict(k=3, inertia=False), dict(sample=None)):
        a = km.kmeans(u8, rng=np.random.default_rng(0), **kw)
        b = km.kmeans(f, rng=np.random.default_rng(0), **kw)
        assert np.array_equal(a.labels, b.labels) and np.array_equal(a.centers, b.centers)
        assert a.iterations == b.iterations
