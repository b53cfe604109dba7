"""Batched K-means on pixel colours: fit on a sample of each image, then label every pixel.

Shaders KML (Rodriguez-Munoz et al. 2025) clusters each source image's RGB pixels with
K-means (K = 2) to get a segmentation mask. Doing that image by image with scikit-learn
on all pixels is the slow part of the process, so here many images are clustered at once
in numpy: centres are fitted on `sample` pixels per image (4,096 by default), then every
pixel is assigned to its nearest centre in one batched matrix product.

Initialisation and stopping (a documented choice): greedy k-means++ seeding (Arthur &
Vassilvitskii 2007, as in scikit-learn), `n_init` = 3 seedings on the sample keeping the
lowest sample inertia, then Lloyd iterations to tolerance. The fixed budget of 3 Lloyd
iterations is `iters=3` (PAPER_ITERS). Why: fitting on the 4,096-pixel sample costs little
next to labelling all pixels, and measured on photos 3 iterations from one seeding land
1-25% above scikit-learn's inertia (two colour modes can trap a seed), while iterating to
tolerance from 3 seedings stays within 0.3% (benchmarks/kmeans.py). Random (Forgy)
seeding is `init="random"`. Empty clusters keep their previous centre.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from procmem.core.errors import ProcmemError

DEFAULT_SAMPLE = 4096
DEFAULT_TOL = 1e-3
DEFAULT_N_INIT = 3
PAPER_ITERS = 3
INITS = ("k-means++", "random")


class KMeansError(ProcmemError):
    """Bad input to the batched K-means."""


@dataclass
class KMeansResult:
    """Labels [B, N] (uint8), centres [B, K, D] (float32), inertia [B] over all N points
    (None when not computed), and the number of Lloyd iterations run."""

    labels: np.ndarray
    centers: np.ndarray
    inertia: np.ndarray
    iterations: int


def _nearest(x: np.ndarray, c: np.ndarray, dist: bool = True, labels: bool = True):
    """Nearest centre of each point of x [B, N, D] among c [B, K, D]: (labels [B, N] uint8,
    |c|^2 - 2 x.c at that centre [B, N], or None when `dist` is False). For K = 2 one
    projection on c1 - c0 decides; for K > 2 a running minimum over the K columns (much
    faster in numpy than argmin over a short last axis). `labels=False` skips the labels
    (None) when only the distances are wanted."""
    cc = (c * c).sum(-1)  # [B, K]
    if c.shape[1] == 2 and not dist:
        proj = np.matmul(x, (c[:, 1] - c[:, 0])[:, :, None])[..., 0]  # [B, N]
        proj *= 2.0
        return np.greater(proj, (cc[:, 1] - cc[:, 0])[:, None]).view(np.uint8), None
    dots = np.matmul(x, c.transpose(0, 2, 1))  # [B, N, K]
    dots *= -2.0  # exact: a power of two
    best = np.add(dots[..., 0], cc[:, None, 0])
    lab = np.zeros(best.shape, np.uint8) if labels else None
    d = np.empty_like(best)
    for j in range(1, c.shape[1]):
        np.add(dots[..., j], cc[:, None, j], out=d)
        if labels:
            np.copyto(lab, np.uint8(j), where=d < best)
        np.minimum(best, d, out=best)
    return lab, best


def _kmeans_pp(x: np.ndarray, xx: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Greedy k-means++ seeding on x [B, S, D] (|x|^2 = xx [B, S]), vectorised over the batch.

    Each new centre is the best (lowest potential) of 2 + ln(k) candidates drawn with
    probability proportional to the squared distance to the nearest centre so far, as in
    scikit-learn; the greedy trials avoid most poor local minima (Arthur & Vassilvitskii 2007).
    """
    b, s, _ = x.shape
    rows = np.arange(b)
    trials = 2 + int(np.log(k))
    centers = np.empty((b, k, x.shape[2]), np.float32)
    centers[:, 0] = x[rows, rng.integers(0, s, b)]
    d2 = _sq_dist_to(x, xx, centers[:, :1])[:, 0]
    for j in range(1, k):
        cum = np.cumsum(d2.astype(np.float64), axis=1)  # sequential, as cumsum(dtype=float64)
        total = cum[:, -1:]
        u = rng.random((b, trials)) * total
        # the candidates: how many cumulative weights lie below each draw (cum is sorted)
        idx = np.minimum([np.searchsorted(ci, ui) for ci, ui in zip(cum, u)], s - 1)  # [B, T]
        # an image of a single colour has total 0: any pixel is as good as another
        idx = np.where(total > 0, idx, rng.integers(0, s, (b, trials)))
        cand = x[rows[:, None], idx]  # [B, T, D]
        cand_d2 = np.minimum(d2[:, None, :], _sq_dist_to(x, xx, cand))  # [B, T, S]
        best = cand_d2.sum(-1).argmin(1)  # [B]
        centers[:, j] = cand[rows, best]
        d2 = cand_d2[rows, best]
    return centers


