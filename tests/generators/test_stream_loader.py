"""`ProceduralStream` in a torch DataLoader: its metadata needs `stream.collate` (torch's default
collate refuses None), in the main process and in a spawned worker, as the README shows."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from procmem.generators.stream import ProceduralStream, collate

README = Path(__file__).resolve().parents[2] / "README.md"


def _stream(**kw):
    return ProceduralStream(**{"process": "kml-mixup", "res": 32, "seed": 3, "pool_size": 4,
                               "programs": "library", "frames_per_program": 2, "num_images": 6, **kw})


def test_default_collate_refuses_the_metadata_and_collate_batches_it(renderer):
    s = _stream()
    s._renderer = renderer
    with pytest.raises(TypeError, match="NoneType"):
        next(iter(DataLoader(s, batch_size=3)))
    batches = list(DataLoader(s, batch_size=3, collate_fn=collate))
    assert len(batches) == 2
    images, metas = batches[0]
    assert images.dtype == torch.uint8 and tuple(images.shape) == (3, 32, 32, 3)
    assert [m["stream"]["index"] for m in metas] == [0, 1, 2] and metas[0]["process"] == "kml-mixup"
    first = next(iter(s))[0]
    assert np.array_equal(images[0].numpy(), first)  # the stream's own first image
    bare = next(iter(DataLoader(_stream(with_metadata=False), batch_size=2, collate_fn=collate)))
    assert tuple(bare.shape) == (2, 32, 32, 3)


def test_the_readme_block_runs_in_a_spawned_worker(capsys):
    section = README.read_text().split("### Pretraining\n", 1)[1].split("\n### ", 1)[0]
    block = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert 'multiprocessing_context="spawn"' in block and "num_workers=1" in block
    exec(compile(block, str(README), "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2  # 16 images in batches of 8
    assert all(ln.startswith("torch.Size([8, 64, 64, 3]) ") for ln in lines)
    assert all(re.search(r" (lib|gen)/\S+$", ln) for ln in lines)
