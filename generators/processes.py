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

Each process is an entry of `PROCESSES`, a small class registered by name (as timm's
`@register_model` entries and the shaders21k mixers picked from a name-to-class table) that
owns its properties: its paper, the roles of a sample's sources, the fewest pool frames it can
draw from, the options it uses and checks, how it makes images from a pool and how it rebuilds
one from a sample's JSON. Nothing switches on a process name. The array operations they are
made of (mixup, KML masks, composite) are in generators.compose.

`make` returns images (uint8 [N, H, W, 3]) and, per image, its provenance: a dict with
`sources` (each a role and a pool index; the caller adds program id, time and params),
`weights` and `mask` (the mask parameters), which the shard writer stores in the sample JSON.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from procmem.core.errors import ProcmemError
from procmem.generators import compose as cp
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


Render = Callable[[dict], np.ndarray]
"""The frame a sample's source entry names ({program, time, params, ...}), as uint8 [H, W, 3]."""
Steps = list[tuple[str, np.ndarray]]
"""How a rebuilt image was made: [(caption, image)], for `procmem shards explain`."""

PROCESSES: dict[str, "Process"] = {}
"""Every process by name, in registration order (the order `--process` lists them)."""


def register(cls: type["Process"]) -> type["Process"]:
    """Class decorator: add an instance of a Process subclass to PROCESSES under its name."""
    PROCESSES[cls.name] = cls()
    return cls


class Process:
    """A process entry. Subclasses set `name`, `citation` and `default_mix` and define
    `roles`, `make` and `rebuild`; they override `min_pool` and `check` when they need to."""

    name: str = ""
    citation: str = ""
    default_mix: int | None = None

    def mix(self, opts: ProcessOptions) -> int:
        """Parts of one image's mixup with these options (1 for a process that mixes nothing)."""
        return opts.mix if opts.mix is not None else (self.default_mix or 1)

    def min_pool(self, opts: ProcessOptions) -> int:
        """The fewest pool frames this process can draw from with these options."""
        return 1

    def pool_size(self, count: int, opts: ProcessOptions) -> int:
        """Frames to render for `count` images: one per image (each is some image's s1),
        at least the process's minimum."""
        return max(count, self.min_pool(opts))

    def check(self, opts: ProcessOptions, res: int) -> None:
        """Raise a ProcessError naming the first option this process uses that is out of range
        for images of `res` pixels; options it does not use are not looked at."""

    def roles(self, opts: ProcessOptions) -> list[str]:
        """The role of each of one sample's sources, in the order its JSON lists them."""
        raise NotImplementedError

    def make(self, pool: np.ndarray, count: int, rng: np.random.Generator,
             opts: ProcessOptions, timing: dict) -> tuple[np.ndarray, list[dict]]:
        """`count` images from the pool and their provenance; `timing` accumulates seconds."""
        raise NotImplementedError

    def rebuild(self, meta: dict, render: Render) -> tuple[np.ndarray, Steps]:
        """The image a sample's JSON describes, from its sources' frames, and its steps."""
        raise NotImplementedError


def _check_mix(opts: ProcessOptions) -> None:
    if opts.mix is not None and opts.mix < 2:
        raise ProcessError(f"--mix {opts.mix}: a mixup needs at least 2 parts "
                           "(defaults: 6 frames for shaders-mixup, 2 KML images for kml-mixup)")


def _add(timing: dict, key: str, seconds: float) -> None:
    timing[key] = timing.get(key, 0.0) + seconds


@register
class Shaders(Process):
    """Image i is pool frame i (Baradad et al. 2022)."""

    name = "shaders"
    citation = "Baradad et al. 2022"

    def roles(self, opts):
        return ["frame"]

    def make(self, pool, count, rng, opts, timing):
        (role,) = self.roles(opts)
        images = pool[:count].copy()
        provs = [{"sources": [{"role": role, "pool": i}], "weights": [1.0], "mask": None}
                 for i in range(count)]
        return images, provs

    def rebuild(self, meta, render):
        image = render(meta["sources"][0])
        return image, [("frame", image)]


