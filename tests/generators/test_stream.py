"""The streaming dataset renders the shard path's processes on the fly, per worker."""

from __future__ import annotations

import numpy as np
import pytest

from procmem.generators import jobs
from procmem.generators.stream import ProceduralStream


def stream(**kw):
    args = dict(process="kml-mixup", res=32, seed=1, pool_size=6, programs="library",
                frames_per_program=3)
    args.update(kw)
    return ProceduralStream(**args)


def test_same_samples_as_the_shard_path(renderer, tmp_path):
    """Same definitions and provenance fields as shards; similar pixel statistics."""
    from procmem.generators import shards as sh

    s = stream(num_images=12)
    s._renderer = renderer
    got = list(s)
    assert len(got) == 12
    img, meta = got[0]
    assert img.shape == (32, 32, 3) and img.dtype == np.uint8
    cfg = jobs.GenerateConfig(process="kml-mixup", res=32, num_images=12, shard_size=6,
                              programs="library", frames_per_program=3, seed=1)
    jobs.run(cfg, tmp_path, watchdog=False, renderer=renderer, progress=False)
    shard = list(sh.iter_images(tmp_path))
    shard_meta = shard[0][1]
    extra_shard = {"key", "shard", "index", "seed", "format"}
    assert set(meta) - {"stream"} == set(shard_meta) - extra_shard
    for m in [g[1] for g in got] + [x[1] for x in shard]:
        assert m["process"] == "kml-mixup" and m["weights"] == [0.5, 0.5]
        assert [s["role"] for s in m["sources"]] == ["kml0.s1", "kml0.s2", "kml0.s3",
                                                     "kml1.s1", "kml1.s2", "kml1.s3"]
        assert {s["program"].split("/")[0] for s in m["sources"]} == {"lib"}
    a = np.stack([g[0] for g in got]).astype(float)
    b = np.stack([x[0] for x in shard]).astype(float)
    assert abs(a.mean() - b.mean()) < 40 and 0.5 < a.std() / b.std() < 2
    # and it is deterministic: the same stream again gives the same images
    again = stream(num_images=12)
    again._renderer = renderer
    assert all(np.array_equal(x[0], y[0]) for x, y in zip(got, again))


def test_ranks_draw_different_images(renderer):
    a, b = stream(num_images=4, rank=0, world_size=2), stream(num_images=4, rank=1, world_size=2)
    a._renderer = b._renderer = renderer
    ia, ib = list(a), list(b)
    assert len(ia) == len(ib) == 2  # the epoch's 4 images split over 2 ranks
    assert not np.array_equal(ia[0][0], ib[0][0])
    assert ia[0][1]["stream"]["rank"] == 0 and ib[0][1]["stream"]["rank"] == 1


def test_a_stream_of_your_own_programs(renderer, user_glsl):
    """ProceduralStream(user_programs=...) renders the user's files as user/<name>, alone by
    default or mixed with the library by weight, as `generate --programs` does."""
    from procmem.shaders import user

    mine = user.load([user_glsl])
    s = stream(process="shaders", programs=None, user_programs=mine, num_images=4)
    s._renderer = renderer
    got = list(s)
    assert len(got) == 4 and {m["sources"][0]["program"] for _, m in got} <= {"user/stripes", "user/waves"}
    mixed = stream(process="shaders", programs={"library": 1.0, "user": 1.0}, user_programs=mine,
                   num_images=6)
    mixed._renderer = renderer
    assert {m["sources"][0]["program"].split("/")[0] for _, m in mixed} <= {"lib", "user"}


def test_dataloader_workers_each_own_a_renderer():
    import torch.utils.data

    ds = stream(num_images=8, with_metadata=False, process="kml")
    loader = torch.utils.data.DataLoader(ds, batch_size=4, num_workers=2,
                                         multiprocessing_context="spawn")
    batches = list(loader)
    assert [tuple(b.shape) for b in batches] == [(4, 32, 32, 3), (4, 32, 32, 3)]
    # worker 0 and worker 1 each filled one batch, from different seeds
    assert not torch.equal(batches[0], batches[1])
    assert ds._renderer is None  # the main process never made an EGL context


def test_bad_options_are_clear_errors():
    from procmem.core.errors import ProcmemError

    with pytest.raises(ProcmemError, match="unknown process"):
        stream(process="nope")
    with pytest.raises(ProcmemError, match="pool_size"):
        stream(pool_size=0)
