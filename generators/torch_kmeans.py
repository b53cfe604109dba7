"""generators.kmeans in torch, on any device, from random numbers drawn beforehand with numpy.

The device data path (`data.process_on=device`) keeps every random draw where the numpy
path makes it, on the CPU, so that both paths consume one rng identically, and moves the
arithmetic (the k-means++ seeding on the sample, Lloyd iterations, labelling every pixel)
onto the training device. K-means draws a data-independent number of values (sample
indices, a first centre, then per further centre uniform numbers and fall-back indices), so
`draw` makes them without the pixels, in generators.kmeans's order; `fit` and `assign`
repeat kmeans.kmeans's formulas in float32 (Rodriguez-Munoz et al. 2025 cluster s1's RGB
pixels with 2-means). Sums run in another order than numpy's, so a centre can differ in
its last bits and a pixel on a near-tie can take the other label (see
generators.torch_compose.TOLERANCE).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from procmem.generators import kmeans as km


@dataclass
class Draws:
    """One batch's k-means random numbers: sample indices [B, S] into each set's N points
    (None: fit on all points), the first k-means++ centre [B * n_init], and per further
    centre the uniform numbers [B * n_init, T] and the fall-back indices [B * n_init, T]."""

    sample: np.ndarray | None
    first: np.ndarray
    uniform: list[np.ndarray]
    fallback: list[np.ndarray]


def draw(rng: np.random.Generator, b: int, n: int, k: int, sample: int | None = km.DEFAULT_SAMPLE,
         n_init: int = km.DEFAULT_N_INIT) -> Draws:
    """The values kmeans.kmeans(points [b, n, D], k, rng, sample, n_init=n_init) draws from
    rng (k-means++ seeding), in its order, without the points."""
    idx = None
    s = n
    if sample is not None and sample < n:
        idx, s = rng.integers(0, n, (b, sample)), sample
    runs = b * n_init
    trials = 2 + int(np.log(k))
    first = rng.integers(0, s, runs)
    uniform, fallback = [], []
    for _ in range(1, k):
        uniform.append(rng.random((runs, trials)))
        fallback.append(rng.integers(0, s, (runs, trials)))
    return Draws(idx, first, uniform, fallback)


def as_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 colours as v / 255 in float32 (kmeans.as_float), anything else cast."""
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()


def _sq_dist_to(x: torch.Tensor, xx: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Squared distances [B, T, S] from x [B, S, D] (|x|^2 = xx) to c [B, T, D]."""
    d = torch.matmul(c, x.transpose(1, 2)).mul_(-2.0)
    d += xx[:, None, :]
    d += (c * c).sum(-1)[:, :, None]
    return d.clamp_(min=0)


def nearest(x: torch.Tensor, c: torch.Tensor, dist: bool = False):
    """(labels [B, N] uint8, the distance term |c|^2 - 2 x.c at that centre or None): K = 2
    by one projection on c1 - c0 when no distance is wanted, else a running minimum (the
    first centre wins a tie), as kmeans._nearest."""
    cc = (c * c).sum(-1)
    if c.shape[1] == 2 and not dist:
        proj = torch.matmul(x, (c[:, 1] - c[:, 0])[:, :, None])[..., 0].mul_(2.0)
        return (proj > (cc[:, 1] - cc[:, 0])[:, None]).to(torch.uint8), None
    dots = torch.matmul(x, c.transpose(1, 2)).mul_(-2.0)
    best = dots[..., 0] + cc[:, None, 0]
    lab = torch.zeros(best.shape, dtype=torch.uint8, device=x.device)
    for j in range(1, c.shape[1]):
        d = dots[..., j] + cc[:, None, j]
        lab[d < best] = j
        best = torch.minimum(best, d)
    return lab, best


def _kmeans_pp(x: torch.Tensor, xx: torch.Tensor, k: int, d: Draws) -> torch.Tensor:
    """Greedy k-means++ (kmeans._kmeans_pp) on x [B, S, D] from the drawn numbers."""
    b, s, _ = x.shape
    dev = x.device
    rows = torch.arange(b, device=dev)
    centers = torch.empty((b, k, x.shape[2]), dtype=torch.float32, device=dev)
    centers[:, 0] = x[rows, torch.as_tensor(d.first, device=dev)]
    d2 = _sq_dist_to(x, xx, centers[:, :1])[:, 0]
    for j in range(1, k):
        cum = torch.cumsum(d2.double(), dim=1)
        total = cum[:, -1:]
        u = torch.as_tensor(d.uniform[j - 1], device=dev) * total
        idx = torch.searchsorted(cum, u.contiguous()).clamp_(max=s - 1)
        idx = torch.where(total > 0, idx, torch.as_tensor(d.fallback[j - 1], device=dev))
        cand = x[rows[:, None], idx]
        cand_d2 = torch.minimum(d2[:, None, :], _sq_dist_to(x, xx, cand))
        best = cand_d2.sum(-1).argmin(1)
        centers[:, j] = cand[rows, best]
        d2 = cand_d2[rows, best]
    return centers


def _lloyd_step(x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    lab, _ = nearest(x, c)
    new = c.clone()
    for j in range(c.shape[1]):
        member = (lab == j).float()
        counts = member.sum(1)
        sums = torch.matmul(member[:, None, :], x)[:, 0]
        ok = counts > 0
        new[ok, j] = sums[ok] / counts[ok, None]
    return new


def _lloyd(x: torch.Tensor, c: torch.Tensor, iters: int | None, tol: float, max_iter: int):
    """Lloyd iterations (kmeans._lloyd): exactly `iters`, else until no centre of the batch
    moves more than `tol` or `max_iter`; a batch at its fixed point stops early."""
    for _ in range(iters if iters is not None else max_iter):
        new = _lloyd_step(x, c)
        shift = float(((new - c) ** 2).sum(-1).sqrt().max())
        fixed = bool(torch.equal(new, c))
        c = new
        if fixed or (iters is None and shift <= tol):
            break
    return c


def fit(points: torch.Tensor, k: int, d: Draws, iters: int | None = None,
        tol: float = km.DEFAULT_TOL, max_iter: int = 100, n_init: int = km.DEFAULT_N_INIT
        ) -> torch.Tensor:
    """Centres [B, k, D] (float32) of points [B, N, D] (uint8 colours or floats), fitted as
    kmeans.kmeans fits them (k-means++, `n_init` seedings, the lowest sample inertia kept)."""
    b, n, dim = points.shape
    if d.sample is not None:
        flat = torch.as_tensor(d.sample, device=points.device)
        flat = flat + torch.arange(b, device=points.device)[:, None] * n
        points = points.reshape(b * n, dim)[flat.reshape(-1)].reshape(b, -1, dim)
    x = as_float(points)
    xx = torch.einsum("bnd,bnd->bn", x, x).repeat_interleave(n_init, dim=0)
    x = x.repeat_interleave(n_init, dim=0)
    c = _lloyd(x, _kmeans_pp(x, xx, k, d), iters, tol, max_iter)
    if n_init > 1:
        _, best = nearest(x, c, dist=True)
        inertia = (best + xx).clamp_(min=0).sum(1, dtype=torch.float64)
        pick = inertia.reshape(b, n_init).argmin(1)
        c = c.reshape(b, n_init, k, dim)[torch.arange(b, device=c.device), pick]
    return c


def assign(points: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """Labels [B, N] uint8 of every point of points [B, N, D] (uint8 colours or floats)."""
    return nearest(as_float(points), centers)[0]