@register
class ShadersMixup(Process):
    """Image i mixes `mix` (6) distinct pool frames with Dirichlet(alpha) weights (Baradad
    et al. 2022, the shaders21k default)."""

    name = "shaders-mixup"
    citation = "Baradad et al. 2022"
    default_mix = 6

    def min_pool(self, opts):
        return self.mix(opts)

    def check(self, opts, res):
        if not opts.alpha > 0:
            raise ProcessError(f"--alpha {opts.alpha}: the Dirichlet concentration must be > 0 "
                               "(paper: 1)")
        _check_mix(opts)

    def roles(self, opts):
        return [f"mix{j}" for j in range(self.mix(opts))]

    def make(self, pool, count, rng, opts, timing):
        m, roles = self.mix(opts), self.roles(opts)
        images = np.empty((count,) + pool.shape[1:], np.uint8)
        provs = []
        t = time.perf_counter()
        for i in range(count):
            idx = rng.choice(len(pool), m, replace=False)
            w = rng.dirichlet(np.full(m, opts.alpha))
            images[i] = cp.to_uint8(cp.mixup(pool[idx], w))
            provs.append({"sources": [{"role": r, "pool": int(p)} for r, p in zip(roles, idx)],
                          "weights": [float(x) for x in w], "mask": None})
        _add(timing, "compose", time.perf_counter() - t)
        return images, provs

    def rebuild(self, meta, render):
        frames = np.stack([render(s) for s in meta["sources"]])
        image = cp.to_uint8(cp.mixup(frames, np.array(meta["weights"])))
        steps = [(f"w={w:.2f}", f) for w, f in zip(meta["weights"], frames)]
        return image, steps + [("mixup", image)]


# --- KML: the shared pieces of kml and kml-mixup ---------------------------------------------


def _check_kml(opts: ProcessOptions, res: int) -> None:
    if not 2 <= opts.k <= 16:
        raise ProcessError(f"--clusters {opts.k}: K-means clusters must be between 2 and 16 (paper: 2)")
    if opts.mask_res is not None and not 4 <= opts.mask_res <= res:
        raise ProcessError(f"--mask-res {opts.mask_res}: must be between 4 and the image "
                           f"resolution {res} (default: the image resolution)")
    if opts.kmeans_iters is not None and opts.kmeans_iters < 1:
        raise ProcessError(f"--kmeans-iters {opts.kmeans_iters}: must be >= 1 "
                           "(3 is the fixed budget; leave unset to iterate to tolerance)")
    if opts.kmeans_sample < 16:
        raise ProcessError(f"--kmeans-sample {opts.kmeans_sample}: fit on at least 16 pixels "
                           "(default 4096)")


def _kml_roles(k: int) -> list[str]:
    """s1 (the frame clustered) and one texture per cluster, s2 .. s{k+1}."""
    return ["s1"] + [f"s{c + 2}" for c in range(k)]


def _kml_plans(pool_size: int, s1s: np.ndarray, rng, k: int) -> list[dict]:
    """Which pool frames each KML image uses: s1 given, K textures drawn without replacement."""
    return [{"s1": int(s), "textures": [int(t) for t in rng.choice(pool_size, k, replace=False)]}
            for s in s1s]


def _kml_images(pool, plans, rng, opts, timing):
    """KML images (uint8) and their provenance, masks computed BATCH images at a time."""
    h = pool.shape[1]
    roles = _kml_roles(opts.k)
    out = np.empty((len(plans),) + pool.shape[1:], np.uint8)
    provs = []
    for start in range(0, len(plans), BATCH):
        chunk = plans[start : start + BATCH]
        t = time.perf_counter()
        masks = cp.kml_masks(pool[[p["s1"] for p in chunk]], rng, opts)
        t2 = time.perf_counter()
        for j, p in enumerate(chunk):
            out[start + j] = masks.image(j, [pool[t] for t in p["textures"]])
            provs.append({
                "sources": [{"role": r, "pool": q} for r, q in zip(roles, [p["s1"]] + p["textures"])],
                "weights": [1.0],
                "mask": cp.mask_record(masks, j, opts, h),
            })
        _add(timing, "kmeans", t2 - t)
        _add(timing, "compose", time.perf_counter() - t2)
    return out, provs


