"""The image operations the processes are made of, on arrays: rounding, mixup, KML masks.

Convex mixup of frames (Baradad et al. 2022), and the KML mask pipeline of Rodriguez-Munoz
et al. 2025: K-means on s1's RGB pixels (generators.kmeans), a one-hot mask per cluster,
3x3 box blur, bilinear resize to full resolution, 3x3 box blur again, and the composite
sum_c mask_c * texture_c. Pure functions; `generators.processes` applies them to a pool,
and `generators.provenance` to the frames a sample's JSON names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from procmem.generators import kmeans as km


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


def mask_pixels(s1: np.ndarray, r: int) -> np.ndarray:
    """The pixels K-means clusters: s1 [B, H, W, 3] at r x r [B, r*r, 3], colours in 0..1:
    s1's own uint8 values at full resolution (generators.kmeans reads them as v / 255, the
    same floats), else floats."""
    if r == s1.shape[1]:
        return s1.reshape(len(s1), r * r, 3)
    return (_downsample(s1, r) / np.float32(255)).reshape(len(s1), r * r, 3)


def _box_sums(labels: np.ndarray, k: int) -> np.ndarray:
    """Two 3x3 box sums of the one-hot masks of clusters 0..K-2 of labels [B, r, r]: uint8
    [B, r, r, K-1] in 0..81 (exact: they are integers)."""
    onehot = labels[..., None] == np.arange(k - 1, dtype=np.uint8)
    return box_sum3(box_sum3(onehot.view(np.uint8)))


def _soft_from_box(box: np.ndarray) -> np.ndarray:
    """The soft masks [..., K] of box sums [..., K-1]: b / 81, the last 1 minus their sum."""
    first = np.divide(box, np.float32(81), dtype=np.float32)
    return np.concatenate([first, 1 - first.sum(-1, keepdims=True)], axis=-1)


def smooth_masks(labels: np.ndarray, k: int, size: int) -> np.ndarray:
    """Soft masks [B, size, size, K] from cluster labels [B, r, r]: one-hot, 3x3 box blur,
    bilinear resize to size x size, 3x3 box blur again (they sum to 1 over K)."""
    r = labels.shape[1]
    # masks of clusters 0..K-2; the last is 1 minus their sum (blur and resize are linear)
    if r == size:  # no resize: two 3x3 box sums of a binary mask are exact in uint8 (<= 81)
        return _soft_from_box(_box_sums(labels, k))
    onehot = labels[..., None] == np.arange(k - 1, dtype=np.uint8)
    first = box_blur3(resize_masks(box_blur3(onehot.astype(np.float32)), size))
    return np.concatenate([first, 1 - first.sum(-1, keepdims=True)], axis=-1)


def kml_composite(soft: np.ndarray, textures: np.ndarray) -> np.ndarray:
    """sum_c m_c * t_c for one mask [H, W, K] and textures [K, H, W, 3]; for K = 2 this is
    s2 * m + s3 * (1 - m) with m the mask of cluster 0 (float result)."""
    out = soft[..., 0, None] * textures[0]
    for c in range(1, len(textures)):
        out += soft[..., c, None] * textures[c]
    return out


def _composite2(v: np.ndarray, t0: np.ndarray, t1: np.ndarray) -> np.ndarray:
    """to_uint8(kml_composite(...)) for K = 2 from cluster 0's box sums v [H, W] (0..81) and
    textures t0, t1 [H, W, 3], in integers: the float32 mask v / 81 gives t0 * v / 81 +
    t1 * (1 - v / 81) rounded half up, which is (v * (t0 - t1) + 81 * t1 + 40) // 81 for every
    (v, t0, t1) (all 82 * 256 * 256 checked in tests/generators/test_compose.py)."""
    n = np.subtract(t0, t1, dtype=np.int16)
    for c in range(3):  # faster than broadcasting v over the short channel axis
        n[..., c] *= v
    n += np.multiply(t1, 81, dtype=np.int16)
    n += 40
    n //= 81
    return n.astype(np.uint8)


@dataclass
class KMLMasks:
    """labels [B, r, r] (the binary/K-ary clustering of s1 before blurring), centres [B, K, 3]
    in 0..1, and the soft masks [B, H, W, K] (blurred, resized, blurred; they sum to 1 over
    K). Without a resize the soft masks are kept as their exact box sums `box` [B, H, W, K-1]
    (uint8, soft = box / 81) and made into floats only when `soft` is read."""

    labels: np.ndarray
    centers: np.ndarray
    iterations: int
    k: int
    box: np.ndarray | None = None
    blurred: np.ndarray | None = None

    @property
    def soft(self) -> np.ndarray:
        if self.blurred is None:
            self.blurred = _soft_from_box(self.box)
        return self.blurred

    def image(self, j: int, textures) -> np.ndarray:
        """Image j's KML composite sum_c mask_c * texture_c of its K textures [H, W, 3] uint8,
        rounded to uint8."""
        if self.k == 2 and self.box is not None:
            return _composite2(self.box[j, ..., 0], textures[0], textures[1])
        return to_uint8(kml_composite(self.soft[j], textures))

    def fractions(self, j: int) -> np.ndarray:
        """The share of image j's pixels in each cluster [K] (float64)."""
        lab = self.labels[j]
        if self.k == 2:
            ones = np.count_nonzero(lab)
            return np.array([lab.size - ones, ones]) / lab.size
        return np.bincount(lab.ravel(), minlength=self.k) / lab.size


def masks_from_labels(labels: np.ndarray, k: int, size: int, centers: np.ndarray,
                      iterations: int) -> KMLMasks:
    """KMLMasks of cluster labels [B, r, r] at full resolution `size` (`smooth_masks`)."""
    if labels.shape[1] == size:
        return KMLMasks(labels, centers, iterations, k, box=_box_sums(labels, k))
    return KMLMasks(labels, centers, iterations, k, blurred=smooth_masks(labels, k, size))


def kml_masks(s1: np.ndarray, rng: np.random.Generator, opts) -> KMLMasks:
    """KML masks for frames s1 [B, H, W, 3] uint8 (Rodriguez-Munoz et al. 2025):
    K-means on RGB, then `smooth_masks`. `opts` is a `processes.ProcessOptions` (k,
    mask_res, kmeans_sample, kmeans_iters)."""
    b, h, w, _ = s1.shape
    r = opts.mask_res or h
    res = km.kmeans(mask_pixels(s1, r), opts.k, rng, sample=opts.kmeans_sample,
                    iters=opts.kmeans_iters, inertia=False)
    return masks_from_labels(res.labels.reshape(b, r, r), opts.k, h, res.centers, res.iterations)


def mean_uint8(images) -> np.ndarray:
    """to_uint8 of the float32 mean of m uint8 images (a kml-mixup of m KML images), in
    integers: the float32 sum S is exact and S / m rounded half up is (2 S + m) // (2 m)
    (every S checked in tests/generators/test_compose.py)."""
    m = len(images)
    total = images[0].astype(np.uint16 if m <= 128 else np.uint32)
    for img in images[1:]:
        total += img
    if m == 2:
        total += 1
        total >>= 1
    else:
        total *= 2
        total += m
        total //= 2 * m
    return total.astype(np.uint8)


def mask_record(masks: KMLMasks, j: int, opts, h: int) -> dict:
    """How image j's KML mask was made, for its sample JSON: K, resolution, smoothing, the
    cluster centres (which relabel s1 exactly on a rebuild), cluster fractions, K-means run."""
    frac = masks.fractions(j)
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
