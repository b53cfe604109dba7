"""The generation job: shards [A, B) of a shard set, by W worker processes, resumable.

This module schedules shards; it makes none of their content. Shard i is a pure function of
(config, i): its samples come from `generators.samples` with seed `SeedSequence([seed, i])`
(the frame pool rendered once, then the process), and `generators.shards` encodes them and
writes the tar atomically. Complete shards (listed in the manifest, file present with the
recorded size and sha256, re-hashed) are skipped on a rerun, so a killed job is resumed by
running the same command again, and a corrupted shard is remade; disjoint ranges can run as
separate processes (a Slurm array task or Ray task per shard) into the same directory.

Workers are spawned processes (never forked after EGL initialisation), each owning one
renderer (a `SafeRenderer` with a deadline by default, so a hanging program is skipped).
Workers and render children end with the job's process (`generators.lifeline`), and a worker
publishes nothing once it is gone.
With one worker and a SafeRenderer, the next shard's pool is rendered (in the renderer's
child) while the current shard is processed, encoded and written.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from procmem.generators import lifeline
from procmem.generators import processes as pr
from procmem.generators import shards as sh
from procmem.generators.samples import (
    GenerateError,
    PoolDraw,
    SampleConfig,
    Timing,
    draw_pool,
    new_renderer,
    samples_from_pool,
)

logger = logging.getLogger("procmem.generators")


@dataclass(frozen=True)
class GenerateConfig(SampleConfig):
    """A shard set: SampleConfig plus size, sharding, seed and image encoding."""

    num_images: int = 1000
    shard_size: int = 1000
    seed: int = 0
    format: str = "png"
    quality: int = 95

    def check(self) -> "GenerateConfig":
        if self.num_images < 1:
            raise GenerateError(f"--images {self.num_images}: must be >= 1")
        if self.shard_size < 1:
            raise GenerateError(f"--shard-size {self.shard_size}: must be >= 1")
        if self.format not in sh.IMAGE_FORMATS:
            raise GenerateError(f"--format {self.format}: choose one of "
                                f"{', '.join(sh.IMAGE_FORMATS)}")
        if not 1 <= self.quality <= 100:
            raise GenerateError(f"--quality {self.quality}: JPEG quality must be in 1..100")
        if self.seed < 0:
            raise GenerateError(f"--seed {self.seed}: must be >= 0")
        super().check()
        return self

    @property
    def num_shards(self) -> int:
        return -(-self.num_images // self.shard_size)

    def shard_count(self, i: int) -> int:
        return min(self.shard_size, self.num_images - i * self.shard_size)

    def to_json(self) -> dict:
        """The manifest's `config`: every field, the user programs (when there are any) as
        their records (id, sha256, full text), so the shard set alone rebuilds its samples."""
        from procmem.shaders import user

        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["options"] = self.options.to_json()
        if self.user_programs:
            d["user_programs"] = [user.record(p) for p in self.user_programs]
        else:
            del d["user_programs"]  # a set without user programs keeps the config it always had
        return d


def parse_shards(spec: str | None, num_shards: int) -> range:
    """'A:B' (half-open), 'I' (one shard) or None (all) as a range within [0, num_shards)."""
    if spec is None:
        return range(num_shards)
    try:
        if ":" in spec:
            a, b = spec.split(":", 1)
            r = range(int(a) if a else 0, int(b) if b else num_shards)
        else:
            r = range(int(spec), int(spec) + 1)
    except ValueError:
        raise GenerateError(f"--shards {spec!r}: give 'A:B' (shards A..B-1) or one index 'I'")
    if r.start < 0 or r.stop > num_shards or r.start >= r.stop:
        raise GenerateError(f"--shards {spec!r}: must select shards within 0:{num_shards} "
                            f"({num_shards} shards of --shard-size for --images)")
    return r


def shard_seed(cfg: GenerateConfig, i: int) -> np.random.SeedSequence:
    """The seed of shard i: a pure function of (seed, i), so any shard is remade alone."""
    return np.random.SeedSequence([cfg.seed, i])


def draw_shard_pool(cfg: GenerateConfig, i: int, renderer) -> PoolDraw:
    """Shard i's rendered frame pool (the part a prefetching thread runs ahead)."""
    return draw_pool(cfg, shard_seed(cfg, i), cfg.shard_count(i), renderer)


