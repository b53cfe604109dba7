"""Test data for the pretrain tests: tiny contract-conformant shard sets and a tiny DINO config.

The shards are real WebDataset tars (`{process}-{shard:06d}.tar`, `<key>.png` + `<key>.json`,
`manifest.json`) written by generators.shards, holding synthetic procedural-looking images
(gradients, discs, stripes) so that no rendering is needed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

TINY_OVERRIDES = [
    "model.arch=vit_tiny_patch16_224", "model.timm_kwargs={patch_size: 8, img_size: 32, depth: 2}",
    "model.out_dim=256", "model.hidden_dim=128", "model.bottleneck_dim=32",
    "crops.global_size=32", "crops.local_size=16", "crops.local_number=2",
    "augment.blur_sigma=[0.1, 0.5]",
    "optim.batch_size=4", "optim.warmup_epochs=1",
    "schedule.epochs=3", "schedule.steps_per_epoch=4",
    "data.workers=0", "data.shuffle_buffer=8",
    "run.device=cpu", "run.log_every=1", "run.checkpoint_every=1000", "run.threads=1",
]


def synthetic_image(rng: np.random.Generator, size: int = 40) -> np.ndarray:
    """A colour gradient with a random disc and stripes: cheap stand-in for a shader frame."""
    y, x = np.mgrid[0:size, 0:size] / size
    c0, c1 = rng.random(3), rng.random(3)
    t = (np.cos(rng.random() * 6.3) * x + np.sin(rng.random() * 6.3) * y)[..., None]
    img = c0 * (1 - t) + c1 * t
    cx, cy, r = rng.random(3) * [1, 1, 0.4]
    img[(x - cx) ** 2 + (y - cy) ** 2 < r ** 2] = rng.random(3)
    img *= (0.75 + 0.25 * np.sin(x * rng.integers(3, 12) * 6.28))[..., None]
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def write_tiny_shards(directory: Path, shards: int = 2, per_shard: int = 12, seed: int = 0,
                      process: str = "shaders") -> Path:
    """A shard set written with the generators stage's own tar writer and manifest."""
    from procmem.generators import shards as sh

    rng = np.random.default_rng(seed)
    config = {"process": process, "synthetic": True, "seed": seed}
    sh.open_manifest(directory, config)
    for s in range(shards):
        samples = []
        for i in range(per_shard):
            meta = {"process": process, "resolution": 40, "sources": []}
            samples.append((sh.sample_key(s, i), {"png": sh.encode_image(synthetic_image(rng)),
                                                   "json": sh.encode_json(meta)}))
        entry = sh.write_shard(directory / sh.shard_name(process, s), samples)
        sh.record_shard(directory, config, {**entry, "index": s})
    return directory
