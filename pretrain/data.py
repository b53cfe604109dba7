"""Where DINO's images come from: a procedural shard set (WebDataset), your own shards, or the
live stream.

`--data DIR` reads the tars of a shard set (contract 4) with WebDataset, resampled (an
infinite stream; an epoch is a configured number of steps), split by node then worker,
shuffled in a buffer, decoded to uint8, multi-cropped and batched inside the workers.
Your own WebDataset shards (an image, png/jpg/jpeg/webp, and any other members per sample)
come the same way from a folder of tars without a manifest, a brace pattern
('data/shard-{000000..000099}.tar') or a text file listing tars; local files only. Their
provenance says the data was not made by procmem, so the compartment audit cannot pass it.
A corrupt shard or sample is reported as a warning and skipped; `data.max_bad_samples` of
them in a row (every sample bad, say) stop the run with an error naming the data.
`--data stream:<process>` renders the same processes on the fly (generators.stream); with
`data.process_on=device` its workers only render and draw, and the training device composes
and crops (pretrain.device_data).
"""

from __future__ import annotations

import functools
import os
import re
import warnings
from pathlib import Path

import torch

from procmem.core.errors import ProcmemError
from procmem.core.hashing import sha256_bytes, sha256_file
from procmem.pretrain.augment import MultiCrop, collate_crops

IMAGE_KEYS = ("png", "jpg", "jpeg", "webp")
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz")
URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")  # pipe:, http:, s3:, file: ...
HASH_PROGRESS_BYTES = 1 << 30  # your shards are hashed at start; a progress line above 1 GiB


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

    def __init__(self, where: str, limit: int, check: str):
        self.where, self.limit, self.check, self.bad = where, limit, check, 0

    def skip(self, exn: Exception) -> bool:
        self.bad += 1
        if self.limit > 0 and self.bad >= self.limit:
            raise DataError(f"--data {self.where}: {self.bad} samples in a row could not be read "
                            f"(last: {exn!r}); {self.check} (or raise data.max_bad_samples)")
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


def shard_urls(spec: str | Path) -> list[str]:
    """The tars `--data` names, as absolute local paths: a shard set's (its manifest's, sorted),
    or your own WebDataset shards (a folder of tars, a brace pattern, a text file listing them).

    WebDataset gets these paths only, never a URL it could interpret (pipe:, http:, s3:)."""
    text = str(spec)
    _refuse_url(text, text)
    d = Path(text)
    if is_shard_set(d):
        return _shard_set_urls(d)
    if d.is_dir():
        tars = sorted(q for q in d.iterdir() if q.is_file() and q.name.endswith(TAR_SUFFIXES))
        if not tars:
            raise DataError(f"--data {text}: a folder with neither manifest.json (a shard set "
                            "from `procmem generate`) nor .tar files (WebDataset shards)")
        return [str(q.resolve()) for q in tars]
    if d.is_file() and not d.name.endswith(TAR_SUFFIXES):
        return _listed_urls(d)
    return _local_tars(text, Path.cwd(), f"--data {text}")


def is_shard_set(spec: str | Path) -> bool:
    """Whether `spec` is a shard set made by procmem (a folder with a manifest.json)."""
    return Path(spec).is_dir() and (Path(spec) / "manifest.json").is_file()


def _refuse_url(entry: str, where: str) -> None:
    if URL_SCHEME.match(entry):
        raise DataError(f"--data {where}: {entry!r} is a URL or command ({entry.split(':', 1)[0]}:); "
                        "pretraining reads local files only: copy the shards to this machine "
                        "and give their paths")


