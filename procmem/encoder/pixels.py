"""The raw-pixel encoder: the baseline every learned encoder must beat."""

from __future__ import annotations

import numpy as np

from procmem.encoder.errors import EncoderError
from procmem.encoder.images import resize_images, rgb_array


class PixelEncoder:
    """Raw pixels: resize to `size` x `size`, flatten, centre and L2-normalise.

    A flat image (one colour) centres to zero; it gets the constant unit vector instead,
    which is orthogonal to every centred image and identical for all flat images, so a
    memory can store it (zero vectors are refused) and blank images find each other.

    Patch features are the raw RGB values of each `patch` x `patch` cell of the resized image
    (the "RGB" baseline of Rodriguez-Munoz et al. 2025, Table 2), scaled to [0, 1].
    """

    def __init__(self, size: int = 32, patch: int = 4):
        if size % patch:
            raise EncoderError(f"pixel encoder: size {size} is not a multiple of patch {patch}")
        self.size, self.patch = size, patch
        self.name = f"pixels-{size}"
        self.fingerprint = f"pixels:{size}:{patch}"
        self.dim = size * size * 3

    def embed(self, images) -> np.ndarray:
        x = resize_images(rgb_array(images), self.size).reshape(len(images), -1).astype(np.float32)
        x -= x.mean(axis=1, keepdims=True)
        n = np.linalg.norm(x, axis=1, keepdims=True)
        flat = n[:, 0] < 1e-6
        x[flat] = 1.0
        n[flat] = np.sqrt(self.dim)
        return x / n

    def patch_features(self, images) -> np.ndarray:
        x = resize_images(rgb_array(images), self.size).astype(np.float32) / 255.0
        g, p = self.size // self.patch, self.patch
        x = x.reshape(len(x), g, p, g, p, 3).transpose(0, 1, 3, 2, 4, 5)
        return np.ascontiguousarray(x.reshape(len(x), g, g, p * p * 3))
