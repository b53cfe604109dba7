"""Rebuild a sample from its JSON alone: re-render its sources and re-apply its process.

This is the check that a sample's provenance is complete (contract 3): each source's program
id, time and params, the KML mask's cluster centres and the mix weights must reproduce the
stored image exactly on the same renderer. A user program is rebuilt from the text its
shard set recorded (`recorded_programs`), never from the file it once came from. It also gives
the steps (s1, mask, s2, s3, ...) for `procmem shards explain`, a picture of how each image
was made.
"""

from __future__ import annotations

import numpy as np

from procmem.core.errors import ProcmemError
from procmem.generators import processes as pr


class ProgramChanged(ProcmemError):
    """A source's program text is not the one that made the sample (its hash differs)."""


def recorded_programs(manifest: dict) -> dict:
    """id -> Program of the user programs a shard set's manifest recorded (shaders.user), each
    text checked against its sha256; empty for a set of built-in programs only."""
    from procmem.shaders import user

    return user.table(user.from_records(manifest["config"].get("user_programs", [])))


def render_source(source: dict, res: int, renderer, user: dict | None = None) -> np.ndarray:
    """The frame a source entry names ({program, time, params, source_sha256}) at res x res;
    `user` (id -> Program, `recorded_programs`) resolves `user/<name>` ids."""
    from procmem.generators.frames import source_hash
    from procmem.shaders import registry

    program = registry.get(source["program"], user=user)
    recorded = source.get("source_sha256")
    if recorded and source_hash(program) != recorded:
        where = ("the shard set stores a different text for it" if program.id.startswith("user/")
                 else "its frames cannot be rebuilt from this checkout")
        raise ProgramChanged(f"program {program.id} changed since the sample was made (source "
                             f"sha256 {source_hash(program)} now, {recorded} then): {where}")
    params = np.array([source["params"]], np.float32)
    return renderer.render(program, [source["time"]], params, size=res)[0]


def rebuild(meta: dict, renderer, user: dict | None = None
            ) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    """(image uint8 [H, W, 3], steps [(caption, image)]) rebuilt from a sample's JSON by its
    process (`Process.rebuild`), its sources re-rendered at the sample's resolution; `user`
    as for `render_source`."""
    res = meta["resolution"]
    return pr.get_process(meta["process"]).rebuild(
        meta, lambda source: render_source(source, res, renderer, user))
