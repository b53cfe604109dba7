"""The headless EGL renderer: errors, determinism, orientation, sizes, LRU cache."""

import importlib.util
import pickle

import numpy as np
import pytest

from procmem.core.errors import ProcmemError
from procmem.generators.render import (
    Renderer,
    RenderInputError,
    ShaderCompileError,
    parse_size,
    random_params,
)
from procmem.shaders import registry
from procmem.shaders.program import PARAM_COUNT, Program, ProgramError


def prog(pid, body):
    return Program(id=pid, family="test",
                   source="void mainImage(out vec4 fragColor, in vec2 fragCoord) {\n"
                          + body + "\n}\n")


VERTICAL = prog("t/vertical", "    fragColor = vec4(vec3(fragCoord.y / iResolution.y), 1.0);")
PARAMS = prog("t/params", "    fragColor = vec4(P(0), P(5), P(15), 1.0)"
                          " * (0.5 + 0.5 * sin(iTime + fragCoord.x));")


def test_compile_error_names_id_line_and_source_line(renderer):
    bad = prog("gen/1/42", "    float x = 1.0;\n    fragColor = vec4(foo);")
    with pytest.raises(ShaderCompileError) as info:
        renderer.render(bad, [0.0], np.zeros((1, PARAM_COUNT)))
    msg = str(info.value)
    assert msg.startswith("program gen/1/42 failed to compile: line 3:")
    assert "foo" in msg and "3 | fragColor = vec4(foo);" in msg
    assert info.value.line == 3
    assert isinstance(info.value, ProgramError)
    # it survives a trip between processes (the watchdog sends it back from its child)
    again = pickle.loads(pickle.dumps(info.value))
    assert str(again) == msg and again.program_id == "gen/1/42"


def test_compile_error_parses_nvidia_log_format():
    e = ShaderCompileError("lib/x/y", '0(2) : error C1008: undefined variable "foo"',
                           "void a;\nfoo;\n")
    assert e.line == 2 and "line 2: error" not in str(e)
    assert 'line 2: C1008: undefined variable "foo"\n    2 | foo;' in str(e)


def test_text_is_validated_before_compiling(renderer):
    with pytest.raises(ProgramError, match="t/nomain"):
        renderer.render(Program(id="t/nomain", family="t", source="void main() {}"),
                        [0.0], np.zeros((1, PARAM_COUNT)))


def test_same_inputs_same_pixels_different_params_different_pixels(renderer):
    p = registry.library()[0]
    params = random_params(7, 3)
    a = renderer.render(p, [0.0, 1.0, 2.0], params)
    b = renderer.render(p, [0.0, 1.0, 2.0], params)
    assert a.dtype == np.uint8 and a.shape == (3, 64, 64, 3)
    assert np.array_equal(a, b)
    c = renderer.render(p, [0.0, 1.0, 2.0], random_params(8, 3))
    assert not np.array_equal(a[0], c[0])


def test_every_param_slot_and_time_reach_the_shader(renderer):
    params = np.zeros((3, PARAM_COUNT), np.float32)
    params[:, 0], params[:, 5], params[:, 15] = 1.0, 0.5, 0.25
    a = renderer.render(PARAMS, [0.0, 0.0, 1.0], params)
    assert np.array_equal(a[0], a[1])
    assert not np.array_equal(a[0], a[2])  # iTime changed
    peak = a[0].reshape(-1, 3).max(0)
    assert peak[0] > 240 and 110 < peak[1] < 140 and 55 < peak[2] < 75


def test_top_row_is_top_of_image_and_size_is_width_height(renderer):
    img = renderer.render(VERTICAL, [0.0], np.zeros((1, PARAM_COUNT)), size=(40, 20))
    assert img.shape == (1, 20, 40, 3)
    col = img[0, :, 0, 0].astype(int)
    assert col[0] > 240 and col[-1] < 15  # high y (top of the GL image) is row 0
    assert np.all(np.diff(col) <= 0)


