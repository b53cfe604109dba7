"""The hand-written GLSL library: coverage of families, valid text, real EGL renders that
pass the quality filter, vary with their parameters and repeat exactly; and the prelude's
building blocks checked for the properties their comments promise."""

from __future__ import annotations

import re

import numpy as np
import pytest

from procmem.shaders import registry
from procmem.shaders.program import Program, prelude, validate

REQUIRED_FAMILIES = ("noise", "warp", "voronoi", "symmetry", "sdf", "fractal",
                     "interference", "tiling", "flow", "glitch")
DRAWS = 6
"""Parameter draws rendered per program (fixed seed): enough to see most of them pass."""

_LIB = registry.library()


def _draws(n: int = DRAWS, seed: int = 1234) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random(n).astype(np.float32) * 10.0, rng.random((n, 16)).astype(np.float32)


def _problem(img) -> str | None:
    from procmem.generators.quality import frame_problem

    return frame_problem(img)


# ---- coverage and text ----------------------------------------------------------------------

LIBRARY_SIZE = 61
"""Programs in the hand-written library; raise it when programs are added (none is lost)."""


def test_library_loses_no_program_and_has_3_or_more_in_each_required_family():
    assert len(_LIB) >= LIBRARY_SIZE, f"the library lost programs: {len(_LIB)} < {LIBRARY_SIZE}"
    counts = {}
    for p in _LIB:
        counts[p.family] = counts.get(p.family, 0) + 1
    assert len(counts) >= 10
    for fam in REQUIRED_FAMILIES:
        assert counts.get(fam, 0) >= 3, f"family {fam!r} has {counts.get(fam, 0)} programs"


@pytest.mark.parametrize("program", _LIB, ids=lambda p: p.id)
def test_program_text_validates_and_has_metadata(program: Program):
    assert validate(program.id, program.source) == []
    assert program.id == f"lib/{program.family}/{program.id.rsplit('/', 1)[1]}", \
        "the '// family:' header must match the directory"
    assert program.description and len(program.tags) >= 2
    assert "iTime" in program.source, "every program varies with iTime"
    used = {int(i) for i in re.findall(r"P\((\d+)\)", program.source)}
    assert len(used) >= 5, f"{program.id} reads only parameters {sorted(used)}"
    assert max(used) <= 15


_FOR = re.compile(r"\bfor\s*\(([^;]*);([^;]*);([^)]*)\)")
_BOUNDED = re.compile(r"^\s*int\s+(\w+)\s*=\s*-?\d+\s*$|^\s*(\w+)\s*<=?\s*-?\d+\s*$|^\s*(\w+)\+\+\s*$")


@pytest.mark.parametrize("program", _LIB, ids=lambda p: p.id)
def test_loops_have_constant_bounds(program: Program):
    """Every loop is `for (int i = A; i < B; i++)` with literal A and B (data-dependent exits
    use `break`), so no frame can run unbounded and llvmpipe can unroll short loops."""
    text = program.source + prelude().split("// ---- grammar building blocks")[0]
    assert not re.search(r"\bwhile\b", text), f"{program.id}: use a bounded for loop"
    for m in _FOR.finditer(text):
        assert all(_BOUNDED.match(part) for part in m.groups()), \
            f"{program.id}: loop header {m.group(0)!r} needs literal bounds"


def _functions(source: str) -> dict[str, str]:
    """Top-level function definitions of a GLSL text: name -> body with whitespace squeezed."""
    out = {}
    for m in re.finditer(r"^[\w]+\s+(\w+)\s*\([^;{]*\)\s*\{", source, re.M):
        depth, i = 1, m.end()
        while depth and i < len(source):
            depth += {"{": 1, "}": -1}.get(source[i], 0)
            i += 1
        out[m.group(1)] = " ".join(source[m.end():i].split())
    return out


def test_no_helper_is_copied_between_programs_or_from_the_prelude():
    """A helper two programs need belongs in the prelude (STYLE: no duplicated logic)."""
    seen = {body: f"prelude:{name}" for name, body in _functions(prelude()).items()}
    for p in _LIB:
        for name, body in _functions(p.source).items():
            if name == "mainImage" or len(body) < 60:
                continue
            assert body not in seen, f"{p.id}:{name} duplicates {seen[body]}"
            seen[body] = f"{p.id}:{name}"


