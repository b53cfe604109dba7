"""Sample making: a shard holds exactly the samples of its seed, the same code the stream uses."""

from __future__ import annotations

import json

import numpy as np
import pytest

from procmem.core.errors import ProcmemError
from procmem.generators import jobs, samples
from procmem.generators import shards as sh
from procmem.generators.processes import ProcessOptions


def test_shard_i_holds_the_samples_of_seed_sequence_seed_i(tmp_path, renderer):
    cfg = jobs.GenerateConfig(process="kml", res=32, num_images=5, shard_size=3, seed=4,
                              programs="library", frames_per_program=2)
    jobs.run(cfg, tmp_path, watchdog=False, renderer=renderer, progress=False)
    images, metas = samples.make_samples(cfg, np.random.SeedSequence([4, 1]), 2, renderer)
    stored = list(sh.read_shard(tmp_path / "kml-000001.tar"))
    assert len(stored) == 2
    for (key, members), img, meta in zip(stored, images, metas):
        assert members["png"] == sh.encode_image(img, "png")
        assert json.loads(members["json"]) == json.loads(json.dumps(
            dict(meta, key=key, shard=1, index=int(key[6:]), seed=4, format="png")))


def test_timing_counts_images_and_pool_frames(renderer):
    cfg = samples.SampleConfig(process="shaders-mixup", res=16, programs="library",
                               frames_per_program=3, options=ProcessOptions(mix=3))
    timing = samples.Timing()
    images, metas = samples.make_samples(cfg, np.random.SeedSequence(0), 2, renderer, timing)
    assert images.shape == (2, 16, 16, 3) and len(metas) == 2
    assert timing.images == 2 and timing.pool.frames == 3  # the pool holds mix frames at least
    assert [s["role"] for s in metas[0]["sources"]] == ["mix0", "mix1", "mix2"]


@pytest.mark.parametrize("kw,match", [
    (dict(res=8), "--res 8"),
    (dict(frames_per_program=0), "--frames-per-program 0"),
    (dict(programs="some"), "--programs 'some'"),
])
def test_bad_sample_options_are_clear_errors(kw, match):
    with pytest.raises(ProcmemError, match=match):
        samples.SampleConfig(**kw).check()
