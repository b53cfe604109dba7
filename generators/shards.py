"""WebDataset shards: deterministic tar writing and reading, the manifest, and verification.

A shard is a tar of samples `<key>.png` (or `.jpg`) + `<key>.json` with key
`{shard:06d}{index:06d}` (contract 3), named `{process}-{shard:06d}.tar` (contract 4).
Tars are written here with `tarfile` and fixed metadata (mtime 0, uid/gid 0, no user or
group names, mode 0644, members in sample order, image before json) and images are
encoded deterministically, so remaking a shard gives byte-identical files on the same
renderer. A tar is written to a hidden temporary name and renamed when complete
(`procmem.atomic`), so a partial shard is never visible under its final name.

Manifest merging: `manifest.json` holds the procmem version, the full config and one entry
per shard (name, index, count, sha256, bytes), sorted by index. Several processes (a Slurm
array, one Ray task per shard) may write disjoint shard ranges into one directory at once:
each update takes an exclusive `fcntl.flock` on `.manifest.lock`, re-reads the manifest,
adds its entry and rewrites it atomically. A lock (rather than per-shard sidecar files) was
chosen so the directory always holds one up-to-date manifest and nothing to merge later.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import struct
import tarfile
import zlib
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from procmem import __version__
from procmem.core.atomic import atomic_open, atomic_write_json, sweep_temporaries
from procmem.core.errors import ProcmemError
from procmem.core.hashing import sha256_file

MANIFEST = "manifest.json"
LOCK = ".manifest.lock"
FORMAT = "procmem-shards/1"
IMAGE_FORMATS = ("png", "jpg")
PNG_LEVEL = 1
"""zlib level for PNG; with the RLE strategy on Up-filtered rows, level 1 compresses procedural
images as well as Pillow's default and ~2.5x faster (benchmarks/generate.py: encode share)."""


class ShardError(ProcmemError):
    """A shard set is inconsistent, incompatible or unreadable."""


def shard_name(process: str, index: int) -> str:
    return f"{process}-{index:06d}.tar"


def sample_key(shard: int, index: int) -> str:
    return f"{shard:06d}{index:06d}"


def _png_chunk(tag: bytes, data) -> list:
    """A PNG chunk as parts to join: length, tag, data, CRC-32 of tag and data."""
    return [struct.pack(">I", len(data)), tag, data,
            struct.pack(">I", zlib.crc32(data, zlib.crc32(tag)))]


