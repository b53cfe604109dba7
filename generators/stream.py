"""Procedural images rendered on the fly for training, without shards on disk.

`ProceduralStream` is a torch `IterableDataset` that makes the same processes' samples as
`procmem generate` (the same `generators.samples.make_samples`: a frame pool of `pool_size`
frames rendered at once, then the process), so the distribution is the shard path's.
Each DataLoader worker creates its own renderer lazily, inside the worker, on its first
sample: by default a `SafeRenderer`, whose render child has a deadline (a hanging program is
skipped and logged, as in `procmem generate`) and ends with the worker. With
`watchdog=False` the worker renders in its own EGL context; then use
`multiprocessing_context="spawn"` when the main process has created an EGL context (rendered
anything): a worker forked after that hangs in Mesa. Worker w of rank r draws pool c from
`SeedSequence([seed, STREAM_TAG, r, w, c])`, so workers and ranks never repeat each other
(and never repeat a shard set's `SeedSequence([seed, i])`); the rank is
`torch.distributed.get_rank()` when a process group is initialised.

Yields `(image, metadata)`: image a uint8 numpy array [res, res, 3] (or `transform(image)`
when a transform is given), metadata the sample JSON dict of contract 3 plus `stream`
(rank, worker, pool, index). The metadata holds None and lists of varying length, which
torch's default collate refuses: give a DataLoader `collate_fn=collate` (images stacked,
metadata a list of dicts), or `with_metadata=False` to get the image alone.

With `plans=True` (the device data path, `data.process_on=device`) a worker only renders
and draws: it yields one item per pool, `{"pool": uint8 tensor [P, res, res, 3], "plan":
generators.torch_compose.Plan}` (or `transform(item)`), the plan holding every draw the
process would make from the pool's rng; `torch_compose.compose(pool, plan)` on the training
device makes the pool's images (the loader path's images, within torch_compose.TOLERANCE).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from procmem.generators.processes import ProcessOptions
from procmem.generators.samples import SampleConfig, Timing, make_samples, new_renderer

STREAM_TAG = 0x5354_5245  # "STRE": keeps stream seeds apart from shard seeds [seed, i]


def _torch_dataset_base():
    import torch.utils.data

    return torch.utils.data.IterableDataset


def collate(batch: list):
    """DataLoader `collate_fn` for the stream: (images stacked by torch's default collate, the
    metadata dicts as a list); a batch of bare images (`with_metadata=False`) is just stacked."""
    from torch.utils.data import default_collate

    if batch and isinstance(batch[0], tuple) and len(batch[0]) == 2 and isinstance(batch[0][1], dict):
        images, metas = zip(*batch)
        return default_collate(list(images)), list(metas)
    return default_collate(batch)


class ProceduralStream(_torch_dataset_base()):
    """An endless (or `num_images`-long) stream of procedural images, rendered per worker."""

    def __init__(self, process: str = "kml-mixup", res: int = 256, seed: int = 0,
                 pool_size: int = 256, programs: str | None = None,
                 frames_per_program: int = 8, options: ProcessOptions = ProcessOptions(),
                 num_images: int | None = None, transform: Callable | None = None,
                 with_metadata: bool = True, watchdog: bool = True,
                 rank: int | None = None, world_size: int | None = None, plans: bool = False,
                 user_programs: tuple = ()):
        super().__init__()
        from procmem.generators.frames import default_programs

        self.config = SampleConfig(process=process, res=res,
                                   programs=programs or ({"user": 1.0} if user_programs
                                                         else default_programs()),
                                   user_programs=tuple(user_programs),
                                   frames_per_program=frames_per_program,
                                   options=options).check()
        if pool_size < 1:
            from procmem.generators.processes import ProcessError

            raise ProcessError(f"pool_size={pool_size}: render at least one frame per pool "
                               "(256 amortises compiles and gives KML textures to draw from)")
        self.seed = seed
        self.pool_size = pool_size
        self.num_images = num_images
        self.transform = transform
        self.with_metadata = with_metadata
        self.watchdog = watchdog
        self.rank = rank
        self.world_size = world_size
        self.plans = plans
        if plans:
            from procmem.generators.torch_compose import check

            check(process, options, res)
        self.timing = Timing()
        self._renderer = None

    def _where(self) -> tuple[int, int, int, int]:
        """(rank, world size, worker id, workers per rank) of the calling process."""
        import torch.distributed as dist
        import torch.utils.data

        rank, world = self.rank, self.world_size
        if rank is None:
            rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
        if world is None:
            world = dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1
        info = torch.utils.data.get_worker_info()
        return rank, world, (info.id if info else 0), (info.num_workers if info else 1)

    def renderer(self):
        """This process's renderer, created on first use (so inside the DataLoader worker)."""
        if self._renderer is None:
            self._renderer = new_renderer(self.config.res, self.watchdog)
        return self._renderer

    def __iter__(self):
        rank, world, worker, workers = self._where()
        quota = None
        if self.num_images is not None:
            slot, slots = rank * workers + worker, world * workers
            quota = self.num_images // slots + (slot < self.num_images % slots)
        made, pool = 0, 0
        while quota is None or made < quota:
            count = self.pool_size if quota is None else min(self.pool_size, quota - made)
            ss = np.random.SeedSequence([self.seed, STREAM_TAG, rank, worker, pool])
            if self.plans:
                yield self._plan_item(ss, count)
                made += count
                pool += 1
                continue
            images, metas = make_samples(self.config, ss, count, self.renderer(), self.timing)
            for j, (img, meta) in enumerate(zip(images, metas)):
                meta["stream"] = {"rank": rank, "worker": worker, "pool": pool, "index": j}
                out = self.transform(img) if self.transform is not None else img
                yield (out, meta) if self.with_metadata else out
            made += count
            pool += 1

    def _plan_item(self, ss: np.random.SeedSequence, count: int):
        """One pool rendered and its process's draws (the device data path's item)."""
        import torch

        from procmem.generators.samples import draw_pool
        from procmem.generators.torch_compose import plan

        cfg = self.config
        draw = draw_pool(cfg, ss, count, self.renderer())
        item = {"pool": torch.from_numpy(draw.pool),
                "plan": plan(cfg.process, len(draw.pool), count, cfg.res,
                             np.random.default_rng(draw.process_seed), cfg.options)}
        self.timing.images += count
        self.timing.render += draw.stats.render_s
        self.timing.pool.add(draw.stats)
        return self.transform(item) if self.transform is not None else item

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_renderer"] = None  # each worker makes its own EGL context
        return state