def make_shard(cfg: GenerateConfig, i: int, out: Path, renderer,
               draw: PoolDraw | None = None) -> tuple[dict, Timing]:
    """Render (unless `draw` is given), process, encode and write shard i; record it in the
    manifest. Returns (entry, timing)."""
    timing = Timing()
    draw = draw if draw is not None else draw_shard_pool(cfg, i, renderer)
    images, metas = samples_from_pool(cfg, draw, timing)
    t = time.perf_counter()
    samples = sh.encode_samples(i, images, metas, cfg.seed, cfg.format, cfg.quality)
    t2 = time.perf_counter()
    name = sh.shard_name(cfg.process, i)
    entry = sh.write_shard(out / name, samples,
                           before_publish=lambda: lifeline.ensure_parent(f"shard {name}"))
    entry["index"] = i
    lifeline.ensure_parent(f"the manifest entry of {name}")
    sh.record_shard(out, cfg.to_json(), entry)
    timing.encode += t2 - t
    timing.write += time.perf_counter() - t2
    return entry, timing


def make_shards_prefetching(cfg: GenerateConfig, todo: list[int], out: Path, renderer):
    """Yield (entry, timing) for each shard in `todo`, rendering shard k+1's pool in a thread
    while shard k is processed, encoded and written. For a `SafeRenderer`, whose rendering
    happens in its child process, this overlaps GPU/llvmpipe work with the CPU stages."""
    from concurrent.futures import ThreadPoolExecutor

    if not todo:
        return
    with ThreadPoolExecutor(1, thread_name_prefix="procmem-render") as pre:
        nxt = pre.submit(draw_shard_pool, cfg, todo[0], renderer)
        for k, i in enumerate(todo):
            draw = nxt.result()
            if k + 1 < len(todo):
                nxt = pre.submit(draw_shard_pool, cfg, todo[k + 1], renderer)
            yield make_shard(cfg, i, out, renderer, draw)


# --- the job ----------------------------------------------------------------------------------


_WORKER: dict = {}


def _worker_init(res: int, watchdog: bool, parent_pid: int, library_root) -> None:
    """A pool worker ends with the job's process (and its render child with it): a SIGKILLed
    job leaves no writer behind (`generators.lifeline`). It draws from the job's library
    folder, whose skipped files the job has reported already."""
    lifeline.die_with_parent(parent_pid)
    from procmem.shaders import registry

    registry.LIBRARY_ROOT = library_root
    logging.getLogger("procmem.shaders").setLevel(logging.ERROR)
    _WORKER["renderer"] = new_renderer(res, watchdog)


def _worker_shard(cfg: GenerateConfig, i: int, out: str):
    return make_shard(cfg, i, Path(out), _WORKER["renderer"])


@dataclass
class Summary:
    """What a job did: shards made and skipped, images, wall time, and the Timing split."""

    made: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    damaged: list = field(default_factory=list)
    swept: int = 0
    wall_s: float = 0.0
    timing: Timing = field(default_factory=Timing)

    @property
    def images_per_s(self) -> float:
        return self.timing.images / self.wall_s if self.wall_s > 0 else 0.0

    def text(self) -> str:
        t = self.timing
        work = t.render + t.kmeans + t.compose + t.encode + t.write
        split = ", ".join(f"{k} {getattr(t, k):.1f} s ({getattr(t, k) / work:.0%})"
                          for k in ("render", "kmeans", "compose", "encode", "write")
                          if work > 0)
        failed = sorted({f["program"] for f in t.pool.failed_programs})
        lines = [
            f"made {len(self.made)} shards ({t.images} images) in {self.wall_s:.1f} s: "
            f"{self.images_per_s:.1f} images/s; skipped {len(self.skipped)} complete shards",
            f"time split (summed over workers): {split or 'none'}",
            f"frames rendered {t.pool.frames}, rejected by the quality filter "
            f"{t.pool.rejected}" + (f" ({t.pool.rejected_reasons})" if t.pool.rejected else ""),
            f"failed programs (skipped): {len(failed)}" + (f": {', '.join(failed)}"
                                                           if failed else ""),
        ]
        if self.damaged:
            lines.append(f"remade {len(self.damaged)} listed shards that no longer matched the "
                         f"manifest: {'; '.join(self.damaged)}")
        if self.swept:
            lines.append(f"removed {self.swept} temporaries left by killed writers")
        return "\n".join(lines)


