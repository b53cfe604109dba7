"""The processes' arithmetic in torch, batched on any device, from draws made on the CPU.

The device data path (`data.process_on=device`): a loader worker renders a frame pool and
calls `plan`, which consumes the process rng exactly as `processes.make_images` does (which
frames each image uses, the K-means numbers of generators.torch_kmeans, the mixup partners
and Dirichlet weights) but touches no pixel; `compose` then makes the images from the pool
on the training device: KML masks (Rodriguez-Munoz et al. 2025: 2-means on s1's RGB, 3x3 box
blurs, composite), the kml-mixup mean, and shaders-mixup's Dirichlet mix (Baradad et al.
2022). The integer formulas of generators.compose (the K = 2 composite, the mean of uint8
images) are exact here too; what differs is float summation order, in K-means and the mixup.

Supported: the four processes with the options the training stream uses (any K, alpha,
mix, the K-means settings); `mask_res` below the image resolution is refused (the stream
never sets it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from procmem.generators import processes as pr
from procmem.generators import torch_kmeans as tk

TOLERANCE = {"max_level": 1, "min_share": 0.98, "max_swapped": 0.1}
"""How close `compose` comes to processes.make_images for the same pool and rng: per KML
image (or mixup part), at least `min_share` of the values within `max_level` uint8 levels of
numpy's, or, for at most `max_swapped` of them, of numpy's image with s1's two clusters in
the other order. Not exact because float sums run in another order (torch's matmul, cumsum
and reductions against numpy's): a centre moves in its last bits, so a pixel on a near-tie
of the 2-means takes the other label (its 5x5 neighbourhood in the blurred mask then moves
by up to 9/81 of |s2 - s3|) and a Dirichlet mix lands on the other side of a .5; and when
two of the n_init seedings reach the same partition with the labels in the other order,
their sample inertias differ by rounding only (~1e-7), so which one is kept is a coin toss
both ways (~4% of images on real renders): the texture that fills cluster 0 is then the other
one, an image as likely as numpy's. Measured in tests/generators/test_torch_compose.py."""


class DevicePathError(pr.ProcessError):
    """A process option the device data path does not implement."""


@dataclass
class Plan:
    """What `compose` needs besides the pool, all drawn on the CPU: the process, the image
    count, and per process the frames used (`s1` [P], `textures` [P, K], K-means `draws`
    per batch of processes.BATCH), kml-mixup's `parts` [count, mix], shaders-mixup's
    `frames` [count, mix] and `weights` [count, mix]."""

    process: str
    count: int
    options: pr.ProcessOptions
    s1: np.ndarray | None = None
    textures: np.ndarray | None = None
    draws: list | None = None
    parts: np.ndarray | None = None
    frames: np.ndarray | None = None
    weights: np.ndarray | None = None


def check(process: str, opts: pr.ProcessOptions, res: int) -> None:
    """Raise a DevicePathError for options `compose` does not implement."""
    pr.check_options(process, opts, res)
    if process in ("kml", "kml-mixup") and opts.mask_res not in (None, res):
        raise DevicePathError(f"--mask-res {opts.mask_res}: the device data path clusters s1 at "
                              "the image resolution only; leave mask_res unset or use "
                              "data.process_on=loader")


def _kml_plan(plan: Plan, pool_size: int, count: int, res: int, rng: np.random.Generator) -> None:
    """processes._kml_plans and the K-means draws of processes._kml_images, in their order."""
    opts = plan.options
    plans = pr._kml_plans(pool_size, np.arange(count), rng, opts.k)
    plan.s1 = np.array([p["s1"] for p in plans], np.int64)
    plan.textures = np.array([p["textures"] for p in plans], np.int64).reshape(count, opts.k)
    plan.draws = [tk.draw(rng, min(pr.BATCH, count - start), res * res, opts.k, opts.kmeans_sample)
                  for start in range(0, count, pr.BATCH)]


def plan(process: str, pool_size: int, count: int, res: int, rng: np.random.Generator,
         opts: pr.ProcessOptions = pr.ProcessOptions()) -> Plan:
    """The draws processes.make_images(process, pool, count, rng, opts) makes from rng, for a
    pool of `pool_size` frames of `res` pixels, without the pool."""
    check(process, opts, res)
    proc = pr.get_process(process)
    need = proc.pool_size(count, opts)
    if pool_size < need:
        raise pr.ProcessError(f"process {process}: pool of {pool_size} frames is too small for "
                              f"{count} images (needs {need})")
    p = Plan(process, count, opts)
    _device_steps(process)[0](p, pool_size, count, res, rng, proc.mix(opts))
    return p


def _plan_shaders(p: Plan, pool_size: int, count: int, res: int, rng, m: int) -> None:
    """Shaders.make draws nothing: the pool's first `count` frames are the images."""


def _plan_kml(p: Plan, pool_size: int, count: int, res: int, rng, m: int) -> None:
    _kml_plan(p, pool_size, count, res, rng)


def _plan_kml_mixup(p: Plan, pool_size: int, count: int, res: int, rng, m: int) -> None:
    _kml_plan(p, pool_size, pool_size, res, rng)
    parts = np.empty((count, m), np.int64)
    for i in range(count):  # as KMLMixup.make: partners differ from i
        others = rng.choice(pool_size - 1, m - 1, replace=False)
        parts[i] = [i] + [int(o + (o >= i)) for o in others]
    p.parts = parts


def _plan_shaders_mixup(p: Plan, pool_size: int, count: int, res: int, rng, m: int) -> None:
    p.frames = np.empty((count, m), np.int64)
    p.weights = np.empty((count, m), np.float32)
    for i in range(count):  # as ShadersMixup.make
        p.frames[i] = rng.choice(pool_size, m, replace=False)
        p.weights[i] = rng.dirichlet(np.full(m, p.options.alpha))


def _box_sum3(m: torch.Tensor) -> torch.Tensor:
    """3x3 box sum of [B, H, W, C] with edge padding (compose.box_sum3), in m's dtype."""
    h, w = m.shape[1], m.shape[2]
    rows = torch.arange(-1, h + 1, device=m.device).clamp_(0, h - 1)
    cols = torch.arange(-1, w + 1, device=m.device).clamp_(0, w - 1)
    p = m[:, rows][:, :, cols]
    r = p[:, :-2] + p[:, 1:-1] + p[:, 2:]
    return r[:, :, :-2] + r[:, :, 1:-1] + r[:, :, 2:]


def kml_images(pool: torch.Tensor, p: Plan) -> tuple[torch.Tensor, torch.Tensor]:
    """KML images uint8 [len(s1), H, W, 3] (compose.kml_masks + KMLMasks.image) and their
    K-means centres [len(s1), K, 3] (colours in 0..1)."""
    opts, k = p.options, p.options.k
    n, h, w = len(p.s1), pool.shape[1], pool.shape[2]
    dev = pool.device
    s1_all = torch.as_tensor(p.s1, device=dev)
    tex_all = torch.as_tensor(p.textures, device=dev)
    out = torch.empty((n, h, w, 3), dtype=torch.uint8, device=dev)
    all_centers = torch.empty((n, k, 3), dtype=torch.float32, device=dev)
    for chunk, start in enumerate(range(0, n, pr.BATCH)):
        rows = slice(start, start + pr.BATCH)
        s1 = pool[s1_all[rows]].reshape(-1, h * w, 3)
        centers = all_centers[rows] = tk.fit(s1, k, p.draws[chunk], iters=opts.kmeans_iters)
        labels = tk.assign(s1, centers).reshape(-1, h, w)
        onehot = labels[..., None] == torch.arange(k - 1, dtype=torch.uint8, device=dev)
        box = _box_sum3(_box_sum3(onehot.to(torch.int16)))  # 0..81, exact
        tex = pool[tex_all[rows]]  # [b, K, H, W, 3]
        if k == 2:  # compose._composite2: (v (t0 - t1) + 81 t1 + 40) // 81, exact
            t0, t1 = tex[:, 0].to(torch.int32), tex[:, 1].to(torch.int32)
            num = box[..., :1].to(torch.int32) * (t0 - t1) + 81 * t1 + 40
            out[rows] = torch.div(num, 81, rounding_mode="floor").to(torch.uint8)
            continue
        first = box.float() / 81.0
        soft = torch.cat([first, 1 - first.sum(-1, keepdim=True)], dim=-1)  # compose._soft_from_box
        acc = soft[..., 0, None] * tex[:, 0]
        for c in range(1, k):
            acc += soft[..., c, None] * tex[:, c]
        out[rows] = (acc + 0.5).to(torch.uint8)
    return out, all_centers


def mean_uint8(images: torch.Tensor) -> torch.Tensor:
    """compose.mean_uint8 over dim 1 of uint8 [N, M, ...], in integers (exact)."""
    m = images.shape[1]
    total = images.to(torch.int32).sum(1)
    if m == 2:
        return ((total + 1) >> 1).to(torch.uint8)
    return torch.div(2 * total + m, 2 * m, rounding_mode="floor").to(torch.uint8)


def compose(pool: torch.Tensor, p: Plan) -> torch.Tensor:
    """The plan's images, uint8 [count, H, W, 3], from the pool (uint8 [P, H, W, 3]) on its
    device: processes.make_images's images within TOLERANCE."""
    return _device_steps(p.process)[1](pool, p)


def _compose_shaders(pool: torch.Tensor, p: Plan) -> torch.Tensor:
    return pool[: p.count].clone()


def _compose_kml(pool: torch.Tensor, p: Plan) -> torch.Tensor:
    return kml_images(pool, p)[0]


def _compose_kml_mixup(pool: torch.Tensor, p: Plan) -> torch.Tensor:
    kml = kml_images(pool, p)[0]
    return mean_uint8(kml[torch.as_tensor(p.parts, device=pool.device)])


def _compose_shaders_mixup(pool: torch.Tensor, p: Plan) -> torch.Tensor:
    out = torch.empty((p.count,) + tuple(pool.shape[1:]), dtype=torch.uint8, device=pool.device)
    frames = torch.as_tensor(p.frames, device=pool.device)
    weights = torch.as_tensor(p.weights, device=pool.device)
    for start in range(0, p.count, pr.BATCH):
        rows = slice(start, start + pr.BATCH)
        f = pool[frames[rows]].float()  # [b, M, H, W, 3]
        mixed = (weights[rows, :, None, None, None] * f).sum(1)  # compose.mixup
        out[rows] = (mixed + 0.5).to(torch.uint8)  # compose.to_uint8
    return out


# The device path of each process of generators.processes.PROCESSES: (its draws, its pixels).
DEVICE_STEPS = {
    "shaders": (_plan_shaders, _compose_shaders),
    "kml": (_plan_kml, _compose_kml),
    "kml-mixup": (_plan_kml_mixup, _compose_kml_mixup),
    "shaders-mixup": (_plan_shaders_mixup, _compose_shaders_mixup),
}


def _device_steps(process: str):
    if process not in DEVICE_STEPS:
        raise DevicePathError(f"process {process!r} has no device composition; use "
                              f"data.process_on=loader, or one of {', '.join(DEVICE_STEPS)}")
    return DEVICE_STEPS[process]
