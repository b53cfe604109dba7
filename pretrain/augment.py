"""DINO's multi-crop augmentation, on uint8 image tensors (torchvision transforms v2).

Caron et al. 2021, App. D / dino's DataAugmentationDINO: 2 global crops (scale 0.4-1) and
N local crops (scale 0.05-0.4), each flipped, colour-jittered (0.4, 0.4, 0.2, 0.1; p 0.8),
greyed (p 0.2) and blurred (p 1.0 / 0.1 / 0.5); the second global crop is also solarised
(p 0.2). Crops stay uint8 (4x less to move between processes); `normalize` runs on the
training device, with the ImageNet mean/std dino uses.
"""

from __future__ import annotations

import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms import v2


def _blur(p: float, sigma: tuple[float, float]) -> v2.Transform:
    # PIL's GaussianBlur(radius) is a Gaussian of std radius; cover +-3 sigma of the largest.
    k = 2 * int(3 * sigma[1] + 0.5) + 1
    return v2.RandomApply([v2.GaussianBlur(kernel_size=k, sigma=tuple(sigma))], p=p)


class MultiCrop:
    """image uint8 [3, H, W] -> list of crops: 2 global (size G) then N local (size L)."""

    def __init__(self, cfg: dict):
        c, a = cfg["crops"], cfg["augment"]
        flip_jitter = [
            v2.RandomHorizontalFlip(p=a["flip_p"]),
            v2.RandomApply([v2.ColorJitter(*a["jitter"])], p=a["jitter_p"]),
            v2.RandomGrayscale(p=a["grey_p"]),
        ]
        bicubic = dict(interpolation=InterpolationMode.BICUBIC, antialias=True)
        g = v2.RandomResizedCrop(c["global_size"], scale=tuple(c["global_scale"]), **bicubic)
        sigma = tuple(a["blur_sigma"])
        self.global1 = v2.Compose([g, *flip_jitter, _blur(a["blur_p"][0], sigma)])
        self.global2 = v2.Compose([g, *flip_jitter, _blur(a["blur_p"][1], sigma),
                                   v2.RandomSolarize(threshold=128, p=a["solarize_p"])])
        self.local = v2.Compose([
            v2.RandomResizedCrop(c["local_size"], scale=tuple(c["local_scale"]), **bicubic),
            *flip_jitter, _blur(a["blur_p"][2], sigma)])
        self.local_number = c["local_number"]

    def __call__(self, image: torch.Tensor) -> list[torch.Tensor]:
        crops = [self.global1(image), self.global2(image)]
        crops += [self.local(image) for _ in range(self.local_number)]
        return crops


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


def normalize(x: torch.Tensor, mean: list[float], std: list[float]) -> torch.Tensor:
    """uint8 [B, 3, H, W] -> float32 (x / 255 - mean) / std, on x's device."""
    m = torch.tensor(mean, device=x.device, dtype=torch.float32).view(1, 3, 1, 1)
    s = torch.tensor(std, device=x.device, dtype=torch.float32).view(1, 3, 1, 1)
    return (x.float().div_(255.0) - m) / s
