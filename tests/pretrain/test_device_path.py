"""data.process_on=device: crops equal the tensor backend's, training runs and resumes, the
loader path is unchanged, bad settings are explained."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from procmem.pretrain.augment import MultiCrop, collate_crops
from procmem.pretrain.config import ConfigError, load_config
from procmem.pretrain.data import DataError, make_loader, stream_dataset
from procmem.pretrain.device_crops import TOLERANCE_LEVELS, BoxDrawer, crop, view_sizes
from procmem.pretrain.train import pretrain
from tests.pretrain.tinydata import TINY_OVERRIDES, synthetic_image

DEVICE = ["data.process_on=device", "augment.photometric=device"]


@pytest.mark.parametrize("sizes", [[], ["crops.global_size=64", "crops.local_size=24",
                                        "crops.local_number=3"]])
def test_device_crops_are_the_tensor_backends_for_the_same_draws(sizes):
    cfg = load_config(None, ["augment.backend=tensor", "augment.photometric=device"] + sizes)
    rng = np.random.default_rng(0)
    images = [synthetic_image(rng, 96) for _ in range(5)]
    torch.manual_seed(11)
    ref = collate_crops([MultiCrop(cfg)(im) for im in images])
    torch.manual_seed(11)
    boxes = BoxDrawer(cfg)(len(images), 96, 96)
    batch = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    out = crop(batch, boxes, view_sizes(cfg))
    assert [g.shape for g in out] == [g.shape for g in ref]
    for a, b in zip(out, ref):
        assert (a.int() - b.int()).abs().max() <= TOLERANCE_LEVELS
    assert boxes[:, :, 4].any() and not boxes[:, :, 4].all()  # some crops flipped, not all


def test_device_path_trains_and_resumes(tmp_path):
    over = TINY_OVERRIDES + DEVICE + ["data.stream_res=32", "data.stream_pool=8"]
    first = pretrain(load_config(None, over + ["schedule.max_steps=2"]), "stream:kml-mixup",
                     tmp_path / "run", progress=False)
    assert first["step"] == 2 and np.isfinite(first["final_loss"])
    second = pretrain(load_config(None, over + ["schedule.max_steps=3"]), "stream:kml-mixup",
                      tmp_path / "run", progress=False)
    assert second["resumed_from"] == 2 and second["step"] == 3 and np.isfinite(second["final_loss"])


def test_device_batches_are_crop_groups_of_the_batch_size():
    cfg = load_config(None, TINY_OVERRIDES + DEVICE + ["data.stream_res=32", "data.stream_pool=6"])
    batches = iter(make_loader("stream:shaders-mixup", cfg, 4))
    for _ in range(3):  # pools of 6 images cut into batches of 4: leftovers carried over
        g, loc = next(batches)
        assert g.shape == (2 * 4, 3, 32, 32) and loc.shape == (2 * 4, 3, 16, 16)
        assert g.dtype == torch.uint8 and g.float().std() > 0


def test_loader_path_is_the_workers_own_batches(tiny_shards, tiny_cfg):
    """process_on=loader (the default) is the DataLoader it was: the same batches, in order."""
    cfg = load_config(None, TINY_OVERRIDES + ["data.stream_res=32", "data.stream_pool=4"])
    assert cfg["data"]["process_on"] == "loader"
    assert isinstance(make_loader(str(tiny_shards), tiny_cfg, 4), torch.utils.data.DataLoader)
    torch.manual_seed(3)
    ours = [b for _, b in zip(range(2), make_loader("stream:kml", cfg, 4))]
    torch.manual_seed(3)
    plain = torch.utils.data.DataLoader(stream_dataset("kml", cfg, 4, cfg["run"]["seed"]),
                                        batch_size=None)
    theirs = [b for _, b in zip(range(2), plain)]
    for a, b in zip(ours, theirs):
        assert all(torch.equal(x, y) for x, y in zip(a, b))


def test_bad_process_on_settings_name_the_key_and_the_fix(tiny_shards):
    with pytest.raises(ConfigError, match="data.process_on='gpu' must be loader or device"):
        load_config(None, ["data.process_on=gpu"])
    with pytest.raises(ConfigError, match="add augment.photometric=device"):
        load_config(None, ["data.process_on=device"])
    cfg = load_config(None, TINY_OVERRIDES + DEVICE)
    with pytest.raises(DataError, match="use --data stream:<process> with it, or data.process_on=loader"):
        make_loader(str(tiny_shards), cfg, 4)
