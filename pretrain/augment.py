"""DINO's multi-crop augmentation (torchvision transforms v2), returning uint8 crops.

Caron et al. 2021, App. D / dino's DataAugmentationDINO: 2 global crops (scale 0.4-1) and
N local crops (scale 0.05-0.4), each flipped, colour-jittered (0.4, 0.4, 0.2, 0.1; p 0.8),
greyed (p 0.2) and blurred (p 1.0 / 0.1 / 0.5); the second global crop is also solarised
(p 0.2). Crops stay uint8 (4x less to move between processes); `normalize` runs on the
training device, with the ImageNet mean/std dino uses.

Two backends run the same transforms. `pil` (default) is dino's own: PIL images, PIL's
GaussianBlur(radius) and PIL's HSV hue shift; 1.43x faster per image on one core
(docs/benchmarks.md), which matters because the loader, not the GPU, bounds a paper-preset
run. `tensor` runs them on uint8 tensors (a truncated Gaussian kernel for the blur).
"""

from __future__ import annotations

import numpy as np
import torch
from torchvision.transforms import InterpolationMode, v2

from procmem.encoder.preprocess import to_chw_uint8


class PILGaussianBlur(torch.nn.Module):
    """dino utils.GaussianBlur: PIL's GaussianBlur with radius ~ U(sigma) (drawn from torch's RNG)."""

    def __init__(self, sigma: tuple[float, float]):
        super().__init__()
        self.sigma = sigma

    def forward(self, img):
        from PIL import ImageFilter

        radius = float(torch.empty(()).uniform_(*self.sigma))
        return img.filter(ImageFilter.GaussianBlur(radius=radius))


def _blur(p: float, sigma: tuple[float, float], backend: str) -> v2.Transform:
    if backend == "pil":
        return v2.RandomApply([PILGaussianBlur(tuple(sigma))], p=p)
    # PIL's GaussianBlur(radius) is a Gaussian of std radius; cover +-3 sigma of the largest.
    k = 2 * int(3 * sigma[1] + 0.5) + 1
    return v2.RandomApply([v2.GaussianBlur(kernel_size=k, sigma=tuple(sigma))], p=p)


def resized_crops(cfg: dict) -> tuple[v2.RandomResizedCrop, v2.RandomResizedCrop]:
    """The global and the local RandomResizedCrop (bicubic, antialiased) of `cfg["crops"]`."""
    c = cfg["crops"]
    bicubic = dict(interpolation=InterpolationMode.BICUBIC, antialias=True)
    return (v2.RandomResizedCrop(c["global_size"], scale=tuple(c["global_scale"]), **bicubic),
            v2.RandomResizedCrop(c["local_size"], scale=tuple(c["local_scale"]), **bicubic))


class MultiCrop:
    """image (PIL, uint8 tensor or numpy array) -> list of uint8 [3, S, S] crops: 2 global, N local."""

    def __init__(self, cfg: dict):
        c, a = cfg["crops"], cfg["augment"]
        self.backend = backend = a["backend"]
        # augment.photometric=device: only the geometry here; pretrain.photometric does the rest
        colour = a["photometric"] == "loader"
        flip_jitter = [v2.RandomHorizontalFlip(p=a["flip_p"])]
        if colour:
            flip_jitter += [v2.RandomApply([v2.ColorJitter(*a["jitter"])], p=a["jitter_p"]),
                            v2.RandomGrayscale(p=a["grey_p"])]
        g, local = resized_crops(cfg)
        sigma = tuple(a["blur_sigma"])
        blur = [_blur(p, sigma, backend) for p in a["blur_p"]] if colour else [None] * 3
        solarize = v2.RandomSolarize(threshold=128, p=a["solarize_p"]) if colour else None
        keep = lambda ts: v2.Compose([t for t in ts if t is not None])  # noqa: E731
        self.global1 = keep([g, *flip_jitter, blur[0]])
        self.global2 = keep([g, *flip_jitter, blur[1], solarize])
        self.local = keep([local, *flip_jitter, blur[2]])
        self.local_number = c["local_number"]

    def as_input(self, image):
        """A decoded image (PIL, uint8 tensor or numpy array) as this backend takes it: an RGB
        PIL image for `pil`, uint8 [3, H, W] for `tensor`, converting no more than needed."""
        if hasattr(image, "convert"):
            if image.mode != "RGB":
                image = image.convert("RGB")
            return image if self.backend == "pil" else to_chw_uint8(image)
        if self.backend == "tensor":
            return to_chw_uint8(image)
        from PIL import Image

        if isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 \
                and image.shape[-1] == 3:
            return Image.fromarray(image)
        return Image.fromarray(to_chw_uint8(image).permute(1, 2, 0).numpy())

    def __call__(self, image) -> list[torch.Tensor]:
        image = self.as_input(image)
        crops = [self.global1(image), self.global2(image)]
        crops += [self.local(image) for _ in range(self.local_number)]
        return [to_chw_uint8(c) for c in crops] if self.backend == "pil" else crops


def collate_crops(samples: list[list[torch.Tensor]]) -> list[torch.Tensor]:
    """Per-sample crop lists -> one uint8 tensor per crop size, view-major.

    Views of equal size are concatenated ([view0 of every sample, view1 of every sample,
    ...]) so the backbone runs once per size, as dino's MultiCropWrapper does.
    """
    nviews = len(samples[0])
    groups: list[list[torch.Tensor]] = []
    last_size = None
    for v in range(nviews):
        size = tuple(samples[0][v].shape[-2:])
        if size != last_size:
            groups.append([])
            last_size = size
        groups[-1].append(torch.stack([s[v] for s in samples]))
    return [torch.cat(g) for g in groups]


