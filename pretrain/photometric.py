"""DINO's colour augmentations on a whole batch on the training device (`augment.photometric=device`).

The loader's multi-crop (pretrain.augment) does the geometry (resized crops, flips) in CPU
workers either way. By default (`loader`, dino's way) it also colour-jitters, greys, blurs
and solarises each crop there, and those are ~60% of a worker's time (docs/benchmarks.md),
so on a GPU node the loader, not the GPU, bounds a paper-preset run. With `device`, the
workers stop after the geometry and `BatchPhotometric` applies the same augmentations here,
per sample, on the uint8 batch already on the GPU, with the same parameters and probabilities
as dino's DataAugmentationDINO:

- ColorJitter(0.4, 0.4, 0.2, 0.1) with p 0.8, its four adjustments in a random order per
  sample (torchvision's rule), each one torchvision's formula;
- RandomGrayscale p 0.2 (ITU-R 601 luma, as torchvision);
- Gaussian blur with p 1.0 / 0.1 / 0.5 (global 1, global 2, locals), sigma ~ U(0.1, 2.0) px,
  a separable kernel of radius 3 sigma_max, reflected at the border;
- Solarisation (threshold 128/255) with p 0.2 on the second global view only.

The arithmetic stays in float32 between steps (the loader path rounds to uint8 after
each), and its random numbers come from a generator seeded by (run seed, step, rank), so a
resumed run draws what the uninterrupted run drew.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

LUMA = (0.2989, 0.587, 0.114)  # torchvision rgb_to_grayscale


def grayscale(x: torch.Tensor) -> torch.Tensor:
    """[B, 3, H, W] float -> [B, 1, H, W] luma."""
    w = torch.tensor(LUMA, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True)


def _blend(x: torch.Tensor, other: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    return (factor * x + (1 - factor) * other).clamp_(0.0, 1.0)


def adjust_brightness(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    return (x * f).clamp(0.0, 1.0)


def adjust_contrast(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    return _blend(x, grayscale(x).mean(dim=(1, 2, 3), keepdim=True), f)


def adjust_saturation(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    return _blend(x, grayscale(x), f)


def adjust_hue(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """Hue rotated by f (a fraction of the colour wheel) per sample, through HSV as torchvision."""
    from torchvision.transforms.v2.functional._color import _hsv_to_rgb, _rgb_to_hsv

    hsv = _rgb_to_hsv(x)
    h = (hsv[:, :1] + f).remainder_(1.0)
    return _hsv_to_rgb(torch.cat([h, hsv[:, 1:]], dim=1))


ADJUSTMENTS = (adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue)


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor, radius: int) -> torch.Tensor:
    """Per-sample Gaussian blur: x [B, C, H, W], sigma [B] -> blurred, as one grouped conv."""
    b, c, h, w = x.shape
    t = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    k = torch.exp(-0.5 * (t[None] / sigma[:, None]) ** 2)
    k = (k / k.sum(dim=1, keepdim=True)).repeat_interleave(c, dim=0)  # [B*C, 2r+1]
    pad = min(radius, h - 1, w - 1)
    if pad < radius:  # a crop smaller than the kernel: trim the kernel's (tiny) tails
        k = k[:, radius - pad: radius + pad + 1]
        k = k / k.sum(dim=1, keepdim=True)
    y = F.pad(x.reshape(1, b * c, h, w), (pad, pad, pad, pad), mode="reflect")
    y = F.conv2d(y, k[:, None, None, :], groups=b * c)
    y = F.conv2d(y, k[:, None, :, None], groups=b * c)
    return y.reshape(b, c, h, w)


class BatchPhotometric:
    """`__call__(crops, step)`: uint8 crop groups (view-major, as collate_crops makes them) ->
    float32 groups in [0, 1] with dino's colour augmentations applied per sample."""

    def __init__(self, cfg: dict, batch: int, seed: int = 0, rank: int = 0):
        a = cfg["augment"]
        self.batch = batch
        self.jitter = [float(v) for v in a["jitter"]]
        self.jitter_p, self.grey_p = float(a["jitter_p"]), float(a["grey_p"])
        self.blur_p = [float(p) for p in a["blur_p"]]
        self.sigma = [float(s) for s in a["blur_sigma"]]
        self.radius = int(3 * self.sigma[1] + 0.5)
        self.solarize_p = float(a["solarize_p"])
        self.local_number = int(cfg["crops"]["local_number"])
        self.seed, self.rank = int(seed), int(rank)

    def generator(self, step: int, device: torch.device) -> torch.Generator:
        g = torch.Generator(device=device)
        g.manual_seed((self.seed * 1_000_003 + step) * 4099 + self.rank)
        return g

    def view_probabilities(self) -> tuple[list[float], list[float]]:
        """(blur p, solarise p) per view: global 1, global 2, then each local."""
        blur = [self.blur_p[0], self.blur_p[1]] + [self.blur_p[2]] * self.local_number
        solar = [0.0, self.solarize_p] + [0.0] * self.local_number
        return blur, solar

    def __call__(self, crops: list[torch.Tensor], step: int) -> list[torch.Tensor]:
        g = self.generator(step, crops[0].device)
        blur_p, solar_p = self.view_probabilities()
        out, first_view = [], 0
        for group in crops:
            views = len(group) // self.batch
            per_row = lambda p: torch.tensor(p[first_view:first_view + views],  # noqa: E731
                                             device=group.device).repeat_interleave(self.batch)
            out.append(self.apply(group.float().div_(255.0), per_row(blur_p), per_row(solar_p), g))
            first_view += views
        return out

    def apply(self, x: torch.Tensor, blur_p: torch.Tensor, solar_p: torch.Tensor,
              g: torch.Generator) -> torch.Tensor:
        """x float [N, 3, H, W] in [0, 1]; blur_p, solar_p [N] per-row probabilities."""
        n, dev = len(x), x.device
        u = lambda *shape: torch.rand(*shape, generator=g, device=dev)  # noqa: E731

        bri, con, sat, hue = self.jitter
        jitter = u(n) < self.jitter_p
        factors = [1 + bri * (2 * u(n) - 1), 1 + con * (2 * u(n) - 1),
                   1 + sat * (2 * u(n) - 1), hue * (2 * u(n) - 1)]
        order = torch.argsort(u(n, 4), dim=1)  # a random permutation of the 4 per sample
        for position in range(4):
            for op, (adjust, f) in enumerate(zip(ADJUSTMENTS, factors)):
                rows = torch.nonzero(jitter & (order[:, position] == op)).squeeze(1)
                if len(rows):
                    x[rows] = adjust(x[rows], f[rows].view(-1, 1, 1, 1))

        grey = torch.nonzero(u(n) < self.grey_p).squeeze(1)
        if len(grey):
            x[grey] = grayscale(x[grey]).expand(-1, 3, -1, -1)

        blur = u(n) < blur_p
        sigma = self.sigma[0] + (self.sigma[1] - self.sigma[0]) * u(n)
        rows = torch.nonzero(blur).squeeze(1)
        if len(rows):
            x[rows] = gaussian_blur(x[rows], sigma[rows], self.radius)

        solar = torch.nonzero(u(n) < solar_p).squeeze(1)
        if len(solar):
            s = x[solar]
            x[solar] = torch.where(s >= 128 / 255, 1.0 - s, s)
        return x
