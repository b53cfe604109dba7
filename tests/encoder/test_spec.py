"""Encoders behind one interface, specs, local timm weights, and the resumable feature cache."""

import numpy as np
import pytest

from procmem.encoder import spec as E
from procmem.encoder.errors import EncoderError
from procmem.encoder.pixels import PixelEncoder
from procmem.eval import features as F
from procmem.eval.datasets import LabelledImages


def _set(n=10, seed=0):
    rng = np.random.default_rng(seed)
    return LabelledImages("tiny", rng.integers(0, 255, (n, 12, 12, 3), dtype=np.uint8),
                          np.arange(n) % 2, ["a", "b"])


def test_pixel_encoder_interface():
    enc = E.make_encoder("pixels:8:4")
    x = _set().images
    f = enc.embed(x)
    assert f.shape == (10, enc.dim) and f.dtype == np.float32
    assert np.allclose(np.linalg.norm(f, axis=1), 1, atol=1e-5)
    assert enc.patch_features(x).shape == (10, 2, 2, 48)
    grey = enc.embed(x[..., 0])
    assert grey.shape == f.shape
    assert enc.name == "pixels-8" and enc.fingerprint == "pixels:8:4"


def test_pixel_encoder_gives_flat_images_a_unit_vector_a_memory_accepts(tmp_path):
    from procmem.memory.store import VisualMemory

    enc = E.make_encoder("pixels:8:4")
    images = _set(4).images
    images[0] = 0
    images[1] = 200
    f = enc.embed(images)
    assert np.allclose(np.linalg.norm(f, axis=1), 1, atol=1e-5)
    assert np.isclose(f[0] @ f[1], 1, atol=1e-5)  # flat images find each other
    assert abs(f[0] @ f[2]) < 1e-5  # and are unrelated to structured ones
    mem = VisualMemory.create(tmp_path / "m", dim=enc.dim, fingerprint=enc.fingerprint)
    mem.add(f, [0, 0, 1, 1])
    assert len(mem) == 4


@pytest.mark.parametrize("spec, match", [("resnet", "unknown encoder spec"),
                                         ("random:vit_tiny_patch16_224", "no export description"),
                                         ("random:vit_tiny_patch16_224:32", "bad encoder spec"),
                                         ("pixels:10:4", "multiple"),
                                         ("timm:vit_tiny_patch16_224:/nope.npz", "safetensors or a torch"),
                                         ("timm:vit_tiny_patch16_224:/nope.pt", "does not exist"),
                                         ("dino:/nope.safetensors", "a dino checkpoint is a torch file"),
                                         ("moco:", "bad encoder spec"),
                                         ("timm:vit_tiny_patch16_224:/nope.safetensors", "does not exist")])
def test_bad_specs_are_named(spec, match):
    with pytest.raises(EncoderError, match=match):
        E.make_encoder(spec)


def test_feature_cache_reused_and_resumed(tmp_path, monkeypatch):
    enc, data = PixelEncoder(8, 4), _set(10)
    calls = []
    real = enc.embed
    monkeypatch.setattr(enc, "embed", lambda x: calls.append(len(x)) or real(x))
    f1 = F.compute_features(enc, data, tmp_path, chunk=4, progress=False)
    assert calls == [4, 4, 2]
    path = F.cache_path(tmp_path, enc, data)
    assert path.is_file() and not list(tmp_path.glob("*.part*"))
    with np.load(path, allow_pickle=False) as z:
        assert str(z["encoder_fingerprint"]) == enc.fingerprint
    f2 = F.compute_features(enc, data, tmp_path, chunk=4, progress=False)
    assert calls == [4, 4, 2] and np.array_equal(f1, f2)      # reused, not recomputed
    # an interrupted run: merged file absent, first chunk done -> only the rest is computed
    path.unlink()
    F._save_npz(path.with_name(f"{path.stem}.part00000.npz"), features=f1[:4])
    f3 = F.compute_features(enc, data, tmp_path, chunk=4, progress=False)
    assert calls[3:] == [4, 2] and np.array_equal(f1, f3)
    # different data -> a different cache file
    assert F.cache_path(tmp_path, enc, _set(10, seed=1)) != path


def test_random_vit_and_local_timm_weights(random_vit, tmp_path):
    import timm
    import torch
    from safetensors.torch import save_file

    x = _set(4).images
    f = random_vit.embed(x)
    assert f.shape == (4, random_vit.dim)
    assert np.allclose(np.linalg.norm(f, axis=1), 1, atol=1e-4)
    assert random_vit.patch_features(x).shape == (4, 2, 2, random_vit.dim)
    assert random_vit.name.startswith("random-")
    # a timm model's weights in a local safetensors file (as from a hub download, done offline)
    torch.manual_seed(3)
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=32)
    w = tmp_path / "tiny.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(w))
    enc = E.make_encoder(f"timm:vit_tiny_patch16_224:{w}:32")
    model.reset_classifier(0)
    model.eval()
    with torch.no_grad():
        ref = enc.preprocess(list(x))
        want = torch.nn.functional.normalize(model(ref), dim=-1).numpy()
    assert np.allclose(enc.embed(x), want, atol=1e-5)
    assert enc.fingerprint != random_vit.fingerprint
    assert enc.name == f"timm-vit_tiny_patch16_224-tiny-{enc.fingerprint[:8]}"


def test_procmem_export_spec(random_vit, tmp_path):
    """An export in contract 5's layout loads through `procmem:<path>` and embeds identically."""
    import json

    from safetensors.torch import save_file

    from procmem.core.hashing import sha256_file

    w = tmp_path / "enc.safetensors"
    save_file({k: v.contiguous() for k, v in random_vit.model.state_dict().items()}, str(w))
    meta = dict(random_vit.meta, learned_from={"kind": "stream", "process": "kml-mixup"})
    (tmp_path / "enc.json").write_text(json.dumps(meta))
    enc = E.make_encoder(f"procmem:{tmp_path / 'enc'}")
    assert enc.fingerprint == sha256_file(w) and enc.name == "procmem-enc"
    x = _set(3).images
    assert np.allclose(enc.embed(x), random_vit.embed(x), atol=1e-5)
    with pytest.raises(Exception, match="missing"):
        E.make_encoder(f"procmem:{tmp_path / 'absent'}")
    # the export's own architecture at random init (seed 0 = random_vit's weights)
    like = E.make_encoder(f"random:{tmp_path / 'enc'}")
    assert like.fingerprint.startswith("random:vit_tiny_patch16_224:32")
    assert like.name == "random-like-enc-0"
    assert np.allclose(like.embed(x), random_vit.embed(x), atol=1e-5)
    with pytest.raises(EncoderError, match="no export description"):
        E.make_encoder(f"random:{tmp_path / 'absent'}")