def encode_png(img: np.ndarray) -> bytes:
    """PNG bytes of uint8 [H, W, 3] (PNG spec, ISO/IEC 15948): every row Up-filtered (filter
    type 2, the byte-wise difference to the row above), one IDAT compressed by zlib with the
    RLE strategy, no metadata chunks. Deterministic for a given zlib; a full decoder (Pillow,
    WebDataset) reads it like any PNG. The filtered rows go to zlib without a copy."""
    h, w, _ = img.shape
    flat = np.ascontiguousarray(img, dtype=np.uint8).reshape(h, w * 3)
    raw = np.empty((h, 1 + w * 3), np.uint8)
    raw[:, 0] = 2
    raw[0, 1:] = flat[0]
    np.subtract(flat[1:], flat[:-1], out=raw[1:, 1:])  # wraps modulo 256, as the filter says
    z = zlib.compressobj(PNG_LEVEL, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    data = z.compress(raw) + z.flush()
    return b"".join([b"\x89PNG\r\n\x1a\n"]
                    + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                    + _png_chunk(b"IDAT", data) + _png_chunk(b"IEND", b""))


def encode_image(img: np.ndarray, fmt: str = "png", quality: int = 95) -> bytes:
    """Deterministic PNG (`encode_png`) or JPEG (Pillow, fixed settings) bytes of uint8 HxWx3."""
    from PIL import Image

    if fmt == "png":
        return encode_png(img)
    buf = io.BytesIO()
    im = Image.fromarray(np.ascontiguousarray(img))
    if fmt == "jpg":
        im.save(buf, format="JPEG", quality=quality, optimize=False, subsampling=0)
    else:
        raise ShardError(f"unknown image format {fmt!r}; choose one of {', '.join(IMAGE_FORMATS)}")
    return buf.getvalue()


def encode_json(obj: dict) -> bytes:
    return (json.dumps(obj, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")


def encode_samples(shard: int, images, metas: list[dict], seed: int, fmt: str = "png",
                   quality: int = 95) -> list[tuple[str, dict[str, bytes]]]:
    """Shard `shard`'s samples as tar members [(key, {fmt: image, "json": metadata})], the
    metadata completed with key, shard, index, seed and format (contract 3)."""
    samples = []
    for j, (img, meta) in enumerate(zip(images, metas)):
        key = sample_key(shard, j)
        meta = dict(meta, key=key, shard=shard, index=j, seed=seed, format=fmt)
        samples.append((key, {fmt: encode_image(img, fmt, quality), "json": encode_json(meta)}))
    return samples


def tar_bytes_to(f, samples: list[tuple[str, dict[str, bytes]]]) -> None:
    """Write samples [(key, {ext: bytes})] as a tar with fixed metadata into file object f."""
    with tarfile.open(fileobj=f, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for key, members in samples:
            for ext in sorted(members, key=lambda e: (e == "json", e)):
                data = members[ext]
                info = tarfile.TarInfo(f"{key}.{ext}")
                info.size = len(data)
                info.mtime = 0
                info.mode = 0o644
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                tar.addfile(info, io.BytesIO(data))


def write_shard(path: str | os.PathLike, samples: list[tuple[str, dict[str, bytes]]],
                before_publish: Callable[[], None] | None = None) -> dict:
    """Write a shard tar atomically (temporary name, fsync, rename); return its manifest entry.
    `before_publish()` runs just before the rename; if it raises, the temporary goes and
    nothing is published (a worker whose job died)."""
    path = Path(path)
    with atomic_open(path, "wb") as f:
        tar_bytes_to(f, samples)
        if before_publish is not None:
            before_publish()
    _readable(path)
    return {"name": path.name, "count": len(samples), "sha256": sha256_file(path),
            "bytes": path.stat().st_size}


def read_shard(path: str | os.PathLike) -> Iterator[tuple[str, dict[str, bytes]]]:
    """Samples (key, {ext: bytes}) of a tar in order, grouped by key as WebDataset does."""
    with tarfile.open(path, mode="r:") as tar:
        key, members = None, {}
        for info in tar:
            if not info.isfile():
                continue
            k, _, ext = info.name.partition(".")
            if k != key and key is not None:
                yield key, members
                members = {}
            key = k
            members[ext] = tar.extractfile(info).read()
        if key is not None:
            yield key, members


def _readable(path: Path) -> None:
    """Give a finished file the usual permissions (the temporary file was private)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


# --- the manifest -----------------------------------------------------------------------------


@contextlib.contextmanager
def manifest_lock(directory: Path):
    """Exclusive lock on the directory's manifest, held across read-modify-write."""
    import fcntl

    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        why = "it is a file" if directory.is_file() else e.strerror
        raise ShardError(f"cannot use {directory} as a shard directory ({why}): give --out a "
                         "directory, new or made by `procmem generate`") from None
    try:
        f = open(directory / LOCK, "a+")
    except OSError as e:
        raise ShardError(f"cannot open the lock file {directory / LOCK} ({e.strerror}): it must "
                         "be a plain file; move it away and rerun") from None
    with f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def read_manifest(directory: str | os.PathLike) -> dict | None:
    """The manifest of a shard directory, or None when there is none yet."""
    path = Path(directory) / MANIFEST
    if not path.exists():
        return None
    try:
        m = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as e:
        raise ShardError(f"{path} cannot be read ({e.strerror}); it must be the shard set's "
                         "manifest file: move it away and rerun to rebuild it") from None
    except ValueError as e:  # JSONDecodeError, or bytes that are not UTF-8
        raise ShardError(f"{path} is not valid JSON ({e}); remove it and rerun to rebuild it") from None
    if m.get("format") != FORMAT:
        raise ShardError(f"{path} is not a procmem shard manifest (format {m.get('format')!r})")
    shards = m.get("shards")
    if not isinstance(shards, list) or not isinstance(m.get("config"), dict):
        raise ShardError(f"{path} lacks its 'config' object or 'shards' list; remove it and rerun "
                         "the generate command to rebuild it")
    for i, entry in enumerate(shards):
        _check_entry(path, i, entry)
    return m


ENTRY_FIELDS = {"name": str, "index": int, "count": int, "sha256": str}


def _check_entry(path: Path, i: int, entry) -> None:
    """A manifest entry names a plain file inside the set (contract 4), with its count and hash.

    Checked before anything is opened: a name such as `pipe:CMD` (a WebDataset URL that runs a
    command), `/abs`, `../x` or `a/b` is refused, so data never becomes a command or a path
    outside its folder.
    """
    if not isinstance(entry, dict):
        raise ShardError(f"{path}: shard entry {i} is not an object; remove the manifest and rerun")
    for key, kind in ENTRY_FIELDS.items():
        if not isinstance(entry.get(key), kind) or isinstance(entry.get(key), bool):
            raise ShardError(f"{path}: shard entry {i} has no valid {key!r} ({kind.__name__}); "
                             "remove the manifest and rerun the generate command to rebuild it")
    name = entry["name"]
    if not is_plain_name(name):
        raise ShardError(f"{path}: shard name {name!r} is not a plain file name inside the "
                         "shard set (no scheme such as pipe:, no path separator, no '..'); "
                         "refusing the whole manifest")


def is_plain_name(name: str) -> bool:
    """A bare file name: no directory part, no scheme (`pipe:`, `http:`), not `.`/`..`/hidden."""
    return (bool(name) and name == os.path.basename(name) and "\\" not in name
            and ":" not in name and "\0" not in name and not name.startswith("."))


def _shown(key: str, value) -> str:
    """A config value for a message: user programs by id and sha256, not their full texts."""
    if key == "user_programs" and isinstance(value, list):
        return "[" + ", ".join(f"{r.get('id')} (sha256 {str(r.get('sha256'))[:12]})"
                               if isinstance(r, dict) else "?" for r in value) + "]"
    return repr(value)


def _check_config(directory: Path, manifest: dict, config: dict) -> None:
    if manifest["config"] != config or manifest["procmem_version"] != __version__:
        old, new = manifest["config"], config
        diff = [f"{k}: {_shown(k, old.get(k))} there, {_shown(k, new.get(k))} here"
                for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
        if manifest["procmem_version"] != __version__:
            diff.append(f"procmem version: {manifest['procmem_version']} there, "
                        f"{__version__} here")
        raise ShardError(f"{directory} holds shards made with a different config "
                         f"({'; '.join(diff)}): write to a new --out directory, or rerun "
                         "with the same options to resume")


def open_manifest(directory: str | os.PathLike, config: dict) -> dict:
    """Create the manifest (no shards yet) or check that the existing one has this config."""
    directory = Path(directory)
    with manifest_lock(directory):
        # writers hold the lock while writing the manifest, so a temporary one here is stale
        sweep_temporaries(directory / MANIFEST)
        m = read_manifest(directory)
        if m is None:
            m = {"format": FORMAT, "procmem_version": __version__, "config": config,
                 "shards": []}
            atomic_write_json(directory / MANIFEST, m)
            _readable(directory / MANIFEST)
        else:
            _check_config(directory, m, config)
        return m


def record_shard(directory: str | os.PathLike, config: dict, entry: dict) -> None:
    """Add (or replace) one shard's entry in the manifest, under the lock."""
    directory = Path(directory)
    with manifest_lock(directory):
        m = read_manifest(directory) or {"format": FORMAT, "procmem_version": __version__,
                                          "config": config, "shards": []}
        _check_config(directory, m, config)
        shards = [s for s in m["shards"] if s["name"] != entry["name"]] + [entry]
        m["shards"] = sorted(shards, key=lambda s: s["index"])
        atomic_write_json(directory / MANIFEST, m)
        _readable(directory / MANIFEST)


def remove_stale_temporaries(directory: Path, names: list[str]) -> int:
    """Delete the temporaries killed writers of these shard names left; return how many.
    Only these names: other processes may be writing other shards of the set right now."""
    return sum(sweep_temporaries(directory / name) for name in names)


def shard_problem(path: Path, entry: dict) -> str | None:
    """Why the tar at `path` is not the one its manifest entry lists (None when it is): it is
    missing, not a file, unreadable, or its sha256 differs (re-hashed every time)."""
    try:
        if not path.exists():
            return "missing (listed in the manifest)"
        if not path.is_file():
            return "not a file (remove it)"
        digest = sha256_file(path)
    except OSError as e:
        return f"unreadable ({e.strerror or e})"
    if digest != entry["sha256"]:
        return (f"sha256 {digest[:12]}... differs from the manifest's {entry['sha256'][:12]}... "
                "(corrupted or replaced)")
    return None


# --- verification -----------------------------------------------------------------------------


def verify(directory: str | os.PathLike, progress: bool = False) -> tuple[list[str], int]:
    """Check a shard set: every manifest tar exists, has its sha256, reads as a tar, holds
    `count` samples, each with a decodable image and a parseable JSON. Returns (problems,
    samples checked); each problem names the shard (and sample)."""
    from PIL import Image

    directory = Path(directory)
    m = read_manifest(directory)
    if m is None:
        raise ShardError(f"{directory} has no {MANIFEST}: not a shard directory "
                         "(make one with `procmem generate --out DIR`)")
    problems, checked = [], 0
    entries = m["shards"]
    if progress:
        from procmem.core.progress import progress as progress_bar

        entries = progress_bar(entries, unit="shard", desc="verify")
    listed = {e["name"] for e in m["shards"]}
    for e in entries:
        path = directory / e["name"]
        problem = shard_problem(path, e)
        if problem is not None:
            problems.append(f"{e['name']}: {problem}")
            if not problem.startswith("sha256"):
                continue
        count = 0
        try:
            for key, members in read_shard(path):
                count += 1
                imgs = [x for x in members if x in IMAGE_FORMATS]
                if not imgs:
                    problems.append(f"{e['name']} sample {key}: no image (png/jpg)")
                for ext in imgs:
                    try:
                        with Image.open(io.BytesIO(members[ext])) as im:
                            im.load()
                    except Exception as ex:  # noqa: BLE001 (any decoder failure is a problem)
                        problems.append(f"{e['name']} sample {key}: bad {ext} image ({ex})")
                if "json" not in members:
                    problems.append(f"{e['name']} sample {key}: missing json")
                else:
                    try:
                        json.loads(members["json"])
                    except ValueError as ex:
                        problems.append(f"{e['name']} sample {key}: bad json ({ex})")
        except (tarfile.TarError, OSError, EOFError) as ex:
            problems.append(f"{e['name']}: unreadable tar after {count} samples "
                            f"(truncated or corrupted: {ex})")
            continue
        checked += count
        if count != e["count"]:
            problems.append(f"{e['name']}: {count} samples, the manifest says {e['count']}")
    for path in sorted(directory.glob("*.tar")):
        if path.name not in listed:
            problems.append(f"{path.name}: tar not in the manifest (rerun the generate command "
                            "to record it, or remove it)")
    return problems, checked


def iter_images(directory: str | os.PathLike, n: int | None = None):
    """The first `n` (image uint8 HxWx3, metadata dict) of a shard set, in shard order."""
    from PIL import Image

    m = read_manifest(directory)
    if m is None:
        raise ShardError(f"{directory} has no {MANIFEST}: not a shard directory")
    seen = 0
    for e in m["shards"]:
        for _key, members in read_shard(Path(directory) / e["name"]):
            ext = next(x for x in IMAGE_FORMATS if x in members)
            img = np.asarray(Image.open(io.BytesIO(members[ext])).convert("RGB"))
            yield img, json.loads(members["json"])
            seen += 1
            if n is not None and seen >= n:
                return
