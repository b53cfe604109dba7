"""Real DINO steps on tiny shards: learning, last-layer freeze, resume, failures, probe."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from procmem.pretrain.config import load_config
from procmem.pretrain.data import CorruptDataWarning, DataError
from procmem.pretrain.metrics import read_metrics
from procmem.pretrain.train import Trainer, TrainingError, pretrain
from tests.pretrain.tinydata import TINY_OVERRIDES, synthetic_image, write_tiny_shards


def _fixed_batch(cfg, n=4, seed=0):
    from procmem.encoder.preprocess import to_chw_uint8
    from procmem.pretrain.augment import MultiCrop, collate_crops

    rng = np.random.default_rng(seed)
    mc = MultiCrop(cfg)
    return collate_crops([mc(to_chw_uint8(synthetic_image(rng))) for _ in range(n)])


def test_steps_on_a_fixed_batch_lower_the_loss_and_freeze_the_last_layer_in_epoch_0(
        tiny_shards, tmp_path):
    cfg = load_config(None, TINY_OVERRIDES + ["optim.warmup_epochs=0", "optim.lr=0.05",
                                              "schedule.epochs=10", "schedule.steps_per_epoch=4"])
    torch.manual_seed(0)
    tr = Trainer(cfg, str(tiny_shards), tmp_path / "run", progress=False)
    batch = _fixed_batch(cfg)
    last = tr.student.head.last_layer.parametrizations.weight.original1
    w0 = last.detach().clone()
    losses = []
    for _ in range(12):
        losses.append(tr.train_step(batch)[0])
        if tr.step == 4:  # end of epoch 0: the last layer has not moved
            assert torch.equal(last, w0)
    assert not torch.equal(last, w0)  # unfrozen from epoch 1
    assert np.mean(losses[-3:]) < 0.75 * np.mean(losses[:3]), losses
    assert all(p.grad is None for p in tr.teacher.parameters())


def test_stop_and_rerun_resumes_at_the_same_step_and_schedule_values(tiny_shards, tmp_path):
    full = load_config(None, TINY_OVERRIDES)
    pretrain(full, str(tiny_shards), tmp_path / "a", progress=False)
    ref = {r["step"]: r for r in read_metrics(tmp_path / "a") if "lr" in r}

    part = load_config(None, TINY_OVERRIDES + ["schedule.max_steps=5"])
    first = pretrain(part, str(tiny_shards), tmp_path / "b", progress=False)
    assert first["step"] == 5
    ckpt = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] == 5 and ckpt["epoch"] == 1 and ckpt["loss_center"].shape == (1, 256)
    second = pretrain(full, str(tiny_shards), tmp_path / "b", progress=False)
    assert second["resumed_from"] == 5 and second["step"] == 12
    rows = {r["step"]: r for r in read_metrics(tmp_path / "b") if "lr" in r}
    assert sorted(rows) == sorted(ref) == list(range(1, 13))
    for step in range(1, 13):
        for key in ("lr", "wd", "momentum", "teacher_temp", "epoch"):
            assert rows[step][key] == pytest.approx(ref[step][key], rel=1e-9), (step, key)
    # rerunning a finished run does nothing; changing the recipe is refused
    assert pretrain(full, str(tiny_shards), tmp_path / "b", progress=False)["final_loss"] is None
    changed = load_config(None, TINY_OVERRIDES + ["optim.lr=0.1"])
    with pytest.raises(TrainingError, match="optim.lr"):
        pretrain(changed, str(tiny_shards), tmp_path / "b", progress=False)


def test_the_same_command_trains_on_the_same_batches(tiny_shards, tmp_path):
    """The shard loader's draws (shards, shuffle buffer, crops) are seeded: the same config
    gives the same batches and losses; a resumed run (another start step) draws anew."""
    from procmem.pretrain.data import make_loader

    cfg = load_config(None, TINY_OVERRIDES)

    def first(start_step=0, n=3):
        torch.manual_seed(0)
        it = iter(make_loader(str(tiny_shards), cfg, 4, start_step=start_step))
        return [next(it) for _ in range(n)]

    a, b, c = first(), first(), first(start_step=5)
    assert all(torch.equal(x, y) for p, q in zip(a, b) for x, y in zip(p, q))
    assert not all(torch.equal(x, y) for p, q in zip(a, c) for x, y in zip(p, q))
    once = pretrain(load_config(None, TINY_OVERRIDES + ["schedule.max_steps=3"]), str(tiny_shards),
                    tmp_path / "a", progress=False)
    again = pretrain(load_config(None, TINY_OVERRIDES + ["schedule.max_steps=3"]), str(tiny_shards),
                     tmp_path / "b", progress=False)
    assert once["final_loss"] == again["final_loss"]


def test_non_finite_loss_stops_with_the_step(tiny_shards, tmp_path):
    cfg = load_config(None, TINY_OVERRIDES + ["optim.warmup_epochs=0", "optim.lr=1e30"])
    with pytest.raises(TrainingError, match=r"loss is nan at step \d+ .*lower optim.lr"):
        pretrain(cfg, str(tiny_shards), tmp_path / "run", progress=False)


def test_corrupt_shards_are_skipped_with_a_warning(tmp_path):
    # six shards in the manifest, five of them then damaged on disk
    d = write_tiny_shards(tmp_path / "shards", shards=6, per_shard=8)
    good = (d / "shaders-000000.tar").read_bytes()
    for i in (1, 2, 3):  # not tars at all
        (d / f"shaders-00000{i}.tar").write_bytes(b"this is not a tar archive %d" % i * 50)
    (d / "shaders-000004.tar").write_bytes(good[: len(good) // 2 + 100])  # truncated
    bad_png = bytearray(good)
    i = bad_png.find(b"IDAT")
    bad_png[i:i + 200] = b"\0" * 200  # a damaged image inside a readable tar
    (d / "shaders-000005.tar").write_bytes(bytes(bad_png))
    # 1 good shard in 6: the chance that 8 steps never draw a corrupt one is below 1e-4
    cfg = load_config(None, TINY_OVERRIDES + ["schedule.max_steps=8"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = pretrain(cfg, str(d), tmp_path / "run", progress=False)
    assert result["step"] == 8
    msgs = [str(w.message) for w in caught if issubclass(w.category, CorruptDataWarning)]
    assert msgs and all("skipping unreadable" in m for m in msgs)


def test_bad_data_argument_is_explained(tmp_path):
    with pytest.raises(DataError, match="no such file or directory"):
        pretrain(load_config(None, TINY_OVERRIDES), str(tmp_path / "nope"), tmp_path / "r")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="manifest.json"):
        pretrain(load_config(None, TINY_OVERRIDES), str(tmp_path / "empty"), tmp_path / "r")


def test_online_knn_probe_is_logged(tiny_shards, tmp_path):
    from PIL import Image

    rng = np.random.default_rng(3)
    for c in range(2):
        (tmp_path / "real" / f"class{c}").mkdir(parents=True)
        for i in range(4):
            img = synthetic_image(rng)
            img[..., c] = 255  # class = which channel is saturated
            Image.fromarray(img).save(tmp_path / "real" / f"class{c}" / f"{i}.png")
    cfg = load_config(None, TINY_OVERRIDES + [f"probe.data={tmp_path / 'real'}", "probe.every=3",
                                              "probe.k=3", "schedule.max_steps=6"])
    from procmem.eval.probe import probe_from_config

    pretrain(cfg, str(tiny_shards), tmp_path / "run", progress=False, probe=probe_from_config(cfg))
    probes = [r for r in read_metrics(tmp_path / "run") if "probe_knn_top1" in r]
    assert [r["step"] for r in probes] == [3, 6]
    assert all(0.0 <= r["probe_knn_top1"] <= 1.0 for r in probes)
    from PIL import Image

    with Image.open(tmp_path / "run" / "curves.png") as im:  # loss, schedules, speed, probe
        assert im.width > 4 * im.height


def test_knn_accuracy_on_separable_clusters():
    from procmem.eval.probe import knn_accuracy

    rng = np.random.default_rng(0)
    centres = np.eye(4, 16)
    labels = rng.integers(0, 4, 80)
    x = centres[labels] + 0.05 * rng.standard_normal((80, 16))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    assert knn_accuracy(x[:60], labels[:60], x[60:], labels[60:], k=5) == 1.0
    shuffled = rng.permutation(labels[:60])
    assert knn_accuracy(x[:60], shuffled, x[60:], labels[60:], k=5) < 0.8


def test_stream_data_renders_on_the_fly(tmp_path):
    pytest.importorskip("procmem.generators.stream")
    cfg = load_config(None, TINY_OVERRIDES + ["schedule.max_steps=2", "data.stream_res=32",
                                              "data.stream_pool=8"])
    result = pretrain(cfg, "stream:shaders", tmp_path / "run", progress=False)
    assert result["step"] == 2 and np.isfinite(result["final_loss"])
    ckpt = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert ckpt["provenance"] == {"kind": "stream", "process": "shaders", "res": 32,
                                  "pool_size": 8, "seed": 0}


def test_damaged_checkpoint_is_reported_not_overwritten(tiny_shards, tmp_path):
    from procmem.pretrain.checkpoint import CheckpointError

    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.pt").write_bytes(b"half a checkpoint")
    with pytest.raises(CheckpointError, match="cannot be read.*delete it"):
        pretrain(load_config(None, TINY_OVERRIDES), str(tiny_shards), run, progress=False)
    assert (run / "checkpoint.pt").read_bytes() == b"half a checkpoint"


@pytest.mark.parametrize("option", ["loss.centering=sinkhorn", "loss.koleo_weight=0.1",
                                    "augment.photometric=device"])
def test_departure_options_train(option, tiny_shards, tmp_path):
    cfg = load_config(None, TINY_OVERRIDES + [option, "optim.warmup_epochs=0", "optim.lr=0.05",
                                              "schedule.epochs=10", "schedule.steps_per_epoch=4"])
    torch.manual_seed(0)
    tr = Trainer(cfg, str(tiny_shards), tmp_path / "run", progress=False)
    batch = _fixed_batch(cfg)
    results = [tr.train_step(batch) for _ in range(8)]
    losses = [r[0] for r in results]
    assert all(np.isfinite(losses)) and np.mean(losses[-3:]) < np.mean(losses[:3]), losses
    if "koleo" in option:
        assert all("koleo" in vals for _, vals in results)
    elif "sinkhorn" in option:
        assert torch.equal(tr.loss.center, torch.zeros_like(tr.loss.center))


def test_a_run_saved_before_an_option_existed_still_resumes(tiny_shards, tmp_path):
    import yaml

    from procmem.pretrain.train import recipe_changes, resumable_under

    cfg = load_config(None, TINY_OVERRIDES)
    old = {k: dict(v) for k, v in cfg.items()}
    del old["loss"]["koleo_weight"], old["loss"]["centering"]   # as an older procmem wrote it
    assert recipe_changes(old, cfg) == []
    assert recipe_changes(old, load_config(None, TINY_OVERRIDES + ["loss.koleo_weight=0.1"])) \
        == ["loss.koleo_weight"]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(old))
    assert resumable_under(tmp_path, cfg, str(tiny_shards))


def test_compiled_backbones_train_resume_and_export_like_eager(tiny_shards, tmp_path):
    """run.compile traces both backbones (aot_eager here: dynamo + autograd, no C++ build);
    weights keep their names, so checkpoints and exports are the eager ones."""
    from procmem.encoder.encoder import Encoder
    from procmem.pretrain.export import export_run

    cfg = load_config(None, TINY_OVERRIDES + ["run.compile=aot_eager", "schedule.max_steps=3"])
    result = pretrain(cfg, str(tiny_shards), tmp_path / "run", progress=False)
    assert result["step"] == 3 and np.isfinite(result["final_loss"])
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert not any("_orig_mod" in k for k in state["student"])
    export_run(tmp_path / "run", tmp_path / "enc")
    assert Encoder.load(tmp_path / "enc", device="cpu").embed(
        np.zeros((2, 16, 16, 3), np.uint8)).shape[0] == 2
