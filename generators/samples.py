"""Sample making: one frame pool draw -> images and the sample metadata of contract 3.

`make_samples(cfg, seed_seq, count, renderer)` is shared by the shard job (generators.jobs,
one call per shard, seed `SeedSequence([seed, i])`) and the streaming dataset
(generators.stream), so both give the same distribution. The seed sequence is split into
one stream for the frame pool (generators.frames) and one for the process
(generators.processes); the metadata of each image names its sources (program id, time,
params, source hash), the mix weights and the mask record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from procmem import __version__
from procmem.core.errors import ProcmemError
from procmem.generators import frames as fr
from procmem.generators import processes as pr


class GenerateError(ProcmemError):
    """A bad generation option or shard range."""


@dataclass(frozen=True)
class SampleConfig:
    """What one sample is: process, resolution, where programs come from, process options.

    `programs` is a keyword (library, generated, all) or source -> weight over library,
    generated and user (generators.frames); `user_programs` are the user's own programs
    (shaders.user, sorted by id), drawn from when `user` has a weight."""

    process: str = "kml-mixup"
    res: int = 256
    programs: str | dict = field(default_factory=fr.default_programs)
    frames_per_program: int = 8
    options: pr.ProcessOptions = pr.ProcessOptions()
    user_programs: tuple = ()

    def check(self) -> "SampleConfig":
        pr.check_options(self.process, self.options, self.res)
        if not 16 <= self.res <= 4096:
            raise GenerateError(f"--res {self.res}: must be between 16 and 4096 pixels")
        if self.frames_per_program < 1:
            raise GenerateError(f"--frames-per-program {self.frames_per_program}: must be >= 1 "
                                "(8 amortises one ~150 ms compile over 8 frames)")
        fr.check_programs(self.programs, self.user_programs)
        return self


@dataclass
class Timing:
    """Seconds spent per stage, and what was skipped (summed over shards)."""

    images: int = 0
    render: float = 0.0
    kmeans: float = 0.0
    compose: float = 0.0
    encode: float = 0.0
    write: float = 0.0
    pool: fr.PoolStats = field(default_factory=fr.PoolStats)

    def add(self, other: "Timing") -> None:
        for k in ("images", "render", "kmeans", "compose", "encode", "write"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        self.pool.add(other.pool)


@dataclass
class PoolDraw:
    """A rendered frame pool and the rng stream its process will use."""

    pool: np.ndarray
    specs: list
    stats: fr.PoolStats
    count: int
    process_seed: np.random.SeedSequence


def draw_pool(cfg: SampleConfig, seed_seq: np.random.SeedSequence, count: int,
              renderer) -> PoolDraw:
    """Render the frame pool for `count` images (the first half of `make_samples`)."""
    n = pr.get_process(cfg.process).pool_size(count, cfg.options)
    pool_ss, proc_ss = seed_seq.spawn(2)
    pool, specs, stats = fr.render_pool(renderer, n, cfg.res, np.random.default_rng(pool_ss),
                                        fr.mix_of(cfg.programs, cfg.user_programs),
                                        cfg.frames_per_program)
    return PoolDraw(pool, specs, stats, count, proc_ss)


def samples_from_pool(cfg: SampleConfig, draw: PoolDraw, timing: Timing | None = None):
    """The process applied to a rendered pool (the second half of `make_samples`)."""
    timing = timing if timing is not None else Timing()
    split: dict = {}
    images, provs = pr.make_images(cfg.process, draw.pool, draw.count,
                                   np.random.default_rng(draw.process_seed), cfg.options, split)
    metas = []
    for p in provs:
        sources = [dict(role=s["role"], pool=s["pool"], **draw.specs[s["pool"]].to_json())
                   for s in p["sources"]]
        metas.append({
            "process": cfg.process,
            "resolution": cfg.res,
            "sources": sources,
            "weights": p["weights"],
            "mask": p["mask"],
            "options": cfg.options.to_json(),
            "procmem_version": __version__,
        })
    timing.images += draw.count
    timing.render += draw.stats.render_s
    timing.kmeans += split.get("kmeans", 0.0)
    timing.compose += split.get("compose", 0.0)
    timing.pool.add(draw.stats)
    return images, metas


def make_samples(cfg: SampleConfig, seed_seq: np.random.SeedSequence, count: int, renderer,
                 timing: Timing | None = None):
    """`count` images of cfg's process from a freshly rendered pool: (uint8 [count, H, W, 3],
    [metadata dict]). The metadata is the sample JSON of contract 3, minus the key."""
    return samples_from_pool(cfg, draw_pool(cfg, seed_seq, count, renderer), timing)


def new_renderer(res: int, watchdog: bool):
    """The renderer a worker owns: SafeRenderer (deadline, survives hangs) or a plain one."""
    if watchdog:
        from procmem.generators.watchdog import SafeRenderer

        return SafeRenderer(size=res)
    from procmem.generators.render import Renderer

    return Renderer(size=res)