def complete_shards(out: Path, indices=None, damaged: list[str] | None = None) -> set[int]:
    """Indices (among `indices`, default all) of the shards listed in the manifest whose tar is
    present with the listed sha256. Each tar is re-hashed, so a corrupted one is remade rather
    than skipped; `damaged` collects a line for each listed shard that no longer is."""
    m = sh.read_manifest(out)
    wanted = None if indices is None else set(indices)
    done = set()
    for e in (m or {}).get("shards", []):
        if wanted is not None and e["index"] not in wanted:
            continue
        problem = sh.shard_problem(out / e["name"], e)
        if problem is None:
            done.add(e["index"])
        elif damaged is not None:
            damaged.append(f"{e['name']}: {problem}")
    return done


def run(cfg: GenerateConfig, out: str | os.PathLike, shards: range | None = None,
        workers: int = 1, watchdog: bool = True, renderer=None, progress: bool = True,
        log: str | os.PathLike | None = None) -> Summary:
    """Make the shards in `shards` (default all) that are not complete yet; return a Summary.

    Everything is validated (options, range, an existing manifest's config) before any
    rendering. `renderer` (one process only) reuses an existing renderer.
    """
    cfg.check()
    if workers < 1:
        raise GenerateError(f"--workers {workers}: must be >= 1")
    shards = shards if shards is not None else range(cfg.num_shards)
    if shards.start < 0 or shards.stop > cfg.num_shards:
        raise GenerateError(f"shards {shards.start}:{shards.stop} outside 0:{cfg.num_shards}")
    out = Path(out)
    sh.open_manifest(out, cfg.to_json())
    damaged: list[str] = []
    done = complete_shards(out, shards, damaged)
    todo = [i for i in shards if i not in done]
    for i in todo:
        if (out / sh.shard_name(cfg.process, i)).is_dir():
            raise GenerateError(f"{out / sh.shard_name(cfg.process, i)} is a directory where "
                                f"shard {i} belongs: move it away, then rerun")
    summary = Summary(skipped=[i for i in shards if i in done], damaged=damaged,
                      swept=sh.remove_stale_temporaries(
                          out, [sh.shard_name(cfg.process, i) for i in todo]))
    for line in damaged:
        logger.warning("remaking %s", line)
    from procmem.core.progress import progress as progress_bar

    bar = progress_bar(total=sum(cfg.shard_count(i) for i in todo), unit="img", disable=not progress,
                       log=log, desc=f"{cfg.process} {cfg.res}px")
    start = time.perf_counter()

    def finish(entry, timing):
        summary.made.append(entry["index"])
        summary.timing.add(timing)
        bar.update(entry["count"])
        bar.set_postfix(rejected=summary.timing.pool.rejected,
                        failed=len(summary.timing.pool.failed_programs))

    try:
        if workers == 1 or len(todo) <= 1:
            own = renderer is None
            r = renderer if renderer is not None else new_renderer(cfg.res, watchdog)
            try:
                from procmem.generators.watchdog import SafeRenderer

                if isinstance(r, SafeRenderer):  # it renders in its child: overlap the stages
                    for result in make_shards_prefetching(cfg, todo, out, r):
                        finish(*result)
                else:  # an in-process GL context stays on this thread
                    for i in todo:
                        finish(*make_shard(cfg, i, out, r))
            finally:
                if own:
                    r.close()
        else:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor, as_completed
            from concurrent.futures.process import BrokenProcessPool

            from procmem.shaders import registry

            with ProcessPoolExecutor(min(workers, len(todo)), mp_context=mp.get_context("spawn"),
                                     initializer=_worker_init,
                                     initargs=(cfg.res, watchdog, os.getpid(),
                                               registry.LIBRARY_ROOT)) as ex:
                futures = [ex.submit(_worker_shard, cfg, i, str(out)) for i in todo]
                try:
                    for f in as_completed(futures):
                        finish(*f.result())
                except BrokenProcessPool:
                    raise GenerateError(
                        f"a worker process died (killed, or out of memory) after {len(summary.made)} "
                        f"of {len(todo)} shards; the complete shards are on disk: rerun the same "
                        "command to make the rest") from None
                except BaseException:
                    ex.shutdown(wait=True, cancel_futures=True)  # stop at the first failure
                    raise
    finally:
        bar.close()
        summary.wall_s = time.perf_counter() - start
    summary.made.sort()
    return summary


def config_from_json(d: dict) -> GenerateConfig:
    """Rebuild a GenerateConfig from a manifest's `config`; recorded user programs are checked
    against their sha256 (shaders.user.from_records)."""
    from procmem.shaders import user

    d = dict(d)
    d["options"] = pr.ProcessOptions(**d.get("options", {}))
    d["user_programs"] = user.from_records(d.get("user_programs", []))
    return GenerateConfig(**d)
