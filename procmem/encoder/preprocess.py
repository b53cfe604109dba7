"""Images as torch tensors for a backbone: any decoded image -> uint8 CHW, then normalised.

One conversion serves the training crops (pretrain.augment) and every encoder's input.
"""

from __future__ import annotations

import numpy as np
import torch

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


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
