"""Atomic file writes.

A file written here is either absent or complete: bytes go to a temporary file in the
same directory, are fsync'ed, then renamed over the target (rename is atomic on POSIX).
Work already on disk therefore survives a kill at any point.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Iterator


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[BinaryIO]:
    """Open a temporary sibling of `path` for writing; rename it to `path` on success.

    On any exception the temporary file is removed and `path` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates 0600; give the file the mode a plain open() would (0666 & ~umask).
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def temporaries(path: str | os.PathLike) -> list[Path]:
    """The temporaries `atomic_open(path)` leaves behind when killed (`.<name>.*.tmp`);
    for a directory, those of every file in it."""
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.glob(".*.*.tmp") if p.is_file())
    return sorted(path.parent.glob(f".{path.name}.*.tmp"))


def sweep_temporaries(path: str | os.PathLike) -> int:
    """Remove the temporaries killed writers of `path` (a file, or every file of a directory)
    left; returns how many went.

    Call it only where no other live process can be writing there (a run's rank 0 on
    resume, a memory's single writer on open, a shard job for the shards it will make).
    """
    n = 0
    for tmp in temporaries(path):
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
            n += 1
    return n


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once at import: os.umask can only be read by setting it, which races with threads.
_UMASK = _read_umask()


def fsync_dir(directory: str | os.PathLike) -> None:
    """Make a rename inside `directory` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_open(path, "wb") as f:
        f.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write `obj` as indented, key-sorted JSON (stable bytes for the same object)."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")
