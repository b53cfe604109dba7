"""The integer forms of the KML composite and the kml-mixup mean against the float32
arithmetic they replace, over every input they can be given (shard bytes depend on it)."""

from __future__ import annotations

import numpy as np
import pytest

from procmem.generators import compose as cp
from procmem.generators import processes as pr


def test_k2_composite_equals_the_float32_arithmetic_for_every_input():
    """All 82 box sums x 256 x 256 texture values: the integer composite gives what
    soft = box / 81, sum_c m_c * t_c in float32 and rounding half up give."""
    a = np.repeat(np.arange(256, dtype=np.uint8), 256)  # every (a, b) pair once
    b = np.tile(np.arange(256, dtype=np.uint8), 256)
    t0 = np.repeat(a[None, :, None], 3, axis=2)  # [1, 65536, 3]
    t1 = np.repeat(b[None, :, None], 3, axis=2)
    for v in range(82):
        box = np.full((1, a.size), v, np.uint8)
        soft = cp._soft_from_box(box[..., None])[0]  # [1, 65536, 2] float32
        expect = cp.to_uint8(cp.kml_composite(soft, np.stack([t0[0], t1[0]])))
        got = cp._composite2(box[0][None], t0[0][None], t1[0][None])[0]
        assert np.array_equal(got, expect), f"box sum {v}"


@pytest.mark.parametrize("m", [2, 3, 4, 6])
def test_mean_equals_the_float32_mean_rounded_for_every_sum(m):
    sums = np.arange(255 * m + 1)
    parts = np.stack([np.clip(sums - 255 * i, 0, 255) for i in range(m)]).astype(np.uint8)
    expect = cp.to_uint8(parts.mean(0, dtype=np.float32))
    assert np.array_equal(cp.mean_uint8(list(parts)), expect)


@pytest.mark.parametrize("k", [2, 3])
def test_masks_image_equals_the_float_composite(k):
    rng = np.random.default_rng(k)
    labels = (rng.random((3, 24, 24)) * k).astype(np.uint8)
    labels[0, :12] = 0  # large uniform regions as well as speckle
    textures = rng.integers(0, 256, (k, 24, 24, 3)).astype(np.uint8)
    masks = cp.masks_from_labels(labels, k, 24, np.zeros((3, k, 3), np.float32), 0)
    soft = cp.smooth_masks(labels, k, 24)
    for j in range(3):
        expect = cp.to_uint8(cp.kml_composite(soft[j], textures))
        assert np.array_equal(masks.image(j, list(textures)), expect)
        frac = np.bincount(labels[j].ravel(), minlength=k) / labels[j].size
        assert np.array_equal(masks.fractions(j), frac)


def test_mask_pixels_at_full_resolution_are_the_frames_own_colours():
    """K-means reads uint8 colours as v / 255: the same floats as converting first."""
    from procmem.generators import kmeans as km

    rng = np.random.default_rng(0)
    s1 = rng.integers(0, 256, (2, 16, 16, 3)).astype(np.uint8)
    px = cp.mask_pixels(s1, 16)
    assert px.dtype == np.uint8 and px.shape == (2, 256, 3)
    as_float = s1.reshape(2, 256, 3).astype(np.float32) / np.float32(255)
    assert np.array_equal(km.as_float(px), as_float)
    a = km.kmeans(px, 2, np.random.default_rng(1), sample=64)
    b = km.kmeans(as_float, 2, np.random.default_rng(1), sample=64)
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.centers, b.centers)
    assert np.array_equal(a.inertia, b.inertia)
    low = cp.mask_pixels(s1, 8)
    assert low.dtype == np.float32 and low.shape == (2, 64, 3) and low.max() <= 1


def test_kml_images_from_integer_masks_match_their_rebuild():
    """make (integer composite, batch) and rebuild (one image) give the same bytes."""
    rng = np.random.default_rng(4)
    pool = np.repeat(np.repeat(rng.integers(0, 256, (10, 6, 6, 3)), 4, 1), 4, 2).astype(np.uint8)
    images, provs = pr.make_images("kml-mixup", pool, 10, np.random.default_rng(2))
    proc = pr.get_process("kml-mixup")
    for i in (0, 9):
        img, _ = proc.rebuild(dict(provs[i], resolution=24), lambda s: pool[s["pool"]])
        assert np.array_equal(img, images[i])
