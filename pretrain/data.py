"""Where DINO's images come from: a procedural shard set (WebDataset) or the live stream.

`--data DIR` reads the tars of a shard set (contract 4) with WebDataset, resampled (an
infinite stream; an epoch is a configured number of steps), split by node then worker,
shuffled in a buffer, decoded to uint8, multi-cropped and batched inside the workers.
A corrupt shard or sample is reported as a warning and skipped; `data.max_bad_samples` of
them in a row (every sample bad, say) stop the run with an error naming the shard set.
`--data stream:<process>` renders the same processes on the fly (generators.stream).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from procmem.core.errors import ProcmemError
from procmem.core.hashing import sha256_file
from procmem.pretrain.augment import MultiCrop, collate_crops

IMAGE_KEYS = ("png", "jpg", "jpeg")


class DataError(ProcmemError):
    """A --data value that names no usable procedural images."""


class CorruptDataWarning(UserWarning):
    """A shard or sample that could not be read and was skipped."""


class BadDataGuard:
    """WebDataset handler that warns and skips a bad sample, and stops after too many in a row.

    Each loader worker holds its own copy: `skip` counts consecutive failures, `ok` (called on
    every good sample) resets the count. Without a bound, a shard set whose every sample is
    corrupt spins a resampled stream forever with no step and no error.
    """

    def __init__(self, where: str, limit: int):
        self.where, self.limit, self.bad = where, limit, 0

    def skip(self, exn: Exception) -> bool:
        self.bad += 1
        if self.limit > 0 and self.bad >= self.limit:
            raise DataError(f"--data {self.where}: {self.bad} samples in a row could not be read "
                            f"(last: {exn!r}); check the set with `procmem shards verify "
                            f"{self.where}` and remake it (or raise data.max_bad_samples)")
        warnings.warn(f"skipping unreadable procedural data: {exn!r}", CorruptDataWarning,
                      stacklevel=2)
        return True

    def ok(self) -> None:
        self.bad = 0


def worker_message(exc: Exception) -> str:
    """The message of an error raised in a DataLoader worker, without the traceback text
    torch wraps it in ("Caught DataError in DataLoader worker process 0. Original ...")."""
    text = str(exc).strip()
    if not text.startswith("Caught "):
        return text
    last = text.splitlines()[-1]
    return last.split(": ", 1)[1] if ": " in last else last


def shard_urls(directory: str | Path) -> list[str]:
    """The tars of a shard set, sorted; a clear error when the folder is not one."""
    d = Path(directory)
    if not d.is_dir():
        raise DataError(f"--data {directory}: no such directory (give a shard set made by "
                        "`procmem generate`, or stream:<process>)")
    if not (d / "manifest.json").is_file():
        raise DataError(f"--data {directory}: no manifest.json, so this is not a shard set "
                        "(contract 4); generate one with `procmem generate`")
    from procmem.generators.shards import read_manifest

    # Only the shards the manifest lists: a stray or half-made tar in the folder is not data.
    # Names are plain file names (read_manifest refuses anything else); WebDataset gets
    # absolute local paths only, never a URL it could interpret (pipe:, http:).
    names = [e["name"] for e in read_manifest(d)["shards"]]
    urls = sorted(str((d / n).resolve()) for n in names if (d / n).is_file())
    if not urls:
        raise DataError(f"--data {directory}: its manifest.json lists no finished .tar shards; "
                        "finish generating the shard set first (`procmem generate` resumes)")
    return urls


def data_provenance(spec: str, cfg: dict) -> dict:
    """What the encoder learned from: the shard manifest's sha256, or the stream's settings."""
    if spec.startswith("stream:"):
        d = cfg["data"]
        return {"kind": "stream", "process": spec.split(":", 1)[1], "res": d["stream_res"],
                "pool_size": d["stream_pool"], "seed": cfg["run"]["seed"]}
    d = Path(spec)
    manifest = d / "manifest.json"
    shard_urls(d)
    return {"kind": "shards", "dir": str(d.resolve()),
            "manifest_sha256": sha256_file(manifest)}


class _Augment:
    """Picklable image -> crops transform; a shard sample (dict) gives its png/jpg/jpeg image."""

    def __init__(self, cfg: dict, guard: BadDataGuard | None = None):
        self.multicrop = MultiCrop(cfg)
        self.guard = guard

    def __call__(self, item) -> list[torch.Tensor]:
        if isinstance(item, dict):
            item = _sample_image(item)
        crops = self.multicrop(item)
        if self.guard is not None:
            self.guard.ok()
        return crops


def _sample_image(sample: dict):
    for k in IMAGE_KEYS:
        if k in sample:
            return sample[k]
    raise ValueError(f"sample {sample.get('__key__')} from {sample.get('__url__')} "
                     f"has no image (keys {sorted(sample)})")


def shard_dataset(directory: str | Path, cfg: dict, batch_per_rank: int):
    """Resampled WebDataset over a shard set yielding multi-crop batches (lists of tensors)."""
    import webdataset as wds

    urls = shard_urls(directory)
    guard = BadDataGuard(str(directory), cfg["data"]["max_bad_samples"])
    return (
        wds.WebDataset(urls, resampled=True, shardshuffle=False, nodesplitter=wds.split_by_node,
                       empty_check=False, handler=guard.skip)
        .shuffle(cfg["data"]["shuffle_buffer"])
        .decode("pil" if cfg["augment"]["backend"] == "pil" else "torchrgb8",
                handler=guard.skip)
        .map(_Augment(cfg, guard), handler=guard.skip)
        .batched(batch_per_rank, collation_fn=collate_crops, partial=False)
    )


def stream_dataset(process: str, cfg: dict, batch_per_rank: int, seed: int):
    """Procedural samples rendered on the fly (generators.stream.ProceduralStream).

    Each DataLoader worker renders with its own EGL context; `seed` differs per resume so a
    resumed run draws new images instead of replaying the first ones.
    """
    import webdataset as wds

    try:
        from procmem.generators.stream import ProceduralStream
    except ImportError as e:
        raise DataError(f"--data stream:{process} needs generators.stream ({e}); "
                        "use a shard directory instead") from None
    d = cfg["data"]
    stream = ProceduralStream(process, res=d["stream_res"], seed=seed, pool_size=d["stream_pool"],
                              transform=_Augment(cfg), with_metadata=False)
    return wds.DataPipeline(stream, wds.batched(batch_per_rank, collation_fn=collate_crops,
                                                partial=False))


def make_loader(spec: str, cfg: dict, batch_per_rank: int, pin_memory: bool = False,
                start_step: int = 0):
    """A DataLoader over `spec` (shard dir or stream:<process>); batching happens in workers."""
    if spec.startswith("stream:"):
        seed = cfg["run"]["seed"] + 7919 * start_step
        ds = stream_dataset(spec.split(":", 1)[1], cfg, batch_per_rank, seed)
    else:
        ds = shard_dataset(spec, cfg, batch_per_rank)
    workers = cfg["data"]["workers"]
    extra = dict(prefetch_factor=cfg["data"]["prefetch_factor"], persistent_workers=True) \
        if workers > 0 else {}
    return torch.utils.data.DataLoader(ds, batch_size=None, num_workers=workers,
                                       pin_memory=pin_memory, **extra)
