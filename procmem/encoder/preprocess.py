"""Images as torch tensors for a backbone: any decoded image -> uint8 CHW, resized, cropped and
normalised as the encoder's preprocessing (a plain dict in its meta) says.

One conversion serves the training crops (pretrain.augment) and every encoder's input. The
preprocessing dict is data, not code, so it can be written to JSON and hashed into a fingerprint:
`{"resize": int, "resize_mode": "square" | "shorter_side", "interpolation": "bicubic" |
"bilinear", "crop": int, "mean": [3 floats], "std": [3 floats]}`.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from procmem.encoder.errors import EncoderError

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
RESIZE_MODES = ("square", "shorter_side")
INTERPOLATIONS = ("bicubic", "bilinear", "nearest")


def to_chw_uint8(img) -> torch.Tensor:
    """A decoded image (uint8 tensor CHW/HWC, numpy HWC/HW, or PIL) -> uint8 [3, H, W]."""
    if not isinstance(img, torch.Tensor):
        if hasattr(img, "convert") and img.mode != "RGB":
            img = img.convert("RGB")
        img = torch.from_numpy(np.array(img))
        if img.ndim == 2:
            img = img[..., None]
        img = img.permute(2, 0, 1)
    if img.ndim == 2:
        img = img[None]
    if img.shape[0] not in (1, 3) and img.shape[-1] in (1, 3):
        img = img.permute(2, 0, 1)
    if img.shape[0] == 1:
        img = img.expand(3, -1, -1)
    if img.dtype != torch.uint8:
        raise ValueError(f"expected uint8 image, got {img.dtype}")
    return img.contiguous()


def normalize(x: torch.Tensor, mean: list[float], std: list[float]) -> torch.Tensor:
    """uint8 [B, 3, H, W] (or float already in [0, 1]) -> float32 (x / 255 - mean) / std,
    on x's device."""
    m = torch.tensor(mean, device=x.device, dtype=torch.float32).view(1, 3, 1, 1)
    s = torch.tensor(std, device=x.device, dtype=torch.float32).view(1, 3, 1, 1)
    x = x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()
    return (x - m) / s


def square_resize(size: int, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> dict:
    """procmem's own encoders: the whole image resized to `size` x `size` (bicubic), no crop,
    as the training's global crops were fed."""
    return {"resize": int(size), "resize_mode": "square", "interpolation": "bicubic",
            "crop": int(size), "mean": [float(v) for v in mean], "std": [float(v) for v in std]}


def resize_centre_crop(resize: int = 256, crop: int = 224, interpolation: str = "bicubic",
                       mean=IMAGENET_MEAN, std=IMAGENET_STD) -> dict:
    """The shorter side resized to `resize`, then the centre `crop` x `crop`: the evaluation
    transform of dino's eval_knn.py (256 bicubic, 224; Caron et al. 2021) and MoCo's
    main_lincls.py (256 bilinear, 224; He et al. 2020)."""
    return {"resize": int(resize), "resize_mode": "shorter_side", "interpolation": interpolation,
            "crop": int(crop), "mean": [float(v) for v in mean], "std": [float(v) for v in std]}


def timm_eval(cfg: dict, size: int | None = None) -> dict:
    """timm's own evaluation transform from a model's pretrained_cfg (timm.data
    transforms_imagenet_eval): shorter side to floor(size / crop_pct), centre crop `size`;
    `crop_mode: squash` resizes the whole image instead."""
    size = int(size or cfg.get("input_size", (3, 224, 224))[-1])
    crop_pct = float(cfg.get("crop_pct") or 0.875)
    interpolation = cfg.get("interpolation") or "bicubic"
    if interpolation not in INTERPOLATIONS:
        interpolation = "bicubic"
    p = resize_centre_crop(math.floor(size / crop_pct), size, interpolation,
                           cfg.get("mean", IMAGENET_MEAN), cfg.get("std", IMAGENET_STD))
    if cfg.get("crop_mode") == "squash":
        p["resize_mode"] = "square"
    return p


def check_preprocess(p: dict) -> dict:
    """The dict itself when every field is usable; a clear error naming the field otherwise."""
    try:
        ok = (p["resize_mode"] in RESIZE_MODES and p["interpolation"] in INTERPOLATIONS
              and int(p["resize"]) > 0 and 0 < int(p["crop"])
              and len(p["mean"]) == 3 and len(p["std"]) == 3)
    except (KeyError, TypeError, ValueError) as e:
        raise EncoderError(f"preprocessing {p!r} lacks or mangles {e}; it needs resize, "
                           "resize_mode, interpolation, crop, mean and std") from None
    if not ok:
        raise EncoderError(f"preprocessing {p!r} is not usable: resize_mode one of {RESIZE_MODES}, "
                           f"interpolation one of {INTERPOLATIONS}, resize and crop > 0, "
                           "three means and stds")
    return p


def describe_preprocess(p: dict) -> str:
    """One line for people: `resize shorter side to 256 (bicubic), centre crop 224, ...`."""
    if p["resize_mode"] == "square" and p["resize"] == p["crop"]:
        what = f"resize to {p['resize']}x{p['resize']} ({p['interpolation']}), no crop"
    else:
        side = "shorter side to " if p["resize_mode"] == "shorter_side" else "to square "
        what = f"resize {side}{p['resize']} ({p['interpolation']}), centre crop {p['crop']}"
    fmt = lambda v: "(" + ", ".join(f"{x:.3f}" for x in v) + ")"  # noqa: E731
    return f"{what}, normalise mean {fmt(p['mean'])} std {fmt(p['std'])}"


def resize_and_crop(img: torch.Tensor, p: dict) -> torch.Tensor:
    """uint8 [3, H, W] -> uint8 [3, crop, crop] as `p` says (antialiased resize, then the centre)."""
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms.v2 import functional as TF

    mode = {"bicubic": InterpolationMode.BICUBIC, "bilinear": InterpolationMode.BILINEAR,
            "nearest": InterpolationMode.NEAREST}[p["interpolation"]]
    r, c = int(p["resize"]), int(p["crop"])
    h, w = img.shape[-2:]
    if p["resize_mode"] == "square":
        if (h, w) != (r, r):
            img = TF.resize(img, [r, r], interpolation=mode, antialias=True)
    elif min(h, w) != r:
        img = TF.resize(img, [r], interpolation=mode, antialias=True)
    if tuple(img.shape[-2:]) != (c, c):
        img = TF.center_crop(img, [c, c])
    return img
