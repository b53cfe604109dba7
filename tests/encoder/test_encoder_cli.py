"""`procmem encoder info` and `procmem encoder convert`: a foreign checkpoint becomes a procmem
export with the same fingerprint and identical embeddings; memories and `embed` take any spec."""

from __future__ import annotations

import json

import numpy as np
import pytest

from procmem.cli import main
from procmem.core.hashing import sha256_file
from procmem.encoder.spec import make_encoder
from tests.encoder.checkpoints import images


def test_info_names_architecture_preprocessing_fingerprint_and_origin(dino, capsys):
    path, _, _ = dino
    assert main(["encoder", "info", f"dino:{path}"]) == 0
    out = capsys.readouterr().out
    enc = make_encoder(f"dino:{path}")
    assert "vit_tiny_patch16_224" in out and "5,5" in out  # ViT-Ti: 5.5M parameters
    assert "resize shorter side to 256 (bicubic), centre crop 224" in out
    assert enc.fingerprint in out and "192 floats" in out
    assert f"dino file {path.resolve()}" in out and "checkpoint_key teacher, epoch 7" in out
    assert main(["encoder", "info", f"dino:{path}:student", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["embedding_width"] == 192 and info["weights_from"]["checkpoint_key"] == "student"
    assert info["preprocessing"]["crop"] == 224 and info["parameters"] > 5_000_000
    assert main(["encoder", "info", "pixels:16:4", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["embedding_width"] == 768


@pytest.mark.parametrize("spec", ["dino", "moco"])
def test_convert_round_trips_to_identical_embeddings_and_fingerprint(dino, moco, tmp_path, capsys, spec):
    source = f"dino:{dino[0]}" if spec == "dino" else f"moco:{moco[0] / 'checkpoint_0199.pth.tar'}"
    out = tmp_path / "exports" / "conv"
    assert main(["encoder", "convert", source, "--out", str(out)]) == 0
    assert f"procmem:{out}" in capsys.readouterr().out
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["learned_from"]["kind"] == "foreign" and meta["learned_from"]["spec"] == source
    assert meta["learned_from"]["format"] == spec and meta["source"] == "procmem encoder convert"
    for key in ("arch", "timm_kwargs", "image_size", "patch_size", "embed_dim", "mean", "std",
                "preprocess", "weights_sha256"):
        assert key in meta, key
    original, loaded = make_encoder(source), make_encoder(f"procmem:{out}")
    x = images(3, seed=2)
    assert np.array_equal(original.embed(x), loaded.embed(x))
    assert loaded.fingerprint == original.fingerprint == sha256_file(out.with_suffix(".safetensors"))
    assert loaded.preprocessing == original.preprocessing
    # the export's own architecture at random init keeps its preprocessing, and says so
    like = make_encoder(f"random:{out}")
    assert like.preprocessing == original.preprocessing and ":preprocess=" in like.fingerprint
    assert like.embed(x).shape == (3, original.dim)


def test_a_memory_built_with_a_checkpoint_accepts_its_converted_export(dino, tmp_path):
    from PIL import Image

    from procmem.memory.embeddings import embed_folder
    from procmem.memory.store import VisualMemory

    for c, imgs in (("a", images(2, 3)), ("b", images(2, 4))):
        (tmp_path / "real" / c).mkdir(parents=True)
        for i, im in enumerate(imgs):
            Image.fromarray(im).save(tmp_path / "real" / c / f"{i}.png")
    emb = embed_folder(f"dino:{dino[0]}", tmp_path / "real")
    assert emb.features.shape == (4, 192) and list(emb.label_names) == ["a", "b"]
    assert main(["encoder", "convert", f"dino:{dino[0]}", "--out", str(tmp_path / "conv")]) == 0
    again = embed_folder(f"procmem:{tmp_path / 'conv'}", tmp_path / "real")
    with VisualMemory.create(tmp_path / "mem", dim=192, fingerprint=emb.fingerprint) as mem:
        mem.add(emb.features, emb.labels, fingerprint=emb.fingerprint)
        sims, ids = mem.search(again.features, 1, fingerprint=again.fingerprint)
    assert list(ids[:, 0]) == [0, 1, 2, 3] and np.allclose(sims[:, 0], 1, atol=1e-5)


def test_convert_refuses_what_is_procmems_own(random_vit, capsys):
    assert main(["encoder", "convert", "pixels", "--out", "never"]) == 2
    assert "nothing to convert" in capsys.readouterr().err
    assert main(["encoder", "info", "dino:/absent/checkpoint.pth"]) == 2
    assert "does not exist" in capsys.readouterr().err
