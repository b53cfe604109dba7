"""The four processes' definitions, checked on arrays (and on rendered frames), and the
registry whose entries own their pool needs, roles and option checks."""

from __future__ import annotations

import numpy as np
import pytest

from procmem.generators import compose as cp
from procmem.generators import processes as pr


def smooth_pool(n: int, size: int = 32, seed: int = 0) -> np.ndarray:
    """n colourful smooth uint8 images: bilinear-upsampled 4x4 random colour grids."""
    rng = np.random.default_rng(seed)
    grid = rng.random((n, 4, 4, 3)).astype(np.float32)
    return cp.to_uint8(cp.resize_masks(grid, size) * 255)


def two_colour(size=32, seed=0):
    """Left half reddish, right half bluish, with a little noise."""
    rng = np.random.default_rng(seed)
    img = np.zeros((size, size, 3), np.float32)
    img[:, : size // 2] = (200, 30, 30)
    img[:, size // 2 :] = (20, 40, 210)
    return np.clip(img + rng.normal(0, 5, img.shape), 0, 255).astype(np.uint8)


def reconstruct_kml(pool, prov):
    """A KML image rebuilt from its provenance alone: labels from the recorded centres,
    the recorded smoothing, the recorded textures."""
    m = prov["mask"]
    s1 = pool[prov["sources"][0]["pool"]].astype(np.float32) / 255
    c = np.array(m["centers_rgb"], np.float32)
    lab = ((s1[..., None, :] - c) ** 2).sum(-1).argmin(-1)
    onehot = (lab[None, ..., None] == np.arange(m["k"])).astype(np.float32)
    soft = cp.box_blur3(cp.resize_masks(cp.box_blur3(onehot), pool.shape[1]))[0]
    tex = pool[[s["pool"] for s in prov["sources"][1:]]]
    return cp.kml_composite(soft, tex)


def test_kml_mask_is_binary_and_splits_s1_into_two_colour_clusters():
    s1 = np.stack([two_colour(32, s) for s in range(3)])
    masks = cp.kml_masks(s1, np.random.default_rng(0), pr.ProcessOptions())
    for lab in masks.labels:
        assert set(np.unique(lab)) == {0, 1}  # binary before blurring
        left, right = lab[:, :16], lab[:, 16:]
        assert len(np.unique(left)) == 1 and len(np.unique(right)) == 1
        assert left[0, 0] != right[0, 0]
    # the blurred masks sum to 1 and are exactly 0/1 away from the boundary
    assert np.allclose(masks.soft.sum(-1), 1, atol=1e-5)
    m = masks.soft[..., 0]
    assert set(np.unique(m[:, :, :12].round(6))) <= {0.0, 1.0}
    assert ((m > 0) & (m < 1)).any()  # and soft at the boundary


def test_kml_image_is_s2_where_mask_is_one_and_s3_where_zero():
    pool = np.concatenate([two_colour()[None], smooth_pool(5, seed=1)])
    images, provs = pr.make_images("kml", pool, 1, np.random.default_rng(0))
    p = provs[0]
    assert p["sources"][0] == {"role": "s1", "pool": 0}
    s2, s3 = (pool[s["pool"]] for s in p["sources"][1:])
    masks = cp.kml_masks(pool[:1], np.random.default_rng(0), pr.ProcessOptions())
    c0_left = np.linalg.norm(np.array(p["mask"]["centers_rgb"][0]) - [200 / 255, 30 / 255, 30 / 255]) < 0.1
    inner_left, inner_right = images[0][:, :12], images[0][:, 20:]
    if c0_left:  # cluster 0 is the red half: s2 there
        assert np.array_equal(inner_left, s2[:, :12]) and np.array_equal(inner_right, s3[:, 20:])
    else:
        assert np.array_equal(inner_left, s3[:, :12]) and np.array_equal(inner_right, s2[:, 20:])
    assert masks.labels.shape == (1, 32, 32)


def test_kml_and_kml_mixup_are_rebuilt_from_their_provenance():
    pool = smooth_pool(12, seed=2)
    images, provs = pr.make_images("kml", pool, 12, np.random.default_rng(1))
    for img, p in zip(images, provs):
        assert [s["role"] for s in p["sources"]] == ["s1", "s2", "s3"]
        diff = np.abs(img.astype(int) - reconstruct_kml(pool, p))
        assert (diff > 1).mean() < 0.01
    mixed, mprovs = pr.make_images("kml-mixup", pool, 12, np.random.default_rng(1))
    for img, p in zip(mixed, mprovs):
        assert p["weights"] == [0.5, 0.5] and len(p["mask"]) == 2
        parts = []
        for j in range(2):
            sub = {"sources": [dict(s, role=s["role"].split(".")[1]) for s in p["sources"]
                               if s["role"].startswith(f"kml{j}.")], "mask": p["mask"][j]}
            parts.append(cp.to_uint8(reconstruct_kml(pool, sub)).astype(np.float32))
        # the mean of two KML images (each a uint8 image, as in a KML data set)
        diff = np.abs(img.astype(np.float32) - (parts[0] + parts[1]) / 2)
        assert (diff > 1).mean() < 0.01
        assert p["sources"][0]["pool"] != p["sources"][3]["pool"]  # two different s1


def test_kml_mixup_is_exactly_the_mean_of_the_pools_kml_images():
    pool = smooth_pool(8, seed=3)
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    kml, _ = pr.make_images("kml", pool, 8, rng_a)  # one KML image per pool frame, same draws
    mixed, provs = pr.make_images("kml-mixup", pool, 8, rng_b)
    for i, p in enumerate(provs):
        a, b = p["sources"][0]["pool"], p["sources"][3]["pool"]
        assert a == i
        expect = cp.to_uint8((kml[a].astype(np.float32) + kml[b]) / 2)
        assert np.array_equal(mixed[i], expect)


def test_shaders_mixup_weights_sum_to_one_and_image_is_the_weighted_sum():
    pool = smooth_pool(10, seed=4)
    images, provs = pr.make_images("shaders-mixup", pool, 10, np.random.default_rng(0))
    for img, p in zip(images, provs):
        w = np.array(p["weights"])
        idx = [s["pool"] for s in p["sources"]]
        assert len(w) == 6 and len(set(idx)) == 6 and np.isclose(w.sum(), 1) and (w > 0).all()
        expect = np.tensordot(w, pool[idx].astype(np.float64), axes=1)
        assert np.abs(img - expect).max() <= 0.5 + 1e-3
    # Dirichlet(1) over 6 frames: mean weight 1/6, spread out (not uniform)
    all_w = np.concatenate([p["weights"] for p in provs])
    assert 0.1 < all_w.mean() < 0.25 and all_w.std() > 0.05


def test_shaders_is_one_frame_per_image():
    pool = smooth_pool(4)
    images, provs = pr.make_images("shaders", pool, 4, np.random.default_rng(0))
    assert np.array_equal(images, pool)
    assert [p["sources"][0]["pool"] for p in provs] == [0, 1, 2, 3]


def test_options_k3_mask_res_and_mix():
    pool = smooth_pool(8, size=32, seed=6)
    opts = pr.ProcessOptions(k=3, mask_res=16, mix=3)
    images, provs = pr.make_images("kml", pool, 8, np.random.default_rng(0), opts)
    assert [s["role"] for s in provs[0]["sources"]] == ["s1", "s2", "s3", "s4"]
    assert provs[0]["mask"]["mask_res"] == 16 and len(provs[0]["mask"]["centers_rgb"]) == 3
    masks = cp.kml_masks(pool, np.random.default_rng(0), opts)
    assert masks.labels.shape == (8, 16, 16) and masks.soft.shape == (8, 32, 32, 3)
    assert np.allclose(masks.soft.sum(-1), 1, atol=1e-5)
    _, mp = pr.make_images("kml-mixup", pool, 8, np.random.default_rng(0), opts)
    assert len(mp[0]["weights"]) == 3
    _, sp = pr.make_images("shaders-mixup", pool, 8, np.random.default_rng(0),
                           pr.ProcessOptions(alpha=0.1, mix=4))
    assert len(sp[0]["weights"]) == 4


def test_same_rng_state_same_images():
    pool = smooth_pool(6, seed=7)
    a = pr.make_images("kml-mixup", pool, 6, np.random.default_rng(9))
    b = pr.make_images("kml-mixup", pool, 6, np.random.default_rng(9))
    assert np.array_equal(a[0], b[0]) and a[1] == b[1]


def test_on_rendered_frames(renderer):
    """Real EGL frames through every process: shapes, dtype, non-trivial content."""
    from procmem.generators.frames import render_pool

    pool, specs, stats = render_pool(renderer, 6, 32, np.random.default_rng(0), "library", 3)
    assert pool.shape == (6, 32, 32, 3) and len(specs) == 6 and stats.frames == 6
    for name in pr.PROCESSES:
        images, provs = pr.make_images(name, pool, 6, np.random.default_rng(0))
        assert images.shape == (6, 32, 32, 3) and images.dtype == np.uint8
        assert images.std() > 1 and len(provs) == 6


@pytest.mark.parametrize("name,opts,match", [
    ("kml-mix", pr.ProcessOptions(), "unknown process 'kml-mix'"),
    ("kml", pr.ProcessOptions(k=1), "--clusters 1"),
    ("shaders-mixup", pr.ProcessOptions(alpha=0), "--alpha"),
    ("shaders-mixup", pr.ProcessOptions(mix=1), "--mix 1"),
    ("kml", pr.ProcessOptions(mask_res=64), "--mask-res 64"),
    ("kml", pr.ProcessOptions(kmeans_iters=0), "--kmeans-iters"),
])
def test_bad_options_are_clear_errors(name, opts, match):
    with pytest.raises(pr.ProcessError, match=match):
        pr.check_options(name, opts, 32)


def test_pool_too_small_is_an_error():
    with pytest.raises(pr.ProcessError, match="too small"):
        pr.make_images("shaders-mixup", smooth_pool(3), 3, np.random.default_rng(0))


def test_each_entry_owns_its_pool_minimum_and_roles():
    opts = pr.ProcessOptions(k=3, mix=4)
    assert {n: p.min_pool(opts) for n, p in pr.PROCESSES.items()} == {
        "shaders": 1, "shaders-mixup": 4, "kml": 3, "kml-mixup": 4}
    assert pr.PROCESSES["kml-mixup"].min_pool(pr.ProcessOptions(k=5)) == 5
    assert pr.PROCESSES["shaders-mixup"].pool_size(2, pr.ProcessOptions()) == 6  # 6 frames
    pool = smooth_pool(8, seed=8)
    for name, proc in pr.PROCESSES.items():
        _, provs = pr.make_images(name, pool, 3, np.random.default_rng(0), opts)
        assert all([s["role"] for s in p["sources"]] == proc.roles(opts) for p in provs), name
    assert pr.PROCESSES["kml-mixup"].roles(pr.ProcessOptions())[3:] == ["kml1.s1", "kml1.s2",
                                                                       "kml1.s3"]


def test_a_process_checks_only_the_options_it_uses():
    pr.check_options("shaders", pr.ProcessOptions(k=1, alpha=0, mix=1), 32)
    pr.check_options("kml", pr.ProcessOptions(alpha=0, mix=1), 32)
    pr.check_options("shaders-mixup", pr.ProcessOptions(k=1, mask_res=64), 32)
    with pytest.raises(pr.ProcessError, match="--mix 1"):
        pr.check_options("kml-mixup", pr.ProcessOptions(mix=1), 32)
    with pytest.raises(pr.ProcessError, match="--clusters 17"):
        pr.check_options("kml-mixup", pr.ProcessOptions(k=17), 32)


def test_a_registered_entry_is_a_process_everywhere(monkeypatch):
    """A new entry needs no edit elsewhere: lookup, checks, pool size and make go through it."""

    class Negative(pr.Process):
        name = "negative"
        citation = "a test"

        def min_pool(self, opts):
            return 3

        def check(self, opts, res):
            if res < 8:
                raise pr.ProcessError("negative needs 8 px")

        def roles(self, opts):
            return ["frame"]

        def make(self, pool, count, rng, opts, timing):
            return 255 - pool[:count], [{"sources": [{"role": "frame", "pool": i}],
                                         "weights": [1.0], "mask": None} for i in range(count)]

    monkeypatch.setitem(pr.PROCESSES, "negative", Negative())
    pool = smooth_pool(3)
    images, _ = pr.make_images("negative", pool, 1, np.random.default_rng(0))
    assert np.array_equal(images[0], 255 - pool[0])
    with pytest.raises(pr.ProcessError, match="too small"):
        pr.make_images("negative", pool[:2], 1, np.random.default_rng(0))
    with pytest.raises(pr.ProcessError, match="8 px"):
        pr.check_options("negative", pr.ProcessOptions(), 4)