def _sq_dist_to(x: np.ndarray, xx: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Squared distances [B, T, S] from points x [B, S, D] (|x|^2 = xx) to c [B, T, D]."""
    d = np.matmul(c, x.transpose(0, 2, 1))  # [B, T, S]
    d *= -2.0
    d += xx[:, None, :]
    d += (c * c).sum(-1)[:, :, None]
    return np.maximum(d, 0, out=d)


def _lloyd_step(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """One Lloyd update: assign the sample to its nearest centre, move centres to the means."""
    lab, _ = _nearest(x, c, dist=False)
    new = c.copy()
    for j in range(c.shape[1]):
        member = (lab == j).astype(np.float32)  # [B, S]
        counts = member.sum(1)
        sums = np.matmul(member[:, None, :], x)[:, 0]  # [B, D]
        ok = counts > 0
        new[ok, j] = sums[ok] / counts[ok, None]
    return new


def _lloyd(x: np.ndarray, c: np.ndarray, iters: int | None, tol: float, max_iter: int):
    """Lloyd iterations from centres c [B, K, D] on x [B, S, D]: (centres, iterations run).

    Exactly `iters` iterations when given, else until no centre moves more than `tol` or
    `max_iter`. A run whose centres came back bit for bit unchanged is at a fixed point (the
    step is a function of that run alone), so it is set aside: the later iterations cost only
    the runs still moving, and every centre is the one the full iteration would give.
    """
    budget = iters if iters is not None else max_iter
    moving = np.arange(len(c))
    xa, ca = x, c
    done = 0
    while done < budget:
        if len(moving) == 0:  # every run is at its fixed point: the rest change nothing
            done = budget if iters is not None or tol < 0 else done + 1  # (shift 0 <= tol)
            break
        new = _lloyd_step(xa, ca)
        done += 1
        shift = np.sqrt(((new - ca) ** 2).sum(-1)).max()
        still = ~(new == ca).all(axis=(1, 2))
        c[moving] = new
        if iters is None and shift <= tol:
            break
        if not still.all():
            moving, xa, ca = moving[still], xa[still], new[still]
        else:
            ca = new
    return c, done


def _sq_norms(x: np.ndarray) -> np.ndarray:
    """|x|^2 [B, N] of points x [B, N, D]."""
    return np.einsum("bnd,bnd->bn", x, x)


def as_float(x: np.ndarray) -> np.ndarray:
    """Points as float32: uint8 colours are read as v / 255 (in 0..1), anything else cast."""
    if x.dtype == np.uint8:
        return np.divide(x, np.float32(255), dtype=np.float32)
    return np.asarray(x, dtype=np.float32)


def assign(x: np.ndarray, centers: np.ndarray, inertia: bool = True, chunk: int = 1 << 16,
           xx: np.ndarray | None = None):
    """Nearest centre for every point of x [B, N, D] (float, or uint8 colours read as v / 255):
    labels [B, N] uint8 and inertia [B] (the sum of squared distances; None when not asked
    for, which is faster). `xx` passes |x|^2 when already known. Each set is labelled on its
    own, `chunk` points at a time, so a float copy of all points is never made."""
    b, n, _ = x.shape
    labels = np.empty((b, n), np.uint8)
    total = np.zeros(b, np.float64) if inertia else None
    for i in range(b):
        for start in range(0, n, chunk):
            part = slice(start, start + chunk)
            xs = as_float(x[i : i + 1, part])
            lab, best = _nearest(xs, centers[i : i + 1], dist=inertia)
            labels[i, part] = lab[0]
            if inertia:
                best += _sq_norms(xs) if xx is None else xx[i : i + 1, part]
                total[i] += np.maximum(best, 0).sum(1, dtype=np.float64)[0]
    return labels, total


def _inertia(x: np.ndarray, xx: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """assign(x, centers)'s inertia [B] without the labels (x holds one chunk's points)."""
    _, best = _nearest(x, centers, labels=False)
    best += xx
    return np.maximum(best, 0).sum(1, dtype=np.float64)


def kmeans(
    points: np.ndarray,
    k: int = 2,
    rng: np.random.Generator | None = None,
    sample: int | None = DEFAULT_SAMPLE,
    iters: int | None = None,
    tol: float = DEFAULT_TOL,
    max_iter: int = 100,
    init: str = "k-means++",
    n_init: int = DEFAULT_N_INIT,
    inertia: bool = True,
) -> KMeansResult:
    """Cluster each of B point sets x [B, N, D] into k clusters, all sets at once. The points
    are floats or uint8 colours (read as v / 255, without a float copy of them all).

    Centres are fitted on `sample` points drawn with replacement per set (None: all points),
    with exactly `iters` Lloyd iterations when given (PAPER_ITERS = 3 is the fixed budget),
    else until no centre moves more than `tol` (Euclidean, in the points' units) or
    `max_iter` iterations. Then every point is
    labelled with its nearest centre and the inertia (sum of squared distances) is computed
    on all N points, the quantity scikit-learn's KMeans minimises. With `n_init` > 1 the
    fit is repeated from that many seedings (batched together) and the run with the lowest
    inertia on the sample is kept. `inertia=False` skips computing the final inertia.
    """
    x = np.asarray(points)
    x = x if x.dtype == np.uint8 else x.astype(np.float32, copy=False)
    if x.ndim == 2:
        return _squeeze(kmeans(x[None], k, rng, sample, iters, tol, max_iter, init, n_init,
                                   inertia))
    if x.ndim != 3 or x.shape[1] == 0:
        raise KMeansError(f"kmeans expects points [B, N, D] with N > 0, got shape {x.shape}")
    if not 1 <= k <= 255:
        raise KMeansError(f"kmeans: k={k} must be between 1 and 255")
    if init not in INITS:
        raise KMeansError(f"kmeans: unknown init {init!r}; choose one of {', '.join(INITS)}")
    if n_init < 1:
        raise KMeansError(f"kmeans: n_init={n_init} must be >= 1")
    if (iters is not None and iters < 0) or max_iter < 1:
        raise KMeansError(f"kmeans: iters={iters} must be >= 0 and max_iter={max_iter} >= 1")
    rng = rng if rng is not None else np.random.default_rng(0)
    b, n, _ = x.shape
    if sample is None or sample >= n:
        fit = as_float(x)
    else:
        # np.take on flat indices: several times faster than x[rows, idx] fancy indexing
        flat = rng.integers(0, n, (b, sample)) + np.arange(b)[:, None] * n
        fit = as_float(np.take(x.reshape(b * n, -1), flat.ravel(), axis=0).reshape(b, sample, -1))
    xx = np.repeat(_sq_norms(fit), n_init, axis=0)  # |x|^2 of each run's points, once a set
    fit = np.repeat(fit, n_init, axis=0)  # [B * n_init, S, D], runs of one set adjacent
    if init == "k-means++":
        c = _kmeans_pp(fit, xx, k, rng)
    else:
        c = fit[np.arange(len(fit))[:, None], rng.integers(0, fit.shape[1], (len(fit), k))]
    c, done = _lloyd(fit, c, iters, tol, max_iter)
    if n_init > 1:
        fit_inertia = _inertia(fit, xx, c) if fit.shape[1] <= 1 << 16 else assign(fit, c)[1]
        best = fit_inertia.reshape(b, n_init).argmin(1)
        c = c.reshape(b, n_init, k, -1)[np.arange(b), best]
    labels, total = assign(x, c, inertia)
    return KMeansResult(labels, c, total, done)


def _squeeze(r: KMeansResult) -> KMeansResult:
    return KMeansResult(r.labels[0], r.centers[0], None if r.inertia is None else r.inertia[0],
                        r.iterations)
