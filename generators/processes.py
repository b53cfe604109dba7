"""The four procedural image processes, as pure functions of (frame pool, rng, options).

- `shaders`: one rendered frame per image (Baradad et al. 2022, "Procedural image
  programs for representation learning", Shaders-1k/21k).
- `shaders-mixup`: a convex mix of 6 frames with Dirichlet(alpha = 1) weights, the
  shaders21k default (Baradad et al. 2022).
- `kml`: Shaders K-Means Leaves (Rodriguez-Munoz et al. 2025, "Separating knowledge and
  perception with procedural data"): frames s1, s2, s3; s1's RGB pixels are clustered with
  2-means; the binary mask of cluster 0 is box-blurred (3x3), resized to full resolution and
  blurred again, and the image is s2 * m + s3 * (1 - m).
- `kml-mixup`: the mean of two KML images (equal weights), each rounded to uint8 first as
  the images of a KML data set are.

Pool structure (as in the KML paper): the frames of one shard are rendered once as a pool;
image i takes pool frame i as its s1 (each pool frame is s1 once) and draws its textures
(s2, s3) and mixup partners from the same pool, so frames are reused, not re-rendered.

Named options beyond the papers: `k` > 2 (each cluster is filled with its own texture),
`alpha` (Dirichlet concentration), `mix` (frames in a shaders-mixup / KML images in a
kml-mixup), `mask_res` (cluster s1 at a lower resolution; the default is the full image
resolution, where the resize step is the identity), and the K-means settings (`kmeans_iters`
for a fixed Lloyd budget, `kmeans_sample`), see generators.kmeans.

Each function returns images (uint8 [N, H, W, 3]) and, per image, its provenance: a dict
with `sources` (each a role and a pool index; the caller adds program id, time and params),
`weights` and `mask` (the mask parameters), which the shard writer stores in the sample JSON.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from procmem.core.errors import ProcmemError
from procmem.generators import kmeans as km

BATCH = 32
"""Images whose K-means masks are computed together. A constant on purpose: the K-means rng
draws are made per batch, so changing it changes the images (not their distribution)."""


class ProcessError(ProcmemError):
    """An unknown process or a bad process option."""


@dataclass(frozen=True)
class ProcessOptions:
    """Options of the processes; the defaults reproduce the papers (see module docstring)."""

    k: int = 2
    alpha: float = 1.0
    mix: int | None = None
    mask_res: int | None = None
    kmeans_iters: int | None = None
    kmeans_sample: int = km.DEFAULT_SAMPLE

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Process:
    """A process: its name, its `make(pool, count, rng, opts, timing)`, and its default mix."""

    name: str
    make: Callable
    default_mix: int | None
    citation: str

    def min_pool(self, opts: ProcessOptions) -> int:
        """The fewest pool frames this process can draw from with these options."""
        if self.name == "shaders-mixup":
            return self.mix(opts)
        if self.name == "kml":
            return opts.k
        if self.name == "kml-mixup":
            return max(opts.k, self.mix(opts))
        return 1

    def pool_size(self, count: int, opts: ProcessOptions) -> int:
        """Frames to render for `count` images: one per image (each is some image's s1),
        at least the process's minimum."""
        return max(count, self.min_pool(opts))

    def mix(self, opts: ProcessOptions) -> int:
        return opts.mix if opts.mix is not None else (self.default_mix or 1)


# --- the definitions, on arrays ---------------------------------------------------------------


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Round a float image in [0, 255] (a convex mix of uint8 images) to uint8, half up."""
    return np.add(x, 0.5).astype(np.uint8)


def mixup(frames: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Convex combination sum_j w_j * frame_j of frames [M, H, W, 3] (float32 result)."""
    return np.einsum("j,jhwc->hwc", np.asarray(weights, np.float32), frames)


def box_sum3(m: np.ndarray) -> np.ndarray:
    """3x3 box sum of masks [B, H, W, C] with edge padding, in m's dtype."""
    p = np.pad(m, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    rows = p[:, :-2] + p[:, 1:-1] + p[:, 2:]
    return rows[:, :, :-2] + rows[:, :, 1:-1] + rows[:, :, 2:]


def box_blur3(m: np.ndarray) -> np.ndarray:
    """3x3 box blur of masks [B, H, W, C] with edge padding (KML mask smoothing)."""
    return box_sum3(m) / np.float32(9)


def _lerp_axis(x: np.ndarray, axis: int, size: int) -> np.ndarray:
    """Linear interpolation of x along `axis` to `size` samples, half-pixel centres (as PIL
    and torch's bilinear with align_corners=False), edge samples clamped."""
    src = x.shape[axis]
    pos = np.clip((np.arange(size) + 0.5) * src / size - 0.5, 0, src - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, src - 1)
    shape = [1] * x.ndim
    shape[axis] = size
    frac = (pos - lo).astype(np.float32).reshape(shape)
    a, b = np.take(x, lo, axis=axis), np.take(x, hi, axis=axis)
    return a + (b - a) * frac


def resize_masks(m: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of masks [B, r, s, C] to [B, size, size, C] float32. Each output is a
    convex combination of inputs, so masks that sum to 1 over C still do (up to rounding);
    elementwise, so an image's result does not depend on the batch it is in."""
    if m.shape[1] == size and m.shape[2] == size:
        return m
    x = np.asarray(m, dtype=np.float32)
    return _lerp_axis(_lerp_axis(x, 1, size), 2, size)


def _downsample(frames: np.ndarray, res: int) -> np.ndarray:
    """Frames [B, H, W, 3] to [B, res, res, 3] floats by bilinear resize (area mean if exact)."""
    h = frames.shape[1]
    if res == h:
        return frames.astype(np.float32)
    if h % res == 0:
        f = h // res  # block mean as f*f strided adds (numpy's multi-axis mean is slow)
        out = np.zeros((len(frames), res, res, 3), np.float32)
        for i in range(f):
            for j in range(f):
                out += frames[:, i::f, j::f]
        return out / np.float32(f * f)
    return resize_masks(frames.astype(np.float32), res)


@dataclass
class KMLMasks:
    """labels [B, r, r] (the binary/K-ary clustering of s1 before blurring), soft masks
    [B, H, W, K] (blurred, resized, blurred; they sum to 1 over K), centres [B, K, 3] in 0..1."""

    labels: np.ndarray
    soft: np.ndarray
    centers: np.ndarray
    iterations: int


def kml_masks(s1: np.ndarray, rng: np.random.Generator, opts: ProcessOptions) -> KMLMasks:
    """KML masks for frames s1 [B, H, W, 3] uint8 (Rodriguez-Munoz et al. 2025):
    K-means on RGB, then `smooth_masks`."""
    b, h, w, _ = s1.shape
    r = opts.mask_res or h
    res = km.kmeans(mask_pixels(s1, r), opts.k, rng, sample=opts.kmeans_sample,
                    iters=opts.kmeans_iters, inertia=False)
    labels = res.labels.reshape(b, r, r)
    return KMLMasks(labels, smooth_masks(labels, opts.k, h), res.centers, res.iterations)


def mask_pixels(s1: np.ndarray, r: int) -> np.ndarray:
    """The pixels K-means clusters: s1 [B, H, W, 3] at r x r, as floats in 0..1 [B, r*r, 3]."""
    return (_downsample(s1, r) / np.float32(255)).reshape(len(s1), r * r, 3)


def smooth_masks(labels: np.ndarray, k: int, size: int) -> np.ndarray:
    """Soft masks [B, size, size, K] from cluster labels [B, r, r]: one-hot, 3x3 box blur,
    bilinear resize to size x size, 3x3 box blur again (they sum to 1 over K)."""
    r = labels.shape[1]
    # masks of clusters 0..K-2; the last is 1 minus their sum (blur and resize are linear)
    onehot = labels[..., None] == np.arange(k - 1, dtype=np.uint8)
    if r == size:  # no resize: two 3x3 box sums of a binary mask are exact in uint8 (<= 81)
        first = box_sum3(box_sum3(onehot.view(np.uint8))).astype(np.float32) / np.float32(81)
    else:
        first = box_blur3(resize_masks(box_blur3(onehot.astype(np.float32)), size))
    return np.concatenate([first, 1 - first.sum(-1, keepdims=True)], axis=-1)


def kml_composite(soft: np.ndarray, textures: np.ndarray) -> np.ndarray:
    """sum_c m_c * t_c for one mask [H, W, K] and textures [K, H, W, 3]; for K = 2 this is
    s2 * m + s3 * (1 - m) with m the mask of cluster 0 (float result)."""
    out = soft[..., 0, None] * textures[0]
    for c in range(1, len(textures)):
        out += soft[..., c, None] * textures[c]
    return out


# --- the processes, on a pool -----------------------------------------------------------------


def _mask_info(masks: KMLMasks, j: int, opts: ProcessOptions, h: int) -> dict:
    frac = np.bincount(masks.labels[j].ravel(), minlength=opts.k) / masks.labels[j].size
    return {
        "k": opts.k,
        "mask_res": opts.mask_res or h,
        "smoothing": "box3x3, bilinear resize to full resolution, box3x3",
        "composite": "sum_c mask_c * texture_c (K=2: s2*m + s3*(1-m), m = cluster 0)",
        "centers_rgb": masks.centers[j].astype(float).tolist(),
        "cluster_fraction": np.round(frac, 4).tolist(),
        "kmeans": {"init": "k-means++", "n_init": km.DEFAULT_N_INIT,
                   "sample": opts.kmeans_sample, "iterations": masks.iterations,
                   "tol": None if opts.kmeans_iters is not None else km.DEFAULT_TOL},
    }


def make_shaders(pool, count, rng, opts, timing):
    """Image i is pool frame i (Baradad et al. 2022)."""
    images = pool[:count].copy()
    provs = [{"sources": [{"role": "frame", "pool": i}], "weights": [1.0], "mask": None}
             for i in range(count)]
    return images, provs


def make_shaders_mixup(pool, count, rng, opts, timing):
    """Image i mixes `mix` (6) distinct pool frames with Dirichlet(alpha) weights."""
    m = PROCESSES["shaders-mixup"].mix(opts)
    images = np.empty((count,) + pool.shape[1:], np.uint8)
    provs = []
    t = time.perf_counter()
    for i in range(count):
        idx = rng.choice(len(pool), m, replace=False)
        w = rng.dirichlet(np.full(m, opts.alpha))
        images[i] = to_uint8(mixup(pool[idx], w))
        provs.append({"sources": [{"role": f"mix{j}", "pool": int(p)} for j, p in enumerate(idx)],
                      "weights": [float(x) for x in w], "mask": None})
    timing["compose"] = timing.get("compose", 0.0) + time.perf_counter() - t
    return images, provs


def _kml_plans(pool_size: int, s1s: np.ndarray, rng, k: int) -> list[dict]:
    """Which pool frames each KML image uses: s1 given, K textures drawn without replacement."""
    return [{"s1": int(s), "textures": [int(t) for t in rng.choice(pool_size, k, replace=False)]}
            for s in s1s]


def _kml_images(pool, plans, rng, opts, timing):
    """KML images (uint8) and their provenance, masks computed BATCH images at a time."""
    h = pool.shape[1]
    out = np.empty((len(plans),) + pool.shape[1:], np.uint8)
    provs = []
    for start in range(0, len(plans), BATCH):
        chunk = plans[start : start + BATCH]
        t = time.perf_counter()
        masks = kml_masks(pool[[p["s1"] for p in chunk]], rng, opts)
        t2 = time.perf_counter()
        for j, p in enumerate(chunk):
            out[start + j] = to_uint8(kml_composite(masks.soft[j], pool[p["textures"]]))
            roles = [f"s{c + 2}" for c in range(opts.k)]
            provs.append({
                "sources": [{"role": "s1", "pool": p["s1"]}]
                + [{"role": r, "pool": q} for r, q in zip(roles, p["textures"])],
                "weights": [1.0],
                "mask": _mask_info(masks, j, opts, h),
            })
        timing["kmeans"] = timing.get("kmeans", 0.0) + t2 - t
        timing["compose"] = timing.get("compose", 0.0) + time.perf_counter() - t2
    return out, provs


def make_kml(pool, count, rng, opts, timing):
    """Image i is KML with s1 = pool frame i and textures drawn from the pool."""
    plans = _kml_plans(len(pool), np.arange(count), rng, opts.k)
    return _kml_images(pool, plans, rng, opts, timing)


def make_kml_mixup(pool, count, rng, opts, timing):
    """Image i is the mean of `mix` (2) KML images: the pool's KML image i and `mix - 1`
    others drawn from the pool's KML images (one KML image per pool frame, as the paper
    mixes images of a KML dataset), so each pool frame is clustered once."""
    m = PROCESSES["kml-mixup"].mix(opts)
    n = len(pool)
    plans = _kml_plans(n, np.arange(n), rng, opts.k)
    kml, kml_provs = _kml_images(pool, plans, rng, opts, timing)
    t = time.perf_counter()
    images = np.empty((count,) + pool.shape[1:], np.uint8)
    provs = []
    for i in range(count):
        others = rng.choice(n - 1, m - 1, replace=False)
        parts = [i] + [int(o + (o >= i)) for o in others]  # partners differ from i
        images[i] = to_uint8(kml[parts].mean(0, dtype=np.float32))
        provs.append({
            "sources": [dict(s, role=f"kml{j}.{s['role']}") for j, q in enumerate(parts)
                        for s in kml_provs[q]["sources"]],
            "weights": [1.0 / m] * m,
            "mask": [kml_provs[q]["mask"] for q in parts],
        })
    timing["compose"] = timing.get("compose", 0.0) + time.perf_counter() - t
    return images, provs


PROCESSES: dict[str, Process] = {
    p.name: p
    for p in (
        Process("shaders", make_shaders, None, "Baradad et al. 2022"),
        Process("shaders-mixup", make_shaders_mixup, 6, "Baradad et al. 2022"),
        Process("kml", make_kml, None, "Rodriguez-Munoz et al. 2025"),
        Process("kml-mixup", make_kml_mixup, 2, "Rodriguez-Munoz et al. 2025"),
    )
}


def get_process(name: str) -> Process:
    """The process called `name`, or a ProcessError listing the choices."""
    if name not in PROCESSES:
        raise ProcessError(f"unknown process {name!r}; choose one of {', '.join(PROCESSES)}")
    return PROCESSES[name]


def check_options(name: str, opts: ProcessOptions, res: int) -> Process:
    """Validate a process name and its options for images of `res` pixels, before any work."""
    proc = get_process(name)
    if not 2 <= opts.k <= 16:
        raise ProcessError(f"--clusters {opts.k}: K-means clusters must be between 2 and 16 (paper: 2)")
    if not opts.alpha > 0:
        raise ProcessError(f"--alpha {opts.alpha}: the Dirichlet concentration must be > 0 "
                           "(paper: 1)")
    if opts.mix is not None and opts.mix < 2:
        raise ProcessError(f"--mix {opts.mix}: a mixup needs at least 2 parts "
                           "(defaults: 6 frames for shaders-mixup, 2 KML images for kml-mixup)")
    if opts.mask_res is not None and not 4 <= opts.mask_res <= res:
        raise ProcessError(f"--mask-res {opts.mask_res}: must be between 4 and the image "
                           f"resolution {res} (default: the image resolution)")
    if opts.kmeans_iters is not None and opts.kmeans_iters < 1:
        raise ProcessError(f"--kmeans-iters {opts.kmeans_iters}: must be >= 1 "
                           "(3 is the fixed budget; leave unset to iterate to tolerance)")
    if opts.kmeans_sample < 16:
        raise ProcessError(f"--kmeans-sample {opts.kmeans_sample}: fit on at least 16 pixels "
                           "(default 4096)")
    return proc


def make_images(name: str, pool: np.ndarray, count: int, rng: np.random.Generator,
                opts: ProcessOptions = ProcessOptions(), timing: dict | None = None):
    """`count` images of process `name` from a frame pool [P, H, W, 3] uint8 (P >= count and
    P >= the process's minimum): (images uint8 [count, H, W, 3], provenance list).
    Pure given (pool, rng state, options). `timing` (a dict) accumulates seconds spent in
    'kmeans' and 'compose'."""
    proc = get_process(name)
    need = proc.pool_size(count, opts)
    if len(pool) < need:
        raise ProcessError(f"process {name}: pool of {len(pool)} frames is too small for "
                           f"{count} images (needs {need})")
    return proc.make(pool, count, rng, opts, timing if timing is not None else {})