def test_program_reading_no_uniforms_renders(renderer):
    flat = prog("t/flat", "    fragColor = vec4(0.2, 0.4, 0.6, 1.0);")
    img = renderer.render(flat, [0.0, 1.0], np.zeros((2, PARAM_COUNT)))
    assert np.all(np.abs(img[..., 2].astype(int) - 153) <= 1)


def test_bad_inputs_are_named(renderer):
    with pytest.raises(RenderInputError, match="t/params.*expected \\(2, 16\\)"):
        renderer.render(PARAMS, [0.0, 1.0], np.zeros((2, 3)))
    with pytest.raises(RenderInputError, match="width and height"):
        parse_size(0)
    with pytest.raises(RenderInputError, match="int \\(square\\)"):
        parse_size("big")
    assert renderer.render(PARAMS, [], np.zeros((0, PARAM_COUNT))).shape == (0, 64, 64, 3)
    with pytest.raises(RenderInputError, match="registry.get"):
        renderer.render("lib/noise/value_fbm", [0.0], np.zeros((1, PARAM_COUNT)))


def test_out_array_is_filled_in_place(renderer):
    out = np.zeros((2, 64, 64, 3), np.uint8)
    res = renderer.render(VERTICAL, [0.0, 0.0], np.zeros((2, PARAM_COUNT)), out=out)
    assert res is out and out[0, 0, 0, 0] > 240


def test_lru_cache_evicts_least_recently_used():
    r = Renderer(size=8, cache_size=2)
    try:
        progs = [prog(f"t/lru{i}", f"    fragColor = vec4({i}.0 / 4.0);") for i in range(3)]
        zero = np.zeros((1, PARAM_COUNT))
        for p in progs[:2]:
            r.render(p, [0.0], zero)
        r.render(progs[0], [0.0], zero)  # now lru1 is least recently used
        assert r.compiles == 2
        r.render(progs[2], [0.0], zero)
        assert r.cached_ids() == ["t/lru0", "t/lru2"]
        r.render(progs[0], [0.0], zero)
        assert r.compiles == 3
        r.render(progs[1], [0.0], zero)  # evicted earlier: compiled again
        assert r.compiles == 4 and r.cached_ids() == ["t/lru0", "t/lru1"]
    finally:
        r.close()


def test_renderer_pickles_as_settings_and_context_is_lazy():
    r = Renderer(size=(32, 16), cache_size=3)
    assert r._ctx is None  # nothing created until the first render
    r2 = pickle.loads(pickle.dumps(r))
    assert (r2.size, r2.cache_size, r2._ctx) == ((32, 16), 3, None)


def test_two_renderers_in_one_process_do_not_disturb_each_other(renderer):
    p = registry.library()[0]
    params = random_params(3, 1)
    before = renderer.render(p, [0.0], params)
    other = Renderer(size=16)
    other.render(VERTICAL, [0.0], np.zeros((1, PARAM_COUNT)))
    assert np.array_equal(renderer.render(p, [0.0], params), before)
    other.close()  # closing the other context leaves this one working
    assert np.array_equal(renderer.render(p, [0.0], params), before)


@pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="triton not installed")
def test_torchvision_can_be_imported_after_rendering():
    """llvmpipe and triton both bundle LLVM: triton imported after EGL init used to segfault
    (timm -> torchvision -> torch._dynamo imports it), so the renderer loads it first, also
    in a process that had not loaded torch when rendering began."""
    import subprocess
    import sys

    code = ("import numpy as np\n"
            "from procmem.generators.render import Renderer\n"
            "from procmem.shaders import registry\n"
            "r = Renderer(size=8)\n"
            "r.render(registry.library()[0], [0.0], np.zeros((1, 16)))\n"
            "import torchvision, triton\n"
            "print(r.render(registry.library()[0], [0.0], np.zeros((1, 16))).shape)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "(1, 8, 8, 3)" in res.stdout


def test_missing_egl_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("GLCONTEXT_LINUX_LIBEGL", "/nonexistent/libEGL.so.1")
    r = Renderer(size=8)
    with pytest.raises(ProcmemError, match="could not create an EGL.*install Mesa's EGL"):
        r.render(VERTICAL, [0.0], np.zeros((1, PARAM_COUNT)))
    r.close()
