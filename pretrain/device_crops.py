"""DINO's multi-crop geometry for a whole batch on the training device (`data.process_on=device`).

The loader workers draw each image's crop boxes and flips (`draw_boxes`) with torchvision's
own RandomResizedCrop and RandomHorizontalFlip draws, in the order pretrain.augment.MultiCrop
makes them (global 1, global 2, then the locals; each a box then a flip), so the boxes are
the tensor backend's for the same torch seed. `crop` then resizes every box at once: an
antialiased bicubic resize of a box is separable, out = Wy @ box @ Wx^T, with PIL's filter
weights; the crop offset and the box size go into the two weight matrices, so one batched
matmul pair per view makes that view of every image. The weights are the fixed-point ones of
torch's uint8 kernel (which the tensor backend runs on the CPU) and each pass rounds as it
does, in float64, where those integer sums are exact: the crops are the tensor backend's.
Colour is then pretrain.photometric's (`augment.photometric=device`), as for the loader's
geometry-only crops (Caron et al. 2021, App. D).
"""

from __future__ import annotations

import torch
from torchvision.transforms import v2

from procmem.pretrain.augment import resized_crops

CUBIC_A = -0.5  # PIL's bicubic and torch's antialiased bicubic (the non-antialiased one uses -0.75)
TOLERANCE_LEVELS = 0
"""crop's uint8 crops differ from the tensor backend's (torchvision resized_crop, bicubic,
antialias, uint8 on the CPU) by at most this many levels per value: none, since both sum
the same integer weights exactly (tests/pretrain/test_device_path.py)."""


def _views(cfg: dict) -> list[tuple[v2.RandomResizedCrop, int]]:
    """MultiCrop's views in its order (its own RandomResizedCrops): 2 global, then the locals."""
    c = cfg["crops"]
    g, local = resized_crops(cfg)
    return [(g, c["global_size"])] * 2 + [(local, c["local_size"])] * c["local_number"]


class BoxDrawer:
    """`__call__(count, height, width)` -> int64 [count, views, 5] (top, left, h, w, flip):
    each image's crop boxes and flips, drawn from torch's RNG in MultiCrop's order."""

    def __init__(self, cfg: dict):
        self.views = _views(cfg)
        self.flip_p = float(cfg["augment"]["flip_p"])

    def __call__(self, count: int, height: int, width: int) -> torch.Tensor:
        probe = [torch.empty((3, height, width), dtype=torch.uint8)]
        out = torch.empty((count, len(self.views), 5), dtype=torch.int64)
        for i in range(count):
            for v, (rrc, _) in enumerate(self.views):
                p = rrc.make_params(probe)
                flip = bool(torch.rand(1) < self.flip_p)  # RandomHorizontalFlip: rand >= p keeps
                out[i, v] = torch.tensor([p["top"], p["left"], p["height"], p["width"], flip])
        return out


def view_sizes(cfg: dict) -> list[int]:
    """The output size of each view: 2 global, then the locals."""
    return [size for _, size in _views(cfg)]


def _cubic(x: torch.Tensor) -> torch.Tensor:
    x = x.abs()
    a = CUBIC_A
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = (((x - 5) * x + 8) * x - 4) * a
    return torch.where(x < 1, near, torch.where(x < 2, far, torch.zeros_like(x)))


def resize_weights(start: torch.Tensor, length: torch.Tensor, size: int, full: int) -> torch.Tensor:
    """[N, size, full] weights: row i of crop n resamples input pixels start..start+length-1 of
    a line of `full` pixels to output pixel i, as torch's antialiased bicubic (PIL's): support
    2 * max(scale, 1) around centre scale * (i + 0.5), truncated to the box and normalised."""
    dev = start.device
    scale = (length.double() / size)[:, None, None]  # [N, 1, 1]
    support = 2.0 * scale.clamp(min=1.0)
    inv = 1.0 / scale.clamp(min=1.0)
    centre = scale * (torch.arange(size, device=dev, dtype=torch.float64)[None, :, None] + 0.5)
    j = torch.arange(full, device=dev, dtype=torch.float64)[None, None, :] - start[:, None, None]
    lo = (centre - support + 0.5).trunc().clamp(min=0)
    hi = torch.minimum((centre + support + 0.5).trunc(), length[:, None, None].double())
    w = _cubic((j - centre + 0.5) * inv) * ((j >= lo) & (j < hi))
    total = w.sum(-1, keepdim=True)
    return w / torch.where(total == 0, torch.ones_like(total), total)


def fixed_point(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """torch's uint8 resize weights (aten's _compute_index_ranges_int16_weights): per crop the
    most bits p < 22 with w_max * 2^(p+1) rounding below 2^15, each weight rounded half away
    from zero to an integer multiple of 2^-p; as float64 integers [N, S, full] and p [N]."""
    w_max = w.flatten(1).amax(1)
    bits = torch.arange(22, device=w.device, dtype=torch.float64)
    fits = (0.5 + w_max[:, None] * torch.exp2(bits + 1)).floor() < 2 ** 15
    p = fits.cumprod(1).sum(1).double()  # the first p whose next step no longer fits
    v = w * torch.exp2(p)[:, None, None]
    return torch.where(v < 0, (v - 0.5).ceil(), (v + 0.5).floor()), p


def _pass(x: torch.Tensor, w_int: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """One separable pass of torch's uint8 kernel along x's last axis, exact in float64:
    (sum_j w_j v_j + 2^(p-1)) >> p, saturated to 0..255."""
    acc = torch.matmul(x, w_int.transpose(1, 2)[:, None])
    scale = torch.exp2(p)[:, None, None, None]
    return torch.floor((acc + scale / 2) / scale).clamp_(0, 255)


def crop(images: torch.Tensor, boxes: torch.Tensor, sizes: list[int]) -> list[torch.Tensor]:
    """images uint8 [N, 3, H, W] and their boxes [N, V, 5] -> uint8 crop groups view-major per
    size (as augment.collate_crops makes them): [view0 of every image, view1 of ...]."""
    n, _, h, w = images.shape
    x = images.double()
    boxes = boxes.to(images.device)
    groups: list[list[torch.Tensor]] = []
    last = None
    for v, size in enumerate(sizes):
        top, left, bh, bw, flip = boxes[:, v].unbind(1)
        wx, px = fixed_point(resize_weights(left, bw, size, w))  # [N, S, W]
        wy, py = fixed_point(resize_weights(top, bh, size, h))  # [N, S, H]
        rows = _pass(x, wx, px)  # horizontal first, as PIL and torch's uint8 kernel
        out = _pass(rows.transpose(2, 3), wy, py).transpose(2, 3)
        out = torch.where(flip.bool()[:, None, None, None], out.flip(3), out).to(torch.uint8)
        if size != last:
            groups.append([])
            last = size
        groups[-1].append(out)
    return [torch.cat(g) for g in groups]
