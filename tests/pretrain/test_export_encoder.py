"""Export a trained run, load it as an Encoder, embed real-shaped inputs; `procmem embed`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from procmem.cli import main
from procmem.core.hashing import sha256_file
from procmem.encoder.encoder import Encoder, EncoderError
from procmem.pretrain.config import load_config
from procmem.pretrain.train import pretrain
from tests.pretrain.tinydata import TINY_OVERRIDES, synthetic_image


@pytest.fixture(scope="module")
def exported(tiny_shards, tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    cfg = load_config(None, TINY_OVERRIDES + ["schedule.max_steps=3"])
    pretrain(cfg, str(tiny_shards), root / "run", progress=False)
    assert main(["pretrain", "export", str(root / "run"), "--out", str(root / "enc")]) == 0
    return root


def test_export_round_trip_matches_the_teacher(exported, tiny_shards):
    enc = Encoder.load(exported / "enc")
    meta = json.loads((exported / "enc.json").read_text())
    assert enc.dim == meta["embed_dim"] == 192 and enc.patch_size == 8 and enc.image_size == 32
    assert enc.fingerprint == sha256_file(exported / "enc.safetensors")
    assert meta["shard_manifest_sha256"] == sha256_file(tiny_shards / "manifest.json")
    assert meta["arch"] == "vit_tiny_patch16_224" and meta["training_config"]["optim"]["batch_size"] == 4
    rng = np.random.default_rng(0)
    images = np.stack([synthetic_image(rng, 48) for _ in range(5)])
    feats = enc.embed(images)
    assert feats.dtype == np.float32 and feats.shape == (5, 192)
    assert np.allclose(np.linalg.norm(feats, axis=1), 1, atol=1e-5)
    # the same as the checkpoint's teacher backbone on the same preprocessed input
    from procmem.pretrain.model import build_student_teacher

    ckpt = torch.load(exported / "run" / "checkpoint.pt", weights_only=True)
    _, teacher = build_student_teacher(ckpt["config"])
    teacher.load_state_dict(ckpt["teacher"])
    with torch.no_grad():
        ref = torch.nn.functional.normalize(teacher.backbone.eval()(enc.preprocess(images)), dim=-1)
    assert np.allclose(feats, ref.numpy(), atol=1e-5)
    # PIL images and grey arrays are accepted; patch tokens come back on the grid
    from PIL import Image

    pil = [Image.fromarray(im) for im in images[:2]]
    assert np.allclose(enc.embed(pil), feats[:2], atol=1e-5)
    assert enc.embed(images[..., 0]).shape == (5, 192)
    assert enc.patch_features(images[:2]).shape == (2, 4, 4, 192)


def test_random_encoder_is_seeded_and_named():
    a = Encoder.random("vit_tiny_patch16_224", 32, seed=1, patch_size=8, depth=1)
    b = Encoder.random("vit_tiny_patch16_224", 32, seed=1, patch_size=8, depth=1)
    c = Encoder.random("vit_tiny_patch16_224", 32, seed=2, patch_size=8, depth=1)
    assert a.fingerprint == "random:vit_tiny_patch16_224:32:1:depth=1:patch_size=8"
    x = np.random.default_rng(0).integers(0, 255, (2, 32, 32, 3), dtype=np.uint8)
    assert np.allclose(a.embed(x), b.embed(x)) and not np.allclose(a.embed(x), c.embed(x))


def test_bad_encoder_files_and_inputs(exported, tmp_path):
    with pytest.raises(EncoderError, match="missing.*pretrain export"):
        Encoder.load(tmp_path / "nothing")
    (tmp_path / "bad.safetensors").write_bytes(b"garbage" * 10)
    (tmp_path / "bad.json").write_text((exported / "enc.json").read_text())
    with pytest.raises(EncoderError, match="cannot be read"):
        Encoder.load(tmp_path / "bad")
    enc = Encoder.load(exported / "enc")
    with pytest.raises(EncoderError, match="uint8"):
        enc.embed(np.zeros((2, 8, 8, 3), np.float32))
    with pytest.raises(EncoderError, match="channels"):
        enc.embed(np.zeros((2, 8, 8, 5), np.uint8))


def test_embed_command_writes_a_loadable_npz(exported, tmp_path, capsys):
    from PIL import Image

    rng = np.random.default_rng(1)
    for c in ("cat", "dog"):
        (tmp_path / "real" / c).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(synthetic_image(rng, 24)).save(tmp_path / "real" / c / f"{i}.png")
    out = tmp_path / "feats.npz"
    argv = ["embed", "--model", str(exported / "enc"), "--data", str(tmp_path / "real"),
            "--out", str(out), "--batch-size", "4"]
    assert main(argv) == 0
    z = np.load(out, allow_pickle=False)
    assert z["features"].shape == (6, 192) and list(z["labels"]) == [0, 0, 0, 1, 1, 1]
    assert list(z["label_names"]) == ["cat", "dog"] and z["paths"][0].endswith("0.png")
    assert str(z["fingerprint"]) == sha256_file(exported / "enc.safetensors")
    (tmp_path / "real" / "dog" / "9.png").write_bytes(b"not a png")
    assert main(argv) == 2
    assert "9.png cannot be read" in capsys.readouterr().err


def test_pretrain_command_explains_missing_arguments(capsys):
    with pytest.raises(SystemExit) as e:
        main(["pretrain", "--out", "x"])
    assert e.value.code == 2 and "--data" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["pretrain", "train", "--help"])
    text = capsys.readouterr().out
    assert "DINO" in text and "procmem pretrain export RUN --out NAME" in text

