"""Rebuild a sample from its JSON alone: re-render its sources and re-apply its process.

This is the check that a sample's provenance is complete (contract 3): each source's program
id, time and params, the KML mask's cluster centres and the mix weights must reproduce the
stored image exactly on the same renderer. It also gives the steps (s1, mask, s2, s3, ...)
for `procmem shards explain`, a picture of how each image was made.
"""

from __future__ import annotations

import numpy as np

from procmem.core.errors import ProcmemError
from procmem.generators import processes as pr


class ProgramChanged(ProcmemError):
    """A source's program text is not the one that made the sample (its hash differs)."""


def render_source(source: dict, res: int, renderer) -> np.ndarray:
    """The frame a source entry names ({program, time, params, source_sha256}) at res x res."""
    from procmem.generators.frames import source_hash
    from procmem.shaders import registry

    program = registry.get(source["program"])
    recorded = source.get("source_sha256")
    if recorded and source_hash(program) != recorded:
        raise ProgramChanged(f"program {program.id} changed since the sample was made (source "
                             f"sha256 {source_hash(program)} now, {recorded} then): its frames "
                             "cannot be rebuilt from this checkout")
    params = np.array([source["params"]], np.float32)
    return renderer.render(program, [source["time"]], params, size=res)[0]


def rebuild(meta: dict, renderer) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    """(image uint8 [H, W, 3], steps [(caption, image)]) rebuilt from a sample's JSON by its
    process (`Process.rebuild`), its sources re-rendered at the sample's resolution."""
    res = meta["resolution"]
    return pr.get_process(meta["process"]).rebuild(
        meta, lambda source: render_source(source, res, renderer))
