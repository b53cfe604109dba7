"""Library programs render under the deadline, and a malformed library file is skipped and
named (issue 12, item 8). The library is a temporary folder (`registry.LIBRARY_ROOT`)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from procmem.cli import main
from procmem.generators import frames
from procmem.generators.watchdog import SafeRenderer
from procmem.shaders import registry
from tests.faults.proctree import procmem

HEADER = "// family: test\n// tags: test, fault\n// description: {}\n"
# Loop bounds the compiler cannot know (at least 60000, from a uniform): on a GPU this never
# ends; llvmpipe cuts loops off after ~65535 iterations, which still leaves ~3.5 s per 64x64
# pixels on 2 cores here, so a 768 px frame takes ~8 minutes (about 1 minute on 16 cores)
# against a 12.25 s deadline, and a 256 px frame ~1 minute against 1.5 s.
HANG = HEADER.format("a loop nest that never ends in time") + """
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    float x = fragCoord.x + iTime;
    int n = int(60000.0 + P(0));
    for (int i = 0; i < n; i++) { for (int j = 0; j < n; j++) {
        x = fract(sin(x * 1.37 + P(1)) * 43758.5); } }
    fragColor = vec4(x, P(4), P(5), 1.0);
}
"""
GOOD = HEADER.format("a smooth gradient") + """
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.xy;
    fragColor = vec4(uv.x * P(0) + 0.2, uv.y, 0.5 + 0.5 * sin(iTime + 6.0 * uv.x * P(1)), 1.0);
}
"""
BAD = HEADER.format("one brace too few") + """
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    fragColor = vec4(P(0), P(1), P(2), 1.0);
"""


def make_library(root: Path, **programs: str) -> Path:
    (root / "test").mkdir(parents=True)
    for name, text in programs.items():
        (root / "test" / f"{name}.glsl").write_text(text)
    return root


@pytest.fixture
def library(tmp_path, monkeypatch):
    """Point the registry at a temporary library of the given programs."""

    def use(**programs: str) -> Path:
        root = make_library(tmp_path / "library", **programs)
        monkeypatch.setattr(registry, "LIBRARY_ROOT", root)
        return root

    return use


def test_a_hanging_library_program_ends_with_render_timeout_within_the_deadline(
        library, tmp_path, capsys):
    library(hang=HANG, good=GOOD)
    out = tmp_path / "hang.png"
    start = time.monotonic()
    assert main(["shaders", "render", "lib/test/hang", "--out", str(out), "--res", "768"]) == 2
    took = time.monotonic() - start
    err = capsys.readouterr().err
    assert "program lib/test/hang did not finish rendering within 12." in err
    # the deadline (12.25 s for one 768 px frame) plus the render child's start, not minutes
    assert took < SafeRenderer(768).deadline(1, (768, 768)) + 8, took
    assert not out.exists()


def test_the_frame_pool_skips_a_hanging_library_program_and_names_it(library):
    library(hang=HANG, good=GOOD)
    # seed 1 draws the hanging program once: one 1.5 s deadline, one restart of the child
    with SafeRenderer(size=256, base_timeout=1.5, per_image_timeout=0.0) as r:
        pool, specs, stats = frames.render_pool(r, 12, 256, np.random.default_rng(1), "library",
                                                frames_per_program=4)
    assert {s.program for s in specs} == {"lib/test/good"} and pool.shape == (12, 256, 256, 3)
    failed = {f["program"] for f in stats.failed_programs}
    assert failed == {"lib/test/hang"}
    assert all("did not finish rendering" in f["error"] for f in stats.failed_programs)


def test_a_malformed_file_is_skipped_and_named_the_rest_loads(library):
    root = library(bad=BAD, good=GOOD)
    assert [p.id for p in registry.library()] == ["lib/test/good"]
    [problem] = registry.problems()
    assert str(root / "test" / "bad.glsl") in problem and "unbalanced '{}'" in problem
    assert "fix the file or remove it" in problem
    with pytest.raises(registry.ProgramError, match="lib/test/bad was skipped: .*unbalanced"):
        registry.get("lib/test/bad")


def test_a_library_with_only_bad_files_is_a_clear_error(library):
    library(bad=BAD, worse=b"\xff\xfe not text".decode("latin-1"))
    (registry._root() / "test" / "binary.glsl").write_bytes(b"\xff\xfe\x00 not utf-8")
    assert len(registry.problems()) == 3
    with pytest.raises(frames.FramePoolError, match="no usable program; all 3 files were skipped"):
        frames.check_programs("library")


def test_list_warns_once_and_generate_logs_it_and_goes_on(tmp_path):
    root = make_library(tmp_path / "library", bad=BAD, good=GOOD)
    res = procmem(["shaders", "list"], library=root)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["lib/test/good", "test", "test,", "fault"]
    assert res.stderr.count("bad.glsl") == 1 and "unbalanced '{}'" in res.stderr
    out = tmp_path / "shards"
    res = procmem(["generate", "--process", "shaders", "--images", "8", "--res", "32",
                   "--shard-size", "4", "--programs", "library", "--frames-per-program", "4",
                   "--workers", "2", "--out", str(out), "--quiet"], library=root)
    assert res.returncode == 0, res.stderr
    assert res.stderr.count("bad.glsl") == 1, res.stderr
    assert "made 2 shards (8 images)" in res.stdout
    from procmem.generators import shards as sh

    assert sh.verify(out)[0] == []
    programs = {s["program"] for _, meta in sh.iter_images(out) for s in meta["sources"]}
    assert programs == {"lib/test/good"}