def _local_tars(pattern: str, base: Path, where: str) -> list[str]:
    """A path or brace pattern ('d/shard-{000000..000099}.tar') as existing absolute tar paths."""
    from braceexpand import braceexpand

    _refuse_url(pattern, where.removeprefix("--data "))
    paths = [(base / Path(p).expanduser()).resolve() for p in braceexpand(pattern)]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        what = (f"no such file or directory: {missing[0]}" if len(paths) == 1 else
                f"{len(missing)} of the {len(paths)} shards do not exist (first: {missing[0]})")
        raise DataError(f"{where}: {what}; give a shard set from `procmem generate`, a folder of "
                        "tars, a brace pattern such as 'data/shard-{000000..000099}.tar', a text "
                        "file listing tars, or stream:<process>")
    return [str(p) for p in paths]


def _listed_urls(listing: Path) -> list[str]:
    """A text file of tar paths or brace patterns, one a line (# comments); relative paths are
    taken from the file's folder."""
    try:
        lines = listing.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"--data {listing}: not a readable list of shards ({e})") from None
    entries = [(ln.strip(), f"{listing}, line {i}") for i, ln in enumerate(lines, 1)
               if ln.strip() and not ln.strip().startswith("#")]
    if not entries:
        raise DataError(f"--data {listing}: the shard list names no tar; write one path per line")
    for e, where in entries:  # every line is checked for a URL before any file is
        _refuse_url(e, where)
    return [u for e, where in entries
            for u in _local_tars(e, listing.parent.resolve(), f"--data {where}")]


def _shard_set_urls(d: Path) -> list[str]:
    """The tars a shard set's manifest lists and that exist, sorted."""
    from procmem.generators.shards import read_manifest

    # Only the shards the manifest lists: a stray or half-made tar in the folder is not data.
    # Names are plain file names (read_manifest refuses anything else).
    names = [e["name"] for e in read_manifest(d)["shards"]]
    urls = sorted(str((d / n).resolve()) for n in names if (d / n).is_file())
    if not urls:
        raise DataError(f"--data {d}: its manifest.json lists no finished .tar shards; "
                        "finish generating the shard set first (`procmem generate` resumes)")
    return urls


@functools.lru_cache(maxsize=None)
def _tar_sha256(path: str, size: int, mtime_ns: int) -> str:
    return sha256_file(path)


def foreign_provenance(urls: list[str]) -> dict:
    """What a run learned from when the shards are not procmem's: the files, and the sha256 of
    what `sha256sum` prints for them in this order (`hash  name` lines), so anyone can check."""
    from procmem.core.progress import progress

    stats = [os.stat(u) for u in urls]
    big = sum(s.st_size for s in stats) > HASH_PROGRESS_BYTES and os.environ.get("RANK", "0") == "0"
    lines = [f"{_tar_sha256(u, s.st_size, s.st_mtime_ns)}  {Path(u).name}\n"
             for u, s in progress(list(zip(urls, stats)), desc="hashing --data", unit="tar",
                                  disable=not big)]
    return {"kind": "foreign-shards", "made_by_procmem": False, "files": urls,
            "bytes": sum(s.st_size for s in stats), "sha256": sha256_bytes("".join(lines).encode())}


def check_process_on(spec: str, cfg: dict) -> None:
    """data.process_on=device composes rendered frames: a DataError unless --data is a stream."""
    if cfg.get("data", {}).get("process_on") == "device" and not str(spec).startswith("stream:"):
        raise DataError(f"--data {spec}: data.process_on=device composes frames rendered by the "
                        "loader on the training device, and shards on disk hold finished images, "
                        "not frames: use --data stream:<process> with it, or data.process_on=loader "
                        "(the default) with these shards")


