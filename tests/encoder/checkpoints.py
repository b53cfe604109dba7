"""Checkpoints in other projects' exact layouts, built from small timm models (nothing downloads),
and the reference embedding: the timm model's own output on the same preprocessing by hand."""

from __future__ import annotations

import argparse

import numpy as np
import torch

IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])


def timm_model(arch: str, seed: int, **kwargs):
    import timm

    torch.manual_seed(seed)
    return timm.create_model(arch, pretrained=False, **kwargs).eval()


def fake_head(seed: int) -> dict:
    """A DINOHead's tensors (mlp + weight-normed last layer): present in the file, never loaded."""
    g = torch.Generator().manual_seed(seed)
    return {"mlp.0.weight": torch.randn(16, 192, generator=g), "mlp.0.bias": torch.zeros(16),
            "last_layer.weight_g": torch.ones(64, 1), "last_layer.weight_v": torch.randn(64, 16, generator=g)}


def dino_checkpoint(teacher, student, arch: str = "vit_tiny", patch_size: int = 16) -> dict:
    """main_dino.py's save_dict: the student wrapped in DDP (`module.`), the teacher not
    (dino wraps it only with batch norms), both in MultiCropWrapper (`backbone.`, `head.`)."""
    def wrapped(model, prefix, seed):
        sd = {f"{prefix}backbone.{k}": v for k, v in model.state_dict().items() if not k.startswith("head.")}
        return {**sd, **{f"{prefix}head.{k}": v for k, v in fake_head(seed).items()}}

    args = argparse.Namespace(arch=arch, patch_size=patch_size, out_dim=64, norm_last_layer=True,
                              global_crops_scale=(0.4, 1.0), local_crops_number=8,
                              data_path="/datasets/imagenet/train", output_dir="/runs/dino", seed=0)
    return {"student": wrapped(student, "module.", 1), "teacher": wrapped(teacher, "", 2),
            "optimizer": {"state": {}, "param_groups": [{"lr": 5e-4, "params": [0, 1]}]},
            "epoch": 7, "args": args, "dino_loss": {"center": torch.zeros(1, 64)},
            "fp16_scaler": {"scale": 65536.0, "growth_factor": 2.0}}


def moco_checkpoint(query, key, version: int = 2, arch: str = "resnet18") -> dict:
    """main_moco.py's checkpoint as shaders21k saved it: query and key encoders under DDP's
    `module.` (v1/v2 `encoder_q`/`encoder_k`, v3 `base_encoder`/`momentum_encoder`), the
    projection MLP as `fc`, the queue, and shaders21k's extra info (a tensor accuracy)."""
    q, k = ("encoder_q", "encoder_k") if version == 2 else ("base_encoder", "momentum_encoder")
    mlp = {"fc.0.weight": torch.randn(32, 512), "fc.0.bias": torch.zeros(32),
           "fc.2.weight": torch.randn(8, 32), "fc.2.bias": torch.zeros(8)}
    body = {n: v for n, v in query.state_dict().items() if not n.startswith("fc.")}
    sd = {f"module.{q}.{n}": v for n, v in {**body, **mlp}.items()}
    sd |= {f"module.{k}.{n}": v for n, v in key.state_dict().items()}
    if version == 2:
        sd |= {"module.queue": torch.randn(8, 16), "module.queue_ptr": torch.zeros(1, dtype=torch.long)}
    return {"epoch": 200, "arch": arch, "state_dict": sd,
            "optimizer": {"state": {}, "param_groups": [{"lr": 0.03, "params": [0]}]},
            "accuracy_1": torch.tensor(91.5), "total_ii": 1000, "wandb_run_id": None}


def images(n: int = 3, seed: int = 0) -> np.ndarray:
    """Non-square uint8 photos-to-be: every resize and crop does something."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (n, 6, 8, 3), dtype=np.uint8)
    return np.repeat(np.repeat(base, 6, axis=1), 6, axis=2)  # [n, 36, 48, 3], some structure


def reference(model, imgs, resize: int, crop: int, interpolation: str, mean, std) -> np.ndarray:
    """The model's own unit-norm features on: shorter side -> resize, centre crop, normalise."""
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms.v2 import functional as TF

    mode = {"bicubic": InterpolationMode.BICUBIC, "bilinear": InterpolationMode.BILINEAR}[interpolation]
    x = []
    for im in imgs:
        t = torch.from_numpy(np.ascontiguousarray(im)).permute(2, 0, 1)
        t = TF.center_crop(TF.resize(t, [resize], interpolation=mode, antialias=True), [crop, crop])
        x.append(t)
    x = torch.stack(x).float() / 255
    x = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    model.reset_classifier(0)
    with torch.no_grad():
        return torch.nn.functional.normalize(model.eval()(x), dim=-1).numpy()