# ---- real renders -------------------------------------------------------------------------

@pytest.mark.parametrize("program", _LIB, ids=lambda p: p.id)
def test_program_renders_varied_deterministic_frames(renderer, program: Program):
    """One compile per program (the renderer's cache holds fewer programs than the library):
    DRAWS parameter draws, plus draw 0 again at another time, then a repeat of two frames."""
    times, params = _draws()
    times = np.append(times, times[0] + 3.0)
    params = np.concatenate([params, params[:1]])
    imgs = renderer.render(program, times, params)
    assert imgs.shape == (DRAWS + 1, 64, 64, 3)
    problems = [_problem(im) for im in imgs[:DRAWS]]
    rejected = [p for p in problems if p]
    assert len(rejected) <= DRAWS // 3, f"{program.id}: {rejected}"
    # different parameter draws give visibly different pictures
    a, b = imgs[0].astype(np.int16), imgs[1].astype(np.int16)
    assert np.abs(a - b).mean() > 4.0
    # iTime animates the program: same parameters, another time, other pixels
    assert (imgs[0] != imgs[DRAWS]).any(), f"{program.id} ignores iTime"
    # the same (program, time, params) renders the same pixels
    again = renderer.render(program, times[:2], params[:2])
    np.testing.assert_array_equal(again, imgs[:2])


# ---- prelude building blocks --------------------------------------------------------------

def _probe(renderer, body: str) -> np.ndarray:
    """Render a one-off program whose mainImage body writes `fragColor` from `p` (about
    [-4, 4]^2 in world units); return float RGB in [0, 1], [64, 64, 3]."""
    src = ("void mainImage(out vec4 fragColor, in vec2 fragCoord) {\n"
           "    vec2 p = (fragCoord / iResolution.xy - 0.5) * 8.0 + 0.37 + 0.0 * iTime;\n"
           f"    {body}\n}}\n")
    prog = Program(id=f"test/probe/{abs(hash(body))}", source=src, family="test")
    return renderer.render(prog, [0.0], np.zeros((1, 16), np.float32))[0] / 255.0


def test_prelude_noises_stay_in_range_and_vary(renderer):
    c = _probe(renderer, "fragColor = vec4(0.5 + 0.5 * gnoise(p), 0.5 + 0.5 * snoise(p), "
                         "ridged(p, 5), 1.0);")
    for ch, name in enumerate(("gnoise", "snoise", "ridged")):
        v = c[..., ch]
        assert 0.0 < v.min() and v.max() < 1.0, f"{name} leaves its range"
        assert v.std() > 0.05, f"{name} is flat"


def test_gnoised_derivatives_match_finite_differences(renderer):
    # finite differences of the value against the analytic derivative, both scaled to colour
    c = _probe(renderer, "vec3 n = gnoised(p); float e = 0.002;\n"
                         "    vec2 fd = vec2(gnoise(p + vec2(e, 0.0)) - gnoise(p - vec2(e, 0.0)),\n"
                         "                   gnoise(p + vec2(0.0, e)) - gnoise(p - vec2(0.0, e))) / (2.0 * e);\n"  # noqa: E501
                         "    fragColor = vec4(0.5 + 0.1 * n.yz, 0.5 + 20.0 * length(fd - n.yz), 1.0);")
    assert c[..., :2].std() > 0.02, "derivatives are flat"
    assert np.percentile(c[..., 2], 99) < 0.5 + 20.0 * 0.02 + 1 / 255


def test_curl_field_is_divergence_free(renderer):
    c = _probe(renderer, "float e = 0.002;\n"
                         "    float div = (curl2(p + vec2(e, 0.0)).x - curl2(p - vec2(e, 0.0)).x\n"
                         "              + curl2(p + vec2(0.0, e)).y - curl2(p - vec2(0.0, e)).y) / (2.0 * e);\n"  # noqa: E501
                         "    fragColor = vec4(0.5 + 0.2 * curl2(p), 0.5 + 10.0 * div, 1.0);")
    assert c[..., :2].std() > 0.02, "curl field is flat"
    assert np.abs(c[..., 2] - 0.5).max() < 0.1, "curl field has divergence"


