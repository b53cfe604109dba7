"""Config layering and checking; multi-crop augmentation and collation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from procmem.encoder.preprocess import normalize
from procmem.pretrain.augment import MultiCrop, collate_crops
from procmem.pretrain.config import ConfigError, load_config


def test_layers_defaults_preset_overrides(tmp_path):
    cfg = load_config("tiny-cpu", ["optim.lr=1e-3", "crops.local_number=3",
                                   "model.timm_kwargs.depth=4", "run.bf16=false"])
    assert cfg["model"]["arch"] == "vit_tiny_patch16_224"           # preset
    assert cfg["loss"]["student_temp"] == 0.1                       # default kept
    assert cfg["optim"]["lr"] == 1e-3 and isinstance(cfg["optim"]["lr"], float)
    assert cfg["crops"]["local_number"] == 3 and cfg["run"]["bf16"] is False
    assert cfg["model"]["timm_kwargs"] == {"patch_size": 8, "img_size": 64, "depth": 4}
    own = tmp_path / "mine.yaml"
    own.write_text("optim:\n  batch_size: 8\n")
    assert load_config(str(own))["optim"]["batch_size"] == 8


@pytest.mark.parametrize("override, words", [
    (["optim.lrr=1"], "did you mean lr"),
    (["optim.batch_size=big"], "optim.batch_size must be a int"),
    (["nonsense"], "section.key=value"),
    (["crops.local_scale=[0.5, 0.1]"], "crop scales"),
])
def test_bad_overrides_name_the_key_and_fix(override, words):
    with pytest.raises(ConfigError, match=words):
        load_config(None, override)


def test_unknown_preset_lists_the_presets():
    with pytest.raises(ConfigError, match="paper-vits16"):
        load_config("no-such-preset")


def test_multicrop_sizes_and_collation(tiny_cfg):
    from tests.pretrain.tinydata import synthetic_image

    rng = np.random.default_rng(0)
    mc = MultiCrop(tiny_cfg)
    samples = [mc(torch.from_numpy(synthetic_image(rng)).permute(2, 0, 1)) for _ in range(3)]
    assert len(samples[0]) == 2 + tiny_cfg["crops"]["local_number"]
    assert all(c.dtype == torch.uint8 for c in samples[0])
    globals_, locals_ = collate_crops(samples)
    assert globals_.shape == (2 * 3, 3, 32, 32) and locals_.shape == (2 * 3, 3, 16, 16)
    assert torch.equal(globals_[3], samples[0][1])  # view-major: view 1 of sample 0 at row B
    x = normalize(globals_, tiny_cfg["augment"]["mean"], tiny_cfg["augment"]["std"])
    assert x.dtype == torch.float32 and -3 < x.mean() < 3
    # the two global views differ (random crops/jitter), as multi-crop needs
    assert not torch.equal(samples[0][0], samples[0][1])


@pytest.mark.parametrize("backend", ["pil", "tensor"])
def test_multicrop_backends_take_pil_or_tensor_and_blur(tiny_cfg, backend):
    from PIL import Image

    from procmem.pretrain.config import load_config, set_key

    cfg = load_config(None, [f"augment.backend={backend}", "crops.global_size=32",
                             "crops.local_size=16", "crops.global_scale=[1.0,1.0]",
                             "augment.jitter_p=0", "augment.grey_p=0", "augment.solarize_p=0",
                             "augment.flip_p=0", "augment.blur_p=[1.0,0.0,0.0]",
                             "augment.blur_sigma=[2.0,2.0]"])
    set_key(cfg, "crops.local_number", 1, "test")
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    mc = MultiCrop(cfg)
    for image in (Image.fromarray(noise), torch.from_numpy(noise).permute(2, 0, 1)):
        g1, g2, loc = mc(image)
        assert g1.dtype == g2.dtype == torch.uint8 and g1.shape == (3, 32, 32)
        assert loc.shape == (3, 16, 16)
        # full-scale crop at the same size is the image itself; only view 1 is blurred
        assert torch.equal(g2, torch.from_numpy(noise).permute(2, 0, 1))
        assert g1.float().std() < 0.5 * g2.float().std()


def test_unknown_augment_backend_is_named(tiny_cfg):
    from procmem.pretrain.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="augment.backend must be pil or tensor"):
        load_config(None, ["augment.backend=opencv"])


def test_shard_urls_are_the_manifests_not_every_tar(tmp_path):
    from procmem.pretrain.data import shard_urls
    from tests.pretrain.tinydata import write_tiny_shards

    write_tiny_shards(tmp_path, shards=2, per_shard=2)
    listed = shard_urls(tmp_path)
    (tmp_path / "stray-000099.tar").write_bytes(b"not a shard of this set")
    assert shard_urls(tmp_path) == listed and len(listed) == 2
