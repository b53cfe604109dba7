"""Image batches as numpy arrays: uint8 RGB stacks and resizing (PIL), with no torch.

The pixel baseline, the evaluation data sets and the demo resize through this one module.
"""

from __future__ import annotations

import numpy as np

from procmem.encoder.errors import EncoderError


def rgb_array(images) -> np.ndarray:
    """uint8 [N, H, W, 3] from an array or list (grey replicated to three channels)."""
    arr = np.stack([np.asarray(im) for im in images]) if isinstance(images, list) else np.asarray(images)
    if arr.dtype != np.uint8:
        raise EncoderError(f"images must be uint8 pixels, got {arr.dtype}")
    if arr.ndim == 3:
        arr = np.repeat(arr[..., None], 3, axis=-1)
    if arr.ndim != 4 or arr.shape[-1] not in (1, 3):
        raise EncoderError(f"images must be [N, H, W] or [N, H, W, 3], got shape {arr.shape}")
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    return arr


def resize_images(images, size: int | tuple[int, int], resample: str = "bilinear") -> np.ndarray:
    """Resize a batch (array or list of arrays) to `size` (int: square; tuple: (H, W)) with PIL."""
    from PIL import Image

    h, w = (size, size) if isinstance(size, int) else size
    mode = {"bilinear": Image.BILINEAR, "nearest": Image.NEAREST, "bicubic": Image.BICUBIC}[resample]
    out = []
    for im in images:
        im = np.asarray(im)
        if im.shape[:2] == (h, w):
            out.append(im)
        else:
            out.append(np.asarray(Image.fromarray(im).resize((w, h), mode)))
    return np.stack(out) if out else np.zeros((0, h, w, 3), np.uint8)
