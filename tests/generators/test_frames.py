"""Frame pools: rejected frames are redrawn and counted, broken programs skipped and logged."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from procmem.generators import frames as fr
from procmem.generators.quality import frame_problem
from procmem.shaders.program import Program

# Flat grey (rejected by the quality filter) when P(0) < 0.5, a gradient otherwise.
HALF_FLAT = Program("test/half_flat", """
void mainImage(out vec4 c, in vec2 f) {
    vec2 uv = f / iResolution.xy;
    c = P(0) < 0.5 ? vec4(0.5, 0.5, 0.5, 1.0) : vec4(uv, P(1), 1.0);
}""", "test")
BROKEN = Program("test/broken", """
void mainImage(out vec4 c, in vec2 f) { c = vec4(undeclared_thing, 1.0); }""", "test")


@pytest.fixture
def programs(monkeypatch):
    """Draw the two test programs above, alternately, instead of the library."""
    seq = iter([BROKEN, HALF_FLAT] * 50)
    monkeypatch.setattr(fr, "draw_program", lambda rng, programs: next(seq))


def test_rejected_frames_are_redrawn_and_failed_programs_skipped(programs, renderer, caplog):
    with caplog.at_level(logging.WARNING, logger="procmem.generators"):
        pool, specs, stats = fr.render_pool(renderer, 10, 32, np.random.default_rng(0),
                                            "library", frames_per_program=5)
    assert pool.shape == (10, 32, 32, 3) and len(specs) == 10
    assert all(frame_problem(f) is None for f in pool)  # every kept frame passes the filter
    assert all(s.params[0] >= 0.5 and s.program == "test/half_flat" for s in specs)
    assert stats.rejected > 0 and sum(stats.rejected_reasons.values()) == stats.rejected
    assert stats.failed_programs and stats.failed_programs[0]["program"] == "test/broken"
    assert "failed to compile" in stats.failed_programs[0]["error"]
    assert "skipped program test/broken" in caplog.text


def test_pool_is_deterministic_and_specs_reproduce_frames(renderer):
    a = fr.render_pool(renderer, 6, 32, np.random.default_rng(1), "library", 3)
    b = fr.render_pool(renderer, 6, 32, np.random.default_rng(1), "library", 3)
    assert np.array_equal(a[0], b[0]) and a[1] == b[1]
    from procmem.shaders import registry

    s = a[1][2]
    again = renderer.render(registry.get(s.program), [s.time], np.array([s.params]), size=32)
    assert np.array_equal(again[0], a[0][2])
    assert set(s.to_json()) == {"program", "time", "params", "source_sha256"}
    assert len(s.params) == 16 and len(s.source_sha256) == 16


def test_generated_programs_are_drawn_when_asked(renderer):
    if not fr.grammar_available():
        pytest.skip("shaders.grammar not present")
    _, specs, _ = fr.render_pool(renderer, 4, 32, np.random.default_rng(2), "generated", 4)
    assert all(s.program.startswith("gen/") for s in specs)


def test_bad_programs_option_is_a_clear_error():
    with pytest.raises(fr.FramePoolError, match="--programs 'shadertoy'"):
        fr.check_programs("shadertoy")


HANGS = Program("test/hangs", """
void mainImage(out vec4 c, in vec2 f) {
    float x = f.x;
    // llvmpipe caps a loop at 65535 rounds, so: the cap, with a heavy body, at every pixel
    for (int i = 0; i < 65000 + int(P(0)); i++) { x = sin(x) + cos(x * 1.0001) + exp(-x * x); }
    c = vec4(fract(x), 0.5, 0.5, 1.0);
}""", "test")


def test_a_hanging_program_is_skipped_by_the_watchdog(monkeypatch):
    from procmem.generators.watchdog import SafeRenderer

    seq = iter([HANGS] + [HALF_FLAT] * 50)
    monkeypatch.setattr(fr, "draw_program", lambda rng, programs: next(seq))
    with SafeRenderer(size=64, base_timeout=1.0, per_image_timeout=0.0) as r:
        pool, specs, stats = fr.render_pool(r, 3, 64, np.random.default_rng(0), "library", 3)
    assert [f["program"] for f in stats.failed_programs] == ["test/hangs"]
    assert "did not finish rendering" in stats.failed_programs[0]["error"]
    assert pool.shape == (3, 64, 64, 3) and all(s.program == "test/half_flat" for s in specs)


GRADIENT = Program("test/gradient", """
void mainImage(out vec4 c, in vec2 f) { c = vec4(f / iResolution.xy, P(1), 1.0); }""", "test")


def test_frame_draws_are_times_then_params_then_a_shuffle(monkeypatch, renderer):
    """The rng call sequence shards depend on, spelled out in numpy calls: a program's frames
    take uniform times in [0, 10) then float32 params, and the pool ends with one permutation."""
    monkeypatch.setattr(fr, "draw_program", lambda rng, programs: GRADIENT)
    _, specs, _ = fr.render_pool(renderer, 6, 16, np.random.default_rng(5), "library", 4)
    rng = np.random.default_rng(5)
    times, params = [], []
    for m in (4, 2):
        times += list(rng.uniform(0.0, 10.0, m).astype(np.float32))
        params += list(rng.random((m, 16), dtype=np.float32))
    perm = rng.permutation(6)
    assert [s.time for s in specs] == [float(times[i]) for i in perm]
    assert [s.params for s in specs] == [tuple(float(v) for v in params[i]) for i in perm]
