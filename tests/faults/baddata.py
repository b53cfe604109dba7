"""Shard sets made bad on purpose, for the tests and the bad-input table: a manifest that
names something other than a plain file, and tars whose every image is corrupt."""

from __future__ import annotations

import json
from pathlib import Path

from procmem.generators import shards as sh


def rename_first_shard(d: Path, name: str) -> Path:
    """Make the manifest of the set at `d` call its first shard `name` (e.g. `pipe:CMD`)."""
    m = json.loads((d / sh.MANIFEST).read_text())
    m["shards"][0]["name"] = name
    (d / sh.MANIFEST).write_text(json.dumps(m))
    return d


def corrupt_every_sample(d: Path, process: str = "shaders") -> Path:
    """Zero 64 bytes after every PNG `IDAT` tag in each tar of the set: still tars (and still
    listed), but no image decodes."""
    for entry in sh.read_manifest(d)["shards"]:
        tar = d / sh.shard_name(process, entry["index"])
        data = bytearray(tar.read_bytes())
        start = 0
        while (k := data.find(b"IDAT", start)) >= 0:
            data[k:k + 64] = b"\0" * 64
            start = k + 64
        tar.write_bytes(bytes(data))
    return d
