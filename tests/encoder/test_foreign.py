"""dino, MoCo and timm checkpoints in their projects' own layouts, loaded through the spec
grammar: embeddings equal the timm model's own on the source's preprocessing; unsafe or
mis-shaped files are refused naming why."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from procmem.encoder.errors import EncoderError
from procmem.encoder.spec import make_encoder
from tests.encoder.checkpoints import IMAGENET, images, reference, timm_model


def test_dino_teacher_by_default_and_student_on_dinos_eval_preprocessing(dino):
    path, teacher, student = dino
    x = images()
    enc = make_encoder(f"dino:{path}")
    want = reference(teacher, x, 256, 224, "bicubic", *IMAGENET)
    assert enc.dim == 192 and enc.image_size == 224
    assert np.allclose(enc.embed(x), want, atol=1e-5)
    assert np.allclose(make_encoder(f"dino:{path}:teacher").embed(x), want, atol=1e-5)
    stu = make_encoder(f"dino:{path}:student")
    assert np.allclose(stu.embed(x), reference(student, x, 256, 224, "bicubic", *IMAGENET), atol=1e-5)
    assert enc.name.startswith("dino-vit_tiny-teacher-checkpoint-")
    assert stu.name.startswith("dino-vit_tiny-student-checkpoint-") and stu.name != enc.name
    assert stu.fingerprint != enc.fingerprint and len(enc.fingerprint) == 64
    p = enc.meta["preprocess"]
    got = (p["resize"], p["resize_mode"], p["interpolation"], p["crop"])
    assert got == (256, "shorter_side", "bicubic", 224)
    origin = enc.meta["learned_from"]
    assert origin["kind"] == "foreign" and origin["format"] == "dino" and origin["epoch"] == 7
    assert origin["train_args"]["data_path"] == "/datasets/imagenet/train"
    assert enc.patch_features(x[:1]).shape == (1, 14, 14, 192)


def test_dino_matches_dinos_own_pil_transform(dino):
    """eval_knn.py's transform on PIL (Resize(256, bicubic), CenterCrop(224), ImageNet norm):
    the same convention, up to PIL's and torch's resampling rounding."""
    from PIL import Image
    from torchvision import transforms as T

    path, teacher, _ = dino
    x = images(seed=1)
    tf = T.Compose([T.Resize(256, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(224),
                    T.ToTensor(), T.Normalize(*IMAGENET)])
    with torch.no_grad():
        ref = torch.nn.functional.normalize(teacher(torch.stack([tf(Image.fromarray(i)) for i in x])), dim=-1)
    cos = (make_encoder(f"dino:{path}").embed(x) * ref.numpy()).sum(1)
    assert cos.min() > 0.99


def test_moco_v2_and_v3_query_encoder_without_projection_head(moco):
    root, query = moco
    x = images(2)
    enc = make_encoder(f"moco:{root / 'checkpoint_0199.pth.tar'}")
    assert enc.dim == 512 and enc.meta["arch"] == "resnet18"
    assert np.allclose(enc.embed(x), reference(query, x, 256, 224, "bilinear", *IMAGENET), atol=1e-5)
    assert enc.name.startswith("moco-resnet18-checkpoint_0199-")
    v3 = make_encoder(f"moco:{root / 'v3.pth.tar'}")
    assert v3.fingerprint == enc.fingerprint  # same weights and preprocessing, other layout
    assert enc.patch_features(x).shape == (2, 7, 7, 512)  # a CNN's last feature map
    assert make_encoder(f"moco:{root / 'v3.pth.tar'}:resnet18").fingerprint == enc.fingerprint


def test_timm_pth_pt_and_safetensors_with_timms_preprocessing(tmp_path):
    import argparse

    from safetensors.torch import save_file

    model = timm_model("vit_tiny_patch16_224", 5, img_size=32)
    sd = model.state_dict()
    torch.save(sd, tmp_path / "plain.pth")
    ddp = {f"module.{k}": v for k, v in sd.items()}  # timm's train.py: DDP names, args, version
    torch.save({"epoch": 3, "arch": "vit_tiny_patch16_224", "state_dict": ddp, "version": 2,
                "args": argparse.Namespace(model="vit_tiny_patch16_224", lr=0.1)}, tmp_path / "train.pt")
    save_file({k: v.contiguous() for k, v in sd.items()}, str(tmp_path / "w.safetensors"))
    x = images(2)
    # pretrained_cfg of vit_tiny_patch16_224: crop_pct 0.9, bicubic, mean = std = 0.5
    want = reference(model, x, int(32 / 0.9), 32, "bicubic", [0.5] * 3, [0.5] * 3)
    encs = [make_encoder(f"timm:vit_tiny_patch16_224:{tmp_path / f}:32")
            for f in ("plain.pth", "train.pt", "w.safetensors")]
    for enc in encs:
        assert np.allclose(enc.embed(x), want, atol=1e-5)
    assert len({e.fingerprint for e in encs}) == 1  # one network, whatever the file format
    assert encs[0].name.startswith("timm-vit_tiny_patch16_224-plain-")
    assert encs[0].name != encs[2].name  # two files, two table rows
    resnet = timm_model("resnet18", 6)
    torch.save(resnet.state_dict(), tmp_path / "r.pth")
    enc = make_encoder(f"timm:resnet18:{tmp_path / 'r.pth'}")  # classifier `fc` dropped
    assert np.allclose(enc.embed(x), reference(resnet, x, int(224 / 0.95), 224, "bicubic", *IMAGENET),
                       atol=1e-5)


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return exec, (f"open({str(marker)!r}, 'w').write('ran')",)

    sd = timm_model("resnet18", 0).state_dict()
    torch.save({"state_dict": sd, "arch": "resnet18", "hook": Payload()}, tmp_path / "evil.pth")
    for spec in (f"timm:resnet18:{tmp_path / 'evil.pth'}", f"moco:{tmp_path / 'evil.pth'}"):
        with pytest.raises(EncoderError, match=r"refused.*builtins\.exec.*safetensors"):
            make_encoder(spec)
    assert not marker.exists()


@pytest.mark.parametrize("edit, match", [
    (lambda c: c.pop("teacher"), r"no 'teacher' entry \(it holds student, optimizer"),
    (lambda c: c.pop("args"), "no 'args' naming the architecture"),
    (lambda c: c.update(teacher={k.removeprefix("backbone."): v for k, v in c["teacher"].items()}),
     r"no 'backbone\.' weights"),
    (lambda c: c.update(args=c["args"].__class__(arch="vit_small", patch_size=16)),
     r"does not fit vit_small -> timm vit_small_patch16_224.*size mismatch"),
    (lambda c: c.update(args=c["args"].__class__(arch="convnext_mystery")), "no timm counterpart"),
    (lambda c: c["teacher"].pop("backbone.norm.weight"), r"missing \['norm.weight'\]"),
])
def test_a_wrong_dino_layout_names_what_is_missing(dino, tmp_path, edit, match):
    path, _, _ = dino
    ckpt = torch.load(path, weights_only=False)
    edit(ckpt)
    torch.save(ckpt, tmp_path / "bad.pth")
    with pytest.raises(EncoderError, match=match):
        make_encoder(f"dino:{tmp_path / 'bad.pth'}")


def test_wrong_moco_layouts_and_files_are_named(moco, tmp_path):
    root, _ = moco
    ckpt = torch.load(root / "checkpoint_0199.pth.tar", weights_only=False)
    renamed = {k.replace("encoder_q", "online"): v for k, v in ckpt["state_dict"].items()}
    torch.save({**ckpt, "state_dict": renamed}, tmp_path / "noq.pth")
    torch.save({k: v for k, v in ckpt.items() if k != "arch"}, tmp_path / "noarch.pth")
    torch.save({**ckpt, "arch": "vit_small"}, tmp_path / "vit.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint" * 8)
    (tmp_path / "w.onnx").write_bytes(b"x")
    cases = [(f"moco:{tmp_path / 'noq.pth'}", r"no query encoder.*module\.encoder_q\."),
             (f"moco:{tmp_path / 'noarch.pth'}", "moco:FILE:<arch>"),
             (f"moco:{tmp_path / 'vit.pth'}", "ResNet checkpoints"),
             (f"dino:{root / 'checkpoint_0199.pth.tar'}", "no 'teacher' entry"),
             (f"moco:{tmp_path / 'junk.pth'}", "not a readable torch checkpoint"),
             (f"timm:resnet18:{tmp_path / 'w.onnx'}", r"not \.onnx"),
             (f"dino:{tmp_path / 'absent.pth'}", "does not exist"),
             (f"timm:resnet18:{root / 'checkpoint_0199.pth.tar'}", "does not fit timm resnet18: missing"),
             ("dino:a.pth:b.pth:teacher", "bad encoder spec")]
    for spec, match in cases:
        with pytest.raises(EncoderError, match=match):
            make_encoder(spec)