def data_provenance(spec: str, cfg: dict) -> dict:
    """What the encoder learned from: the shard manifest's sha256, your shards' files and their
    sha256, or the stream's settings."""
    check_process_on(spec, cfg)
    if spec.startswith("stream:"):
        d = cfg["data"]
        return {"kind": "stream", "process": spec.split(":", 1)[1], "res": d["stream_res"],
                "pool_size": d["stream_pool"], "seed": cfg["run"]["seed"]}
    urls = shard_urls(spec)
    if not is_shard_set(spec):
        return foreign_provenance(urls)
    d = Path(spec)
    return {"kind": "shards", "dir": str(d.resolve()),
            "manifest_sha256": sha256_file(d / "manifest.json")}


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
    """The sample's image: its png/jpg/jpeg/webp member (also `image.jpg`-style names)."""
    for k in IMAGE_KEYS:
        if k in sample:
            return sample[k]
    for k, v in sample.items():
        if not k.startswith("__") and k.rsplit(".", 1)[-1].lower() in IMAGE_KEYS:
            return v
    raise ValueError(f"sample {sample.get('__key__')} from {sample.get('__url__')} "
                     f"has no image (keys {sorted(sample)})")


def shard_dataset(spec: str | Path, cfg: dict, batch_per_rank: int, seed: int = 0):
    """Resampled WebDataset over the tars `spec` names yielding multi-crop batches (lists of
    tensors). The shard draws and the shuffle buffer are seeded by `seed` and the rank and
    worker (WebDataset seeds them from the clock unless told), so the same command gives the
    same batches; make_loader's seed moves with the resume step."""
    import webdataset as wds

    urls = shard_urls(spec)
    check = (f"check the set with `procmem shards verify {spec}` and remake it" if is_shard_set(spec)
             else f"check that each sample has one image ({', '.join(IMAGE_KEYS)})")
    guard = BadDataGuard(str(spec), cfg["data"]["max_bad_samples"], check)
    return (
        wds.DataPipeline(
            wds.ResampledShards(urls, seed=seed, deterministic=True, empty_check=False),
            wds.split_by_node,
            wds.tarfile_to_samples(handler=guard.skip),
            functools.partial(_seeded_shuffle, bufsize=cfg["data"]["shuffle_buffer"], seed=seed),
            wds.decode("pil" if cfg["augment"]["backend"] == "pil" else "torchrgb8",
                       handler=guard.skip),
            wds.map(_Augment(cfg, guard), handler=guard.skip),
            wds.batched(batch_per_rank, collation_fn=collate_crops, partial=False),
        )
    )


def _seeded_shuffle(samples, bufsize: int, seed: int):
    """WebDataset's shuffle buffer with a seed of (seed, rank, worker), made in the worker."""
    from webdataset import filters, utils

    if bufsize < 1:
        return samples
    return filters._shuffle(samples, bufsize, min(100, bufsize),
                            seed=utils.make_seed(utils.pytorch_worker_seed(), seed))


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
                start_step: int = 0, device: torch.device | str = "cpu"):
    """A DataLoader over `spec` (shards or stream:<process>); batching happens in workers.
    With data.process_on=device, an iterable of crop batches made on `device` from the
    workers' pools (pretrain.device_data.DeviceBatches)."""
    check_process_on(spec, cfg)
    on_device = cfg["data"]["process_on"] == "device"
    seed = cfg["run"]["seed"] + 7919 * start_step  # a resumed run draws anew
    if spec.startswith("stream:"):
        if on_device:
            from procmem.pretrain.device_data import device_stream

            ds = device_stream(spec.split(":", 1)[1], cfg, seed)
        else:
            ds = stream_dataset(spec.split(":", 1)[1], cfg, batch_per_rank, seed)
    else:
        ds = shard_dataset(spec, cfg, batch_per_rank, seed)
    workers = cfg["data"]["workers"]
    extra = dict(prefetch_factor=cfg["data"]["prefetch_factor"], persistent_workers=True) \
        if workers > 0 else {}
    if on_device and workers > 0:
        extra["multiprocessing_context"] = "spawn"  # a forked worker hangs in Mesa after a render
    loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=workers,
                                         pin_memory=pin_memory, **extra)
    if on_device:
        from procmem.pretrain.device_data import DeviceBatches

        return DeviceBatches(loader, cfg, batch_per_rank, device)
    return loader
