"""Read-outs (procmem.encoder.readout): cls is the backbone's own vector, grid2 adds where."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from procmem.encoder.encoder import Encoder
from procmem.encoder.readout import feature_map, read_out, readout_dim

VIT = {"patch_size": 8, "embed_dim": 32, "depth": 1, "num_heads": 2}


@pytest.mark.parametrize("arch,size,kwargs", [("convnext_atto", 64, {}),
                                              ("vit_tiny_patch16_224", 32, VIT)])
def test_grid2_is_the_pooled_vector_then_four_unit_cells_of_the_map(arch, size, kwargs):
    enc = Encoder.random(arch, size, seed=0, readout="grid2", **kwargs)
    x = enc.preprocess(np.random.default_rng(0).integers(0, 256, (3, size, size, 3), np.uint8))
    with torch.inference_mode():
        v = read_out(enc.model, x, "grid2")
        pooled, fmap = enc.model(x), feature_map(enc.model, enc.model.forward_features(x))
    width = enc.model.num_features
    assert v.shape == (3, readout_dim(width, "grid2")) == (3, 5 * width) and enc.dim == 5 * width
    assert torch.allclose(v[:, :width], torch.nn.functional.normalize(pooled, dim=-1), atol=1e-5)
    cells = v[:, width:].reshape(3, width, 4)  # channel-major, cells top-left .. bottom-right
    assert torch.allclose(cells.norm(dim=1), torch.ones(3, 4), atol=1e-5)
    top_left = fmap[:, :, : fmap.shape[2] // 2, : fmap.shape[3] // 2].mean((2, 3))
    assert torch.allclose(cells[:, :, 0], torch.nn.functional.normalize(top_left, dim=-1), atol=1e-5)
    e = enc.embed(np.random.default_rng(1).integers(0, 256, (1, size, size, 3), np.uint8))
    assert e.shape == (1, 5 * width) and np.isclose(np.linalg.norm(e), 1, atol=1e-5)


def test_grid4_reads_sixteen_cells_of_a_vit_token_grid():
    enc = Encoder.random("vit_tiny_patch16_224", 64, seed=0, readout="grid4", **VIT)
    assert enc.dim == 17 * 32 == readout_dim(32, "grid4")
    images = np.random.default_rng(0).integers(0, 256, (2, 64, 64, 3), np.uint8)
    v = enc.embed(images) * np.sqrt(17)  # 17 unit parts
    assert np.allclose(np.linalg.norm(v[:, 32:].reshape(2, 32, 16), axis=1), 1, atol=1e-4)


def test_a_random_baseline_with_grid2_is_a_different_encoder_with_its_own_fingerprint():
    cls_enc = Encoder.random("convnext_atto", 64, seed=0)
    grid = Encoder.random("convnext_atto", 64, seed=0, readout="grid2")
    assert cls_enc.readout == "cls" and "readout" not in cls_enc.meta
    assert grid.meta["readout"] == "grid2" and grid.fingerprint == cls_enc.fingerprint + ":readout=grid2"
    images = np.random.default_rng(0).integers(0, 256, (2, 64, 64, 3), np.uint8)
    assert cls_enc.embed(images).shape == (2, 320) and grid.embed(images).shape == (2, 1600)


def test_an_unknown_readout_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown read-out 'grid9'.*cls, grid2"):
        Encoder.random("convnext_atto", 64, seed=0, readout="grid9")


def test_patch_grids_read_at_patch_image_size_give_a_convnet_more_cells():
    small = Encoder.random("convnext_atto", 64, seed=0)
    big = Encoder.random("convnext_atto", 64, seed=0, patch_image_size=256)
    images = np.random.default_rng(0).integers(0, 256, (2, 48, 48, 3), np.uint8)
    assert small.patch_features(images).shape == (2, 2, 2, 320)
    assert big.patch_features(images).shape == (2, 8, 8, 320)
    assert np.allclose(big.embed(images), small.embed(images), atol=1e-5)  # vectors unchanged
    from procmem.eval.datasets import LabelledImages
    from procmem.eval.features import cache_path

    # the same vectors: the same fingerprint (memories); patch features are cached apart
    assert big.fingerprint == small.fingerprint
    data = LabelledImages("x", images, np.zeros(2, np.int64), ["a"])
    assert cache_path("c", big, data, "patch") != cache_path("c", small, data, "patch")
    assert "patch_image_size" not in Encoder.random("convnext_atto", 64, 0, patch_image_size=64).meta
