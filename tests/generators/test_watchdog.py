"""The render watchdog: a hanging program is killed and named; the next render works."""

import os
import signal
import threading
import time

import numpy as np
import pytest

from procmem.generators.render import ShaderCompileError
from procmem.generators.watchdog import RenderCrash, RenderTimeout, SafeRenderer
from procmem.shaders import registry
from procmem.shaders.program import PARAM_COUNT, Program

# Loop bounds come from a uniform, so the compiler cannot remove or shorten them: ~2e14
# iterations a pixel on a GPU. llvmpipe caps a loop nest at ~65535 iterations, which still
# takes ~10 s for a 256 px frame here, far past the test's 1.5 s deadline.
HANG = Program(id="t/hang", family="test", source="""
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    float x = fragCoord.x;
    int n = int(P(0) * 60000.0);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            for (int k = 0; k < n; k++) { x = fract(sin(x * 1.37 + P(1)) * 43758.5); }
        }
    }
    fragColor = vec4(x);
}
""")


@pytest.fixture(scope="module")
def safe():
    s = SafeRenderer(size=32, base_timeout=1.5, per_image_timeout=0.0)
    yield s
    s.close()


def test_hang_is_killed_and_named_then_next_render_works(safe):
    good = registry.library()[0]
    params = np.full((2, PARAM_COUNT), 0.5, np.float32)
    before = safe.render(good, [0.0, 1.0], params)
    assert before.shape == (2, 32, 32, 3) and before.std() > 0
    with pytest.raises(RenderTimeout, match="program t/hang did not finish") as info:
        safe.render(HANG, [0.0], np.ones((1, PARAM_COUNT)), size=256)
    assert info.value.program_id == "t/hang" and safe.restarts == 1
    after = safe.render(good, [0.0, 1.0], params)  # a fresh child, transparently
    assert np.array_equal(before, after)


def test_child_crash_is_named_and_recovered(safe):
    good = registry.library()[0]
    safe.render(good, [0.0], np.zeros((1, PARAM_COUNT)))
    pid, restarts = safe.child_pid, safe.restarts
    safe.base_timeout = 30.0
    killer = threading.Timer(0.5, os.kill, (pid, signal.SIGKILL))
    killer.start()
    try:
        with pytest.raises(RenderCrash, match="crashed while rendering program t/hang"):
            safe.render(HANG, [0.0], np.ones((1, PARAM_COUNT)), size=256)
    finally:
        killer.join()
        safe.base_timeout = 1.5
    assert safe.restarts == restarts + 1
    assert safe.render(good, [0.0], np.zeros((1, PARAM_COUNT))).shape == (1, 32, 32, 3)
    assert safe.child_pid != pid


def test_errors_from_the_child_keep_their_type(safe):
    bad = Program(id="gen/1/7", family="test",
                  source="void mainImage(out vec4 c, in vec2 f) {\n  c = vec4(nope);\n}")
    with pytest.raises(ShaderCompileError, match="gen/1/7 failed to compile: line 2"):
        safe.render(bad, [0.0], np.zeros((1, PARAM_COUNT)))
    frames = safe.render(registry.library()[0], [0.0], np.zeros((1, PARAM_COUNT)), size=(48, 16))
    assert frames.shape == (1, 16, 48, 3)


def test_pickles_as_settings_for_worker_processes(safe):
    import pickle

    copy = pickle.loads(pickle.dumps(safe))
    assert (copy.size, copy.base_timeout, copy.child_pid) == ((32, 32), safe.base_timeout, None)
    copy.close()


def test_deadline_scales_with_images_and_pixels():
    s = SafeRenderer(size=256, base_timeout=10.0, per_image_timeout=0.25)
    assert s.deadline(1, (256, 256)) == pytest.approx(10.25)
    assert s.deadline(100, (512, 512)) == pytest.approx(10.0 + 100 * 0.25 * 4)
    s.close()


def test_a_child_starved_of_cpu_is_not_killed_but_a_stopped_one_is_after_the_hang_cap():
    """The deadline counts the child's work: a child kept off the CPU (here SIGSTOPped, as a
    starved one is descheduled) past the wall deadline still renders; one that never runs
    again is killed after HANG_FACTOR deadlines."""
    from procmem.generators.watchdog import HANG_FACTOR, cpu_seconds

    good = registry.library()[0]
    params = np.full((1, PARAM_COUNT), 0.5, np.float32)
    with SafeRenderer(size=32, base_timeout=0.6, per_image_timeout=0.0) as r:
        expected = r.render(good, [0.0], params)
        pid = r.child_pid
        if cpu_seconds(pid) is None:
            pytest.skip("no /proc/<pid>/stat here: the deadline is wall time")
        os.kill(pid, signal.SIGSTOP)
        threading.Timer(1.5, os.kill, (pid, signal.SIGCONT)).start()  # 2.5 wall deadlines
        assert np.array_equal(r.render(good, [0.0], params), expected) and r.restarts == 0
        os.kill(pid, signal.SIGSTOP)  # never continued: no CPU is used, the cap kills it
        t0 = time.monotonic()
        with pytest.raises(RenderTimeout, match="did not finish rendering"):
            r.render(good, [0.0], params)
        assert HANG_FACTOR * 0.6 - 0.1 <= time.monotonic() - t0 < HANG_FACTOR * 0.6 + 3
        assert r.restarts == 1 and np.array_equal(r.render(good, [0.0], params), expected)
