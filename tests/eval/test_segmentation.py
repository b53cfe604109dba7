"""Segmentation read-outs: label fractions, R^2 (1 for label-encoding features, ~0 for noise), mIoU."""

import numpy as np
import pytest

from procmem.encoder.pixels import PixelEncoder
from procmem.eval import segmentation as seg


def test_label_fractions_ignore_void():
    mask = np.array([[0, 0, 1, 1],
                     [0, 11, 1, 2],
                     [11, 11, 2, 2],
                     [11, 11, 2, 2]])
    fr, valid = seg.label_fractions(mask, (2, 2), 3, 11)
    assert valid.tolist() == [[True, True], [False, True]]
    assert fr[0, 0].tolist() == [1.0, 0.0, 0.0]          # void pixel left out of the share
    assert fr[0, 1].tolist() == pytest.approx([0, 0.75, 0.25])
    assert fr[1, 0].tolist() == [0, 0, 0]
    # a grid that does not divide the mask: cells still partition every pixel
    fr, valid = seg.label_fractions(np.zeros((7, 5), int), (3, 2), 2, 11)
    assert valid.all() and np.allclose(fr[..., 0], 1)


def test_r2_is_one_for_label_features_and_zero_for_noise():
    rng = np.random.default_rng(0)
    masks = rng.integers(0, 3, (4, 64, 64))
    grid = (16, 16)
    fr, va, _ = seg.grid_labels(masks, grid, 3, 11)
    # features that are a linear map of the label fractions (plus width): R^2 = 1
    w = rng.normal(size=(3, 24))
    good = fr @ w
    assert seg.zero_shot_r2(good, masks, 3, 11, n_components=3)["r2"] == pytest.approx(1.0, abs=1e-6)
    noise = rng.normal(size=(4, 16, 16, 24))
    r_noise = seg.zero_shot_r2(noise, masks, 3, 11, n_components=3)["r2"]
    assert 0 <= r_noise < 0.05
    # an image with one label everywhere has no variance to explain: skipped, not 0 or nan
    flat = np.zeros((1, 64, 64), int)
    z = seg.zero_shot_r2(noise[:1], flat, 3, 11)
    assert z["images"] == 0 and z["skipped"] == 1


def test_rgb_patches_segment_colour_regions(regions):
    images, masks = regions
    pf = PixelEncoder(32, 4).patch_features(images)
    assert pf.shape == (8, 8, 8, 48)
    r2 = seg.zero_shot_r2(pf, masks, 3, 11, n_components=3)["r2"]
    assert r2 > 0.8
    ic = seg.in_context(pf, masks, 3, 11)
    assert ic["miou"] > 0.7 and ic["pairs"] >= 8
    k = seg.knn_segmentation(pf[:4], masks[:4], pf[4:], masks[4:], 3, 11, k=5)
    assert k["miou"] > 0.7 and set(k["per_class_iou"]) == {0, 1, 2}
    noise = np.random.default_rng(1).normal(size=pf.shape)
    assert seg.in_context(noise, masks, 3, 11)["miou"] < ic["miou"]
    rgb = seg.pca_rgb(pf[0])
    assert rgb.shape == (8, 8, 3) and rgb.dtype == np.uint8 and rgb.max() == 255


def test_miou_from_confusion():
    conf = np.array([[3, 1, 0], [0, 2, 0], [0, 0, 0]])
    miou, ious = seg.miou_from_confusion(conf)
    assert ious == {0: 0.75, 1: 2 / 3} and miou == pytest.approx((0.75 + 2 / 3) / 2)


def test_images_without_labelled_cells_warn_nothing_and_floors_use_kept_cells():
    import warnings

    rng = np.random.default_rng(0)
    masks = rng.integers(0, 3, (3, 32, 32))
    masks[0] = 11                      # an image with no labelled pixel at all
    masks[1, :, :24] = 11              # three quarters void: few cells kept
    feats = rng.normal(size=(3, 8, 8, 16))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Mean of empty slice" or any other warning
        z = seg.zero_shot_r2(feats, masks, 3, 11, n_components=3)
        seg.in_context(feats, masks, 3, 11)
        seg.knn_segmentation(feats[:2], masks[:2], feats[2:], masks[2:], 3, 11, k=3)
    assert z["images"] == 2 and z["skipped"] == 1
    kept = z["kept_cells"]
    assert kept.tolist() == [0, 16, 64]
    # the floor averages n / (m - 1) over the images scored: 3/15 and 3/63, not 3/63 alone
    assert z["noise_floor"] == pytest.approx((3 / 15 + 3 / 63) / 2)
    assert seg.noise_floor([64], 3) == pytest.approx(3 / 63)
