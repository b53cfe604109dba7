"""The device data path's torch composition against the numpy processes, on real renders."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from procmem.generators import compose as cp
from procmem.generators import kmeans as km
from procmem.generators import processes as pr
from procmem.generators import torch_compose as tc
from procmem.generators.frames import render_pool

RES = 64
TOL = tc.TOLERANCE


@pytest.fixture(scope="module")
def pool(renderer):
    frames, _, _ = render_pool(renderer, 48, RES, np.random.default_rng(0), "library", 4)
    return frames


def within(a: np.ndarray, b: np.ndarray) -> float:
    """Share of the values of a within TOLERANCE's levels of b."""
    return float((np.abs(a.astype(int) - b.astype(int)) <= TOL["max_level"]).mean())


def numpy_kml(pool, source_pools: list[int], centers: np.ndarray, swapped: bool) -> np.ndarray:
    """numpy's KML image from its recorded centres (as processes._kml_rebuild), with s1's two
    clusters in the other order when `swapped` (cluster 0 filled with the other texture)."""
    s1, textures = pool[source_pools[0]], pool[source_pools[1:]]
    labels, _ = km.assign(cp.mask_pixels(s1[None], RES), centers[None], inertia=False)
    masks = cp.masks_from_labels(labels.reshape(1, RES, RES), len(centers), RES, centers[None], 0)
    return masks.image(0, textures[::-1] if swapped else textures)


def check_kml(pool, torch_images, torch_centers, provs):
    """Each torch KML image is numpy's (or numpy's with clusters swapped) within TOLERANCE."""
    swaps, near = 0, km.DEFAULT_TOL  # Lloyd stops once no centre moves more than this
    for i, prov in enumerate(provs):
        c = np.array(prov["mask"]["centers_rgb"], np.float32)
        same = np.abs(torch_centers[i] - c).max() < near
        swapped = not same and np.abs(torch_centers[i][::-1] - c).max() < near
        assert same or swapped, f"image {i}: centres {torch_centers[i]} vs numpy's {c}"
        swaps += swapped
        ref = numpy_kml(pool, [s["pool"] for s in prov["sources"]], c, swapped)
        assert within(torch_images[i], ref) >= TOL["min_share"], f"image {i}"
    assert swaps <= TOL["max_swapped"] * len(provs)


@pytest.mark.parametrize("seed", [0, 1])
def test_kml_images_are_numpys_within_the_tolerance(pool, seed):
    count = 40
    images, provs = pr.make_images("kml", pool, count, np.random.default_rng(seed))
    plan = tc.plan("kml", len(pool), count, RES, np.random.default_rng(seed))
    t_images, t_centers = tc.kml_images(torch.from_numpy(pool), plan)
    assert t_images.shape == images.shape and t_images.dtype == torch.uint8
    check_kml(pool, t_images.numpy(), t_centers.numpy(), provs)
    assert np.array_equal(tc.compose(torch.from_numpy(pool), plan).numpy(), t_images.numpy())


def test_kml_mixup_is_the_exact_mean_of_the_same_parts(pool):
    n = len(pool)
    mixed, provs = pr.make_images("kml-mixup", pool, n, np.random.default_rng(3))
    # kml-mixup's first stage is the kml process over the whole pool, with the same rng
    kml, kml_provs = pr.make_images("kml", pool, n, np.random.default_rng(3))
    plan = tc.plan("kml-mixup", n, n, RES, np.random.default_rng(3))
    t_kml, t_centers = tc.kml_images(torch.from_numpy(pool), plan)
    check_kml(pool, t_kml.numpy(), t_centers.numpy(), kml_provs)
    for i, prov in enumerate(provs):  # the same partners were drawn
        assert [s["pool"] for s in prov["sources"][:: 3]] == [kml_provs[q]["sources"][0]["pool"]
                                                              for q in plan.parts[i]]
    t_mixed = tc.compose(torch.from_numpy(pool), plan).numpy()
    assert np.array_equal(t_mixed, cp.mean_uint8(list(np.moveaxis(t_kml.numpy()[plan.parts], 1, 0))))
    assert np.mean([within(a, b) >= TOL["min_share"] for a, b in zip(t_mixed, mixed)]) \
        >= 1 - 2 * TOL["max_swapped"]


@pytest.mark.parametrize("name", ["shaders", "shaders-mixup"])
def test_shaders_processes_are_numpys_within_the_tolerance(pool, name):
    images, _ = pr.make_images(name, pool, 40, np.random.default_rng(5))
    plan = tc.plan(name, len(pool), 40, RES, np.random.default_rng(5))
    out = tc.compose(torch.from_numpy(pool), plan).numpy()
    assert min(within(a, b) for a, b in zip(out, images)) >= TOL["min_share"]


@pytest.mark.parametrize("name,opts", [("kml", pr.ProcessOptions()),
                                       ("kml-mixup", pr.ProcessOptions(k=3)),
                                       ("kml", pr.ProcessOptions(kmeans_sample=512, kmeans_iters=3)),
                                       ("shaders-mixup", pr.ProcessOptions(mix=3, alpha=0.5))])
def test_plan_consumes_the_rng_as_the_numpy_process_does(pool, name, opts):
    a, b = np.random.default_rng(9), np.random.default_rng(9)
    pr.make_images(name, pool, 20, a, opts)
    tc.plan(name, len(pool), 20, RES, b, opts)
    assert np.array_equal(a.integers(0, 2**62, 4), b.integers(0, 2**62, 4))


def test_a_fixed_lloyd_budget_on_a_sample_gives_numpys_images(pool):
    opts = pr.ProcessOptions(kmeans_sample=512, kmeans_iters=3)
    images, _ = pr.make_images("kml", pool, 32, np.random.default_rng(2), opts)
    plan = tc.plan("kml", len(pool), 32, RES, np.random.default_rng(2), opts)
    out = tc.compose(torch.from_numpy(pool), plan).numpy()
    assert min(within(x, y) for x, y in zip(out, images)) >= TOL["min_share"]


def test_a_lower_mask_resolution_is_refused_with_the_fix():
    with pytest.raises(tc.DevicePathError, match="mask_res unset or use data.process_on=loader"):
        tc.plan("kml", 8, 8, RES, np.random.default_rng(0), pr.ProcessOptions(mask_res=16))


def test_every_process_has_a_device_path():
    assert set(tc.DEVICE_STEPS) == set(pr.PROCESSES)
    with pytest.raises(tc.DevicePathError, match="no device composition; use data.process_on=loader"):
        tc.compose(torch.zeros((4, 16, 16, 3), dtype=torch.uint8), tc.Plan("nope", 4, pr.ProcessOptions()))
    assert tc.plan("shaders", 4, 4, 16, np.random.default_rng(0)).count == 4
