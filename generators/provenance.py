"""Rebuild a sample from its JSON alone: re-render its sources and re-apply its process.

This is the check that a sample's provenance is complete (contract 3): each source's program
id, time and params, the KML mask's cluster centres and the mix weights must reproduce the
stored image exactly on the same renderer. It also gives the steps (s1, mask, s2, s3, ...)
for `procmem shards explain`, a picture of how each image was made.
"""

from __future__ import annotations

import numpy as np

from procmem.core.errors import ProcmemError
from procmem.generators import kmeans as km
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


def _kml(sources: list[dict], mask: dict, res: int, renderer, prefix: str = ""):
    """One KML image from its sources and mask record, with its steps."""
    frames = {s["role"]: render_source(s, res, renderer) for s in sources}
    s1 = frames["s1"]
    textures = np.stack([frames[f"s{c + 2}"] for c in range(mask["k"])])
    r = mask["mask_res"]
    centers = np.array(mask["centers_rgb"], np.float32)[None]
    labels, _ = km.assign(pr.mask_pixels(s1[None], r), centers, inertia=False)
    soft = pr.smooth_masks(labels.reshape(1, r, r), mask["k"], res)[0]
    image = pr.to_uint8(pr.kml_composite(soft, textures))
    grey = pr.to_uint8(soft[..., 0] * 255)
    steps = [(f"{prefix}s1", s1), (f"{prefix}mask c0", np.stack([grey] * 3, -1))]
    steps += [(f"{prefix}s{c + 2}", textures[c]) for c in range(mask["k"])]
    return image, steps + [(f"{prefix}kml", image)]


def rebuild(meta: dict, renderer) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    """(image uint8 [H, W, 3], steps [(caption, image)]) rebuilt from a sample's JSON."""
    res, name, sources = meta["resolution"], meta["process"], meta["sources"]
    pr.get_process(name)
    if name == "shaders":
        image = render_source(sources[0], res, renderer)
        return image, [("frame", image)]
    if name == "shaders-mixup":
        frames = np.stack([render_source(s, res, renderer) for s in sources])
        image = pr.to_uint8(pr.mixup(frames, np.array(meta["weights"])))
        steps = [(f"w={w:.2f}", f) for w, f in zip(meta["weights"], frames)]
        return image, steps + [("mixup", image)]
    if name == "kml":
        return _kml(sources, meta["mask"], res, renderer)
    parts, steps = [], []
    for j, mask in enumerate(meta["mask"]):
        own = [dict(s, role=s["role"].split(".", 1)[1]) for s in sources
               if s["role"].startswith(f"kml{j}.")]
        img, st = _kml(own, mask, res, renderer, prefix=f"{j}:")
        parts.append(img)
        steps += st
    image = pr.to_uint8(np.stack(parts).mean(0, dtype=np.float32))
    return image, steps + [("mean", image)]