def _kml_rebuild(sources: list[dict], mask: dict, res: int, render: Render, prefix: str = ""):
    """One KML image from its sources and mask record (the recorded centres relabel s1), with
    its steps."""
    frames = {s["role"]: render(s) for s in sources}
    s1 = frames["s1"]
    textures = np.stack([frames[r] for r in _kml_roles(mask["k"])[1:]])
    r = mask["mask_res"]
    centers = np.array(mask["centers_rgb"], np.float32)[None]
    labels, _ = km.assign(cp.mask_pixels(s1[None], r), centers, inertia=False)
    masks = cp.masks_from_labels(labels.reshape(1, r, r), mask["k"], res, centers, 0)
    image = masks.image(0, textures)
    grey = cp.to_uint8(masks.soft[0, ..., 0] * 255)
    steps = [(f"{prefix}s1", s1), (f"{prefix}mask c0", np.stack([grey] * 3, -1))]
    steps += [(f"{prefix}s{c + 2}", textures[c]) for c in range(mask["k"])]
    return image, steps + [(f"{prefix}kml", image)]


@register
class KML(Process):
    """Image i is KML with s1 = pool frame i and K textures drawn from the pool
    (Rodriguez-Munoz et al. 2025)."""

    name = "kml"
    citation = "Rodriguez-Munoz et al. 2025"

    def min_pool(self, opts):
        return opts.k

    def check(self, opts, res):
        _check_kml(opts, res)

    def roles(self, opts):
        return _kml_roles(opts.k)

    def make(self, pool, count, rng, opts, timing):
        plans = _kml_plans(len(pool), np.arange(count), rng, opts.k)
        return _kml_images(pool, plans, rng, opts, timing)

    def rebuild(self, meta, render):
        return _kml_rebuild(meta["sources"], meta["mask"], meta["resolution"], render)


@register
class KMLMixup(Process):
    """Image i is the mean of `mix` (2) KML images: the pool's KML image i and `mix - 1`
    others drawn from the pool's KML images (one KML image per pool frame, as the paper
    mixes images of a KML dataset), so each pool frame is clustered once."""

    name = "kml-mixup"
    citation = "Rodriguez-Munoz et al. 2025"
    default_mix = 2

    def min_pool(self, opts):
        return max(opts.k, self.mix(opts))

    def check(self, opts, res):
        _check_kml(opts, res)
        _check_mix(opts)

    def roles(self, opts):
        return [f"kml{j}.{r}" for j in range(self.mix(opts)) for r in _kml_roles(opts.k)]

    def make(self, pool, count, rng, opts, timing):
        m = self.mix(opts)
        n = len(pool)
        plans = _kml_plans(n, np.arange(n), rng, opts.k)
        kml, kml_provs = _kml_images(pool, plans, rng, opts, timing)
        t = time.perf_counter()
        images = np.empty((count,) + pool.shape[1:], np.uint8)
        provs = []
        for i in range(count):
            others = rng.choice(n - 1, m - 1, replace=False)
            parts = [i] + [int(o + (o >= i)) for o in others]  # partners differ from i
            images[i] = cp.mean_uint8([kml[q] for q in parts])
            provs.append({
                "sources": [dict(s, role=f"kml{j}.{s['role']}") for j, q in enumerate(parts)
                            for s in kml_provs[q]["sources"]],
                "weights": [1.0 / m] * m,
                "mask": [kml_provs[q]["mask"] for q in parts],
            })
        _add(timing, "compose", time.perf_counter() - t)
        return images, provs

    def rebuild(self, meta, render):
        parts, steps = [], []
        for j, mask in enumerate(meta["mask"]):
            own = [dict(s, role=s["role"].split(".", 1)[1]) for s in meta["sources"]
                   if s["role"].startswith(f"kml{j}.")]
            img, st = _kml_rebuild(own, mask, meta["resolution"], render, prefix=f"{j}:")
            parts.append(img)
            steps += st
        image = cp.mean_uint8(parts)
        return image, steps + [("mean", image)]


def get_process(name: str) -> Process:
    """The process called `name`, or a ProcessError listing the choices."""
    if name not in PROCESSES:
        raise ProcessError(f"unknown process {name!r}; choose one of {', '.join(PROCESSES)}")
    return PROCESSES[name]


def check_options(name: str, opts: ProcessOptions, res: int) -> Process:
    """Validate a process name and the options it uses for images of `res` pixels, before
    any work; the process."""
    proc = get_process(name)
    proc.check(opts, res)
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