def test_voronoi_orders_f1_f2_and_labels_cells(renderer):
    c = _probe(renderer, "vec4 v = voronoi(p, 1.0); "
                         "fragColor = vec4(v.x, v.y, v.z, step(v.x, v.y));")
    f1, f2, cell = c[..., 0], c[..., 1], c[..., 2]
    assert (f1 <= f2 + 1 / 255).all()
    assert f1.min() < 0.05, "feature points are inside the picture"
    assert len(np.unique(np.round(cell, 2))) >= 8, "cells carry distinct ids"


def test_kaleido_folds_into_one_wedge(renderer):
    # the folded point's angle is in [0, pi/n] and its radius is kept
    c = _probe(renderer, "vec2 q = kaleido(p, 6.0); float a = atan(q.y, q.x);\n"
                         "    fragColor = vec4(a / (PI / 6.0), abs(length(q) - length(p)), 0.0, 1.0);")
    assert c[..., 0].max() <= 1.0 and c[..., 1].max() < 0.01
    assert c[..., 0].std() > 0.1


def test_truchet_arc_distance_is_bounded(renderer):
    c = _probe(renderer, "vec4 t = truchet(p * 2.0); fragColor = vec4(2.0 * t.x, t.y, 0.0, 1.0);")
    # arcs of radius 1/2 centred on two opposite corners: no point of the tile is over 1/2 away
    assert c[..., 0].max() <= 1.0 - 1 / 255
    assert c[..., 0].min() < 0.05 and len(np.unique(np.round(c[..., 1], 2))) > 4


def test_sdf_toolkit_hits_a_sphere_where_expected(renderer):
    src = ("float scene(vec3 p) { return min(sdSphere(p, 1.0), sdBox(p - vec3(3.0, 0.0, 0.0), vec3(0.5))); }\n"  # noqa: E501
           "SDF_TOOLKIT(scene)\n"
           "void mainImage(out vec4 fragColor, in vec2 fragCoord) {\n"
           "    vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y + 0.0 * iTime;\n"
           "    vec3 ro = vec3(0.0, 0.0, -4.0);\n"
           "    vec3 rd = camera(ro, vec3(0.0)) * normalize(vec3(uv, 2.0));\n"
           "    float t = sdfMarch(ro, rd, 10.0);\n"
           "    vec3 n = t > 0.0 ? sdfNormal(ro + rd * t) : vec3(0.0);\n"
           "    fragColor = vec4(t > 0.0 ? 1.0 : 0.0, 0.5 + 0.5 * n.z * -1.0, sdfAO(ro + rd * max(t, 0.0), n), 1.0);\n"  # noqa: E501
           "}\n")
    prog = Program(id="test/probe/sdf", source=src, family="test")
    c = renderer.render(prog, [0.0], np.zeros((1, 16), np.float32))[0] / 255.0
    hit = c[..., 0] > 0.5
    # a unit sphere 4 away under focal length 2: radius on screen ~ 2/sqrt(15) of half-height
    yy, xx = np.mgrid[0:64, 0:64]
    r = np.hypot(xx - 31.5, yy - 31.5) / 32.0
    assert hit[r < 0.45].all() and not hit[r > 0.6].any()
    # normals face the camera at the centre (n.z = -1 -> channel 1)
    assert c[32, 32, 1] > 0.95


def test_hex_cell_finds_the_nearest_lattice_centre(renderer):
    # centres lie on the lattice (1, 0), (1/2, sqrt(3)/2); no point is over 1/sqrt(3) from its own
    c = _probe(renderer, "vec4 h = hexCell(p); vec2 k = vec2(h.z - h.w / 1.7320508, h.w / 0.8660254);\n"
                         "    fragColor = vec4(length(h.xy) * 1.5, 10.0 * length(k - floor(k + 0.5)), "
                         "length(p - h.zw - h.xy), 1.0);")
    assert c[..., 0].max() <= 1.5 / 3 ** 0.5 + 2 / 255
    assert c[..., 1].max() < 0.05 and c[..., 2].max() < 0.01


def test_the_installed_library_skips_no_file():
    """The registry skips a malformed file so the rest still loads; the shipped library has none."""
    assert registry.problems() == []
