"""The seeded program grammar: one integer seed -> one complete GLSL program.

A program is a composition `colour(combine(pattern_i(transform(p))))`: a camera
transform, 0-3 coordinate transforms (polar, kaleidoscopic fold, mirror, tiling, swirl,
fbm domain warp, sphere/perspective maps, ...), 1-3 pattern functions each normalised
to [0, 1] (fbm/ridged noise, Voronoi, sine interference, stripes/rings/checkers,
truchet arcs, repeated SDF shapes, escape-time Julia orbits, ...) joined by a combiner
(mix, product, min/max, difference, screen, domain modulation), and a colour mapping
(cosine palette, HSV ramp, two/three-colour gradients, posterisation, per-channel
patterns, bump lighting). The recipe follows the "procedural image programs" of
Baradad et al. 2022 ("Procedural Image Programs for Representation Learning", the
Shaders-21k set), made from a seed instead of collected.

Design rules that keep >= 99% of seeds useful (docs/benchmarks.md, "Program grammar"):
every pattern returns a value in [0, 1] with a contrast stretch tuned to its own
distribution; combiners keep that range; colour maps have a minimum amplitude or a dark
and a light end; spatial frequencies are bounded, lowered by the transforms' zoom, and
the zoom itself is capped (MAX_ZOOM, one radial map at most), so no picture is flat or
sub-pixel noise; loops have compile-time bounds and a cost budget (COST_BUDGET, measured
part costs) swaps out expensive parts.

Reproducible: only `random.Random(seed).random()` drives choices, numbers are printed
with fixed precision, so the same (seed, version) gives byte-identical text anywhere.
Per-image variety comes from the parameter block: each program reads `P(i)` (and
`iTime`) for its camera, offsets, frequencies and palette phases.
"""

from __future__ import annotations

import math
import operator
import random

from procmem.shaders.program import PARAM_COUNT, Program, ProgramError, check

GRAMMAR_VERSION = "1"
VERSIONS = ("1",)

COST_BUDGET = 12.0
"""Upper bound of a program's estimated cost: milliseconds per 256 px frame on Mesa llvmpipe
(2 cores), from each part's measured cost (`benchmarks/grammar.py`). Parts that would pass it
are swapped for cheap ones, so no program is slow; the median costs far less (the project
goal: >= 200 images/s at 256 px)."""


def _f(x: float) -> str:
    """A GLSL float literal with fixed precision (negative values parenthesised)."""
    s = f"{x:.3f}"
    if s == "-0.000":
        s = "0.000"
    return f"({s})" if s.startswith("-") else s


class _Builder:
    """Draws choices from the seed and collects the program's parts as text."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.next_param = 0
        self.tags: list[str] = []
        self.cost = 0.0
        self.zoom = 1.0  # how much the transforms magnify spatial frequency

    def freq(self, lo: float, hi: float) -> str:
        """A per-image spatial frequency in [lo, hi], lowered by the transforms' zoom
        so composed programs stay above the pixel scale (no sub-pixel noise). The
        reduction is capped (x2.3): tiles and wedges are small, so a pattern slowed
        down more would be constant across them."""
        z = min(max(1.0, self.zoom), 3.0) ** 0.75
        return self.p(lo / z, hi / z)

    # -- choices from the seed (only rng.random(): stable across Python versions) --
    def u(self, lo: float = 0.0, hi: float = 1.0) -> float:
        return lo + (hi - lo) * self.rng.random()

    def i(self, lo: int, hi: int) -> int:
        """An integer in [lo, hi], inclusive."""
        return min(hi, lo + int(self.rng.random() * (hi - lo + 1)))

    def pick(self, items):
        return items[min(len(items) - 1, int(self.rng.random() * len(items)))]

    def weighted(self, table):
        """One name from [(name, weight), ...]."""
        total = sum(w for _, w in table)
        x = self.rng.random() * total
        for name, w in table:
            x -= w
            if x < 0:
                return name
        return [name for name, w in table if w > 0][-1]  # x rounded to exactly total

    # -- per-image parameters --
    def P(self) -> str:
        """The next per-image parameter in [0, 1); after the 16th, scrambled re-uses."""
        k = self.next_param
        self.next_param += 1
        if k < PARAM_COUNT:
            return f"P({k})"
        return f"fract(P({k % PARAM_COUNT}) * {_f(self.u(3.0, 9.0))} + {_f(self.u())})"

    def p(self, lo: float, hi: float, min_frac: float = 0.35) -> str:
        """A value varying per image within a seed-chosen sub-range of [lo, hi]."""
        width = (hi - lo) * self.u(min_frac, 1.0)
        a = lo + self.u(0.0, (hi - lo) - width)
        return f"mix({_f(a)}, {_f(a + width)}, {self.P()})"

    def offset(self, amp: float) -> str:
        return f"(vec2({self.P()}, {self.P()}) - 0.5) * {_f(2 * amp)}"

    def unit_vec(self) -> str:
        """A random direction. Drawn by rejection and normalised with sqrt (correctly
        rounded in IEEE 754, unlike libm's cos/sin), so the digits are the same anywhere."""
        while True:
            x, y = self.u(-1.0, 1.0), self.u(-1.0, 1.0)
            r2 = x * x + y * y
            if 0.05 < r2 <= 1.0:
                r = math.sqrt(r2)
                return f"vec2({_f(x / r)}, {_f(y / r)})"


# ---------------------------------------------------------------- transforms
# Each takes the builder and returns GLSL statements transforming `p` in place.
# Domains stay around [-1.5, 1.5] so patterns' frequencies keep their meaning.

def _t_polar(b):
    """Polar coordinates (angle x k, radius): rings and rays from straight patterns."""
    b.cost += 0.5
    k = b.i(1, 4)
    b.zoom *= max(1.0, 0.7 * k)
    # abs(angle): the two sides meet mirrored, so there is no seam at the branch cut; the
    # angle fades out near the centre, where it would change faster than pixels can show
    return [f"p = vec2(abs(atan(p.y, p.x)) / PI * {k}.0 * smoothstep(0.0, 0.3, length(p)), "
            "length(p) * 2.0 - 1.0);"]


def _t_logpolar(b):
    """Log-polar map: self-similar spirals and tunnels (scale becomes translation)."""
    b.cost += 1.5
    k = b.i(1, 5)
    b.zoom *= max(1.0, 0.7 * k)
    return [f"p = vec2(abs(atan(p.y, p.x)) / PI * {k}.0 * smoothstep(0.0, 0.3, length(p)), "
            f"log(length(p) + 0.03) * {b.p(0.6, 1.6)});"]


def _t_kaleido(b):
    """n-fold kaleidoscope (dihedral D_n) or rotational repeat (cyclic C_n)."""
    b.cost += 1.5
    n = b.pick([3, 4, 5, 6, 6, 8, 10, 12])
    b.tags.append(f"symmetry:{n}")
    fold = b.pick(["kaleido", "kaleido", "polarRepeat"])
    # a wedge of angle TAU/n is thin for large n: widen it so patterns along y survive
    widen = f" p.y *= {_f(n / 4.0)};" if n > 4 else ""
    b.zoom *= max(1.0, n / 4.0)
    return [f"p = {fold}(p, {n}.0);{widen}", f"p.x -= {b.p(0.0, 0.6)};"]


def _t_mirror(b):
    """Mirror across one or both axes (D_1 / D_2 symmetry)."""
    b.cost += 0.5
    axis = b.pick(["p = abs(p);", "p.x = abs(p.x);", "p.y = abs(p.y);"])
    return [axis, f"p -= {_f(b.u(0.1, 0.5))};"]


def _t_tile(b):
    """Tiling by fract repetition: a wallpaper of the pattern's central cell."""
    b.cost += 1
    k = b.u(2.0, 4.0)
    b.zoom *= k
    return [f"p = gr_tile(p, {b.p(1.5, k)});"]


def _t_swirl(b):
    """Swirl: rotation by an angle that decays with the radius (a vortex)."""
    b.cost += 1
    s = b.pick([-1, 1])
    b.zoom *= 1.5
    return [f"p = rot2({s}.0 * {b.p(1.5, 5.0)} * exp(-{_f(b.u(0.5, 2.0))} * dot(p, p))) * p;"]


def _t_warp(b):
    """Domain warp by fbm (Quilez 2002, "domain warping"): marbled, fluid shapes."""
    b.cost += 4
    return [f"p += {b.p(0.15, 0.6)} * (vec2(fbm(p * {_f(b.u(1.0, 3.0))} + {b.offset(20.0)}, 4), "
            f"fbm(p.yx * {_f(b.u(1.0, 3.0))} + 31.7, 4)) - 0.5);"]


def _t_sine(b):
    """Sinusoidal displacement: wavy, rippled versions of any pattern."""
    b.cost += 1
    return [f"p += {b.p(0.05, 0.25)} * sin(p.yx * {b.p(2.0, 8.0)} + iTime + {_f(b.u(0, 6.28))});"]


def _t_curl(b):
    """Advection by a divergence-free curl-noise field (Bridson et al. 2007)."""
    b.cost += 2
    return [f"p += {b.p(0.1, 0.35)} * curl2(p * {_f(b.u(1.0, 3.0))} + {b.offset(20.0)});"]


def _t_sphere(b):
    """Fisheye / sphere projection: the pattern wrapped on a ball."""
    b.cost += 1.5
    return [f"p = gr_sphere(p, {b.p(0.8, 1.6)});"]


def _t_perspective(b):
    """Ground-plane perspective: the pattern as a floor receding to a horizon."""
    b.cost += 0.8
    b.zoom *= 2.0
    return [f"p = gr_plane(p, {b.p(0.3, 0.7)});"]


def _t_shear(b):
    """Shear: slanted, anisotropic versions of any pattern."""
    b.cost += 0.5
    return [f"p = mat2(1.0, {b.p(-0.8, 0.8)}, {b.p(-0.4, 0.4)}, 1.0) * p;"]


TRANSFORMS = {
    "polar": (_t_polar, 2.0), "logpolar": (_t_logpolar, 1.0), "kaleido": (_t_kaleido, 3.0),
    "mirror": (_t_mirror, 1.5), "tile": (_t_tile, 1.5), "swirl": (_t_swirl, 1.5),
    "warp": (_t_warp, 2.0), "curl": (_t_curl, 1.0), "sinewave": (_t_sine, 1.5),
    "sphere": (_t_sphere, 1.0), "perspective": (_t_perspective, 1.0), "shear": (_t_shear, 0.7),
}
"""Coordinate transforms and their relative frequency in the grammar."""


MAX_ZOOM = 4.0
"""Most a program's transforms together may magnify spatial frequency (`_Builder.zoom`):
polar after tiling after a 12-fold kaleidoscope is sub-pixel noise, whatever the pattern."""

_RADIAL = {"polar", "logpolar", "kaleido"}
"""Transforms with a singular centre: a program uses one of them at most."""


# ---------------------------------------------------------------- patterns
# Each returns (cost, GLSL body lines) of `float patN(vec2 p)` returning a value in [0, 1].

def _pat_fbm(b):
    """Fractal Brownian motion of value noise (3-6 octaves), contrast-stretched."""
    oct_ = b.i(3, 6)
    b.cost += 0.6 * oct_
    return [f"float n = fbm(p * {b.freq(1.0, 5.0)} + {b.offset(50.0)} + iTime * 0.05, {oct_});",
            "return smoothstep(0.22, 0.78, n);"]


def _pat_ridged(b):
    """Ridged multifractal (Musgrave 1994): mountain-ridge crests."""
    oct_ = b.i(3, 6)
    b.cost += 1.2 * oct_
    return [f"float n = ridged(p * {b.freq(1.0, 3.0)} + {b.offset(50.0)}, {oct_});",
            "return smoothstep(0.1, 0.8, n);"]


def _pat_simplex(b):
    """Simplex-noise fbm (Perlin 2001), 2-6 octaves, contrast-stretched."""
    oct_ = b.i(2, 6)
    b.cost += 1.1 * oct_
    return [f"float n = sfbm(p * {b.freq(0.7, 4.0)} + {b.offset(50.0)} + iTime * 0.05, {oct_});",
            f"return smoothstep(-0.6, 0.6, n * {_f(b.u(0.8, 1.5))});"]


def _pat_voronoi(b):
    """Worley cellular noise (1996): F1, F2, edges (F2 - F1) or flat cells."""
    b.cost += 1.5
    mode = b.pick(["f1", "edges", "cells", "f2"])
    b.tags.append(f"voronoi:{mode}")
    lines = [f"vec4 v = voronoi(p * {b.freq(1.5, 7.0)} + {b.offset(30.0)}, {_f(b.u(0.5, 1.0))});"]
    if mode == "f1":
        lines.append("return clamp(v.x * 1.5, 0.0, 1.0);")
    elif mode == "f2":
        lines.append("return clamp(v.y * 1.1, 0.0, 1.0);")
    elif mode == "edges":
        lines.append(f"return smoothstep(0.0, {b.p(0.05, 0.3)}, v.y - v.x);")
    else:
        lines.append("return v.z;")
    return lines


def _pat_waves(b):
    """Interference of 2-5 plane waves with seed-chosen directions (plasma)."""
    n = b.i(2, 5)
    b.cost += 0.4 * n
    terms = []
    for _ in range(n):
        terms.append(f"sin(dot(p, {b.unit_vec()}) * {_f(b.u(3.0, 12.0))} * s + "
                     f"{_f(b.u(0, 6.28))} + iTime * {_f(b.u(-1, 1))})")
    return [f"float s = {b.freq(0.6, 1.5)};", f"float w = ({' + '.join(terms)}) / {n}.0;",
            f"return 0.5 + 0.5 * sin(w * {_f(b.u(1.5, 4.0))} + {b.P()} * 6.283);"]


def _pat_stripes(b):
    """Parallel stripes, soft or hard-edged."""
    b.cost += 0.5
    hard = b.u() < 0.5
    lines = [f"float s = sin(dot(p, {b.unit_vec()}) * {b.freq(2.5, 16.0)} + {b.P()} * 6.283);"]
    if hard:
        lines.append(f"return smoothstep(-{_f(b.u(0.05, 0.3))}, {_f(b.u(0.05, 0.3))}, s);")
    else:
        lines.append("return 0.5 + 0.5 * s;")
    return lines


def _pat_rings(b):
    """Concentric rings around a per-image centre."""
    b.cost += 1
    return [f"float r = length(p - {b.offset(0.5)});",
            f"return 0.5 + 0.5 * sin(r * {b.freq(4.0, 22.0)} - iTime + {b.P()} * 6.283);"]


def _pat_checker(b):
    """Checkerboard with a seed-chosen edge softness."""
    b.cost += 1
    return [f"vec2 q = p * {b.freq(1.5, 7.0)};",
            f"return smoothstep(-{_f(b.u(0.05, 0.4))}, {_f(b.u(0.05, 0.4))}, "
            "sin(q.x * PI) * sin(q.y * PI));"]


def _pat_truchet(b):
    """Truchet arcs (Smith 1987): random quarter-circle tiles form meanders."""
    b.cost += 1.5
    return [f"float d = truchet(p * {b.freq(2.0, 7.0)} + {b.offset(20.0)}).x;",
            f"return 1.0 - smoothstep(0.0, {b.p(0.06, 0.2)}, d);"]


def _pat_shapes(b):
    """A lattice of SDF shapes (circle, box, ring, cross, star), jittered per cell."""
    shape = b.pick(["circle", "box", "ring", "cross", "star"])
    b.tags.append(f"shape:{shape}")
    b.cost += 2
    lines = [f"vec2 q = p * {b.freq(1.5, 6.0)} + {b.offset(5.0)};",
             "vec2 id = floor(q);",
             "q = fract(q) - 0.5;",
             f"q = rot2({_f(b.u(0, 3.14))} * hash12(id) + {b.P()}) * q;",
             f"float r = {b.p(0.18, 0.38)} * (0.7 + 0.3 * hash12(id + 7.0));"]
    if shape == "circle":
        lines.append("float d = sdCircle(q, r);")
    elif shape == "box":
        lines.append("float d = sdBox2(q, vec2(r, r * 0.7));")
    elif shape == "ring":
        lines.append("float d = abs(length(q) - r) - 0.06;")
    elif shape == "cross":
        lines.append("vec2 a = abs(q); "
                     "float d = min(max(a.x - r, a.y - 0.08), max(a.y - r, a.x - 0.08));")
    else:
        k = b.i(3, 7)
        lines.append(f"float a = atan(q.y, q.x); "
                     f"float d = length(q) - r * (0.75 + 0.25 * cos({k}.0 * a));")
    if b.u() < 0.5:
        lines.append(f"return 1.0 - smoothstep(-0.02, {_f(b.u(0.02, 0.12))}, d);")
    else:
        lines.append(f"return 0.5 + 0.5 * cos(d * {_f(b.u(10.0, 24.0))});")
    return lines


_JULIA = [(-0.8, 0.156), (-0.4, 0.6), (0.285, 0.01), (-0.70176, -0.3842), (-0.835, -0.2321),
          (0.355, 0.355), (-0.54, 0.54), (-0.123, 0.745), (0.37, 0.1), (-0.75, 0.11)]


def _pat_julia(b):
    """Escape-time Julia set near a known-rich c: smooth iteration count."""
    b.cost += 11
    cx, cy = b.pick(_JULIA)
    return [f"vec2 z = p * {b.freq(0.9, 1.6)} + {b.offset(0.15)};",
            f"vec2 c = vec2({_f(cx)}, {_f(cy)}) + {b.offset(0.02)};",
            "return gr_julia(z, c);"]


def _pat_hex(b):
    """Hexagonal cells: edges or distance bands."""
    b.cost += 1
    return [f"float d = gr_hexdist(p * {b.freq(2.0, 8.0)} + {b.offset(10.0)});",
            f"return smoothstep({_f(b.u(0.3, 0.42))}, 0.5, d);" if b.u() < 0.5
            else f"return 0.5 + 0.5 * cos(d * {_f(b.u(10.0, 24.0))});"]


def _pat_spiral(b):
    """Logarithmic spiral arms around a per-image centre."""
    b.cost += 1.5
    arms = b.i(1, 6)
    return [f"vec2 q = p - {b.offset(0.4)};",
            f"float s = atan(q.y, q.x) / TAU * {arms}.0 "
            f"+ log(length(q) + 1e-3) * {b.freq(0.6, 2.5)};",
            f"return 0.5 + 0.5 * sin(TAU * (s + {b.P()}) + iTime);"]


def _pat_blob(b):
    """One large shape (circle or rounded k-star): the figure of a figure/ground mask."""
    b.cost += 1
    k = b.i(0, 7)
    lines = [f"vec2 q = rot2({b.P()} * 6.283) * (p - {b.offset(0.5)});",
             f"float d = length(q) * {b.freq(1.5, 3.0)} - 1.0"
             + (f" - {_f(b.u(0.15, 0.5))} * cos({k}.0 * atan(q.y, q.x));" if k > 1 else ";")]
    if b.u() < 0.6:
        lines.append(f"return 1.0 - smoothstep(-0.03, {_f(b.u(0.03, 0.2))}, d);")
    else:
        lines.append(f"return 0.5 + 0.5 * cos(d * {_f(b.u(6.0, 20.0))});")
    return lines


PATTERNS = {
    "fbm": (_pat_fbm, 2.0), "ridged": (_pat_ridged, 1.2), "simplex": (_pat_simplex, 1.2),
    "voronoi": (_pat_voronoi, 2.0),
    "waves": (_pat_waves, 1.5), "stripes": (_pat_stripes, 1.0), "rings": (_pat_rings, 0.8),
    "checker": (_pat_checker, 0.7), "truchet": (_pat_truchet, 1.0), "shapes": (_pat_shapes, 1.5),
    "julia": (_pat_julia, 0.8), "hex": (_pat_hex, 0.8), "spiral": (_pat_spiral, 0.7),
    "blob": (_pat_blob, 0.0),  # only as the mask of `select` (a figure on a ground)
}
"""Pattern functions and their relative frequency in the grammar."""


# ---------------------------------------------------------------- combiners
# The body of `float field(vec2 p)`: pattern values (each in [0, 1]) joined into one value
# in [0, 1]. Product takes a square root and difference a gain so contrast is kept.

def _j_modulate(b):
    """pat1's value displaces pat0's domain (domain composition, small amplitude)."""
    return [f"return pat0(p + {b.p(0.1, 0.35)} * (pat1(p) - 0.5) * {b.unit_vec()});"]


def _j_select(b):
    """Figure and ground: the third pattern picks between the first two."""
    edge = _f(b.u(0.03, 0.2))
    return [f"float m = smoothstep(0.5 - {edge}, 0.5 + {edge}, pat2(p));",
            "return mix(pat0(p), pat1(p), m);"]


def _joined(expr):
    return lambda b: [f"return {expr(b, 'pat0(p)', 'pat1(p)')};"]


COMBINERS = {
    "mix": (_joined(lambda b, x, y: f"mix({x}, {y}, {b.p(0.3, 0.7)})"), 2.0),
    "product": (_joined(lambda b, x, y: f"sqrt({x} * {y})"), 1.2),
    "min": (_joined(lambda b, x, y: f"min({x}, {y})"), 0.8),
    "max": (_joined(lambda b, x, y: f"max({x}, {y})"), 0.8),
    "difference": (_joined(lambda b, x, y: f"clamp(abs({x} - {y}) * 1.6, 0.0, 1.0)"), 1.0),
    "screen": (_joined(lambda b, x, y: f"1.0 - (1.0 - {x}) * (1.0 - {y})"), 0.8),
    "bands": (_joined(lambda b, x, y: f"fract({x} + {y} * {_f(b.u(0.5, 1.5))})"), 0.6),
    "modulate": (_j_modulate, 1.5),
    "select": (_j_select, 0.0),  # never drawn for two patterns; always for three
    "figure": (_j_select, 1.2),  # two patterns and a big shape picking between them
}
"""Combiners and their relative frequency for two patterns (three always `select`)."""


# ---------------------------------------------------------------- colour maps
# Each turns `v` (and, for per-channel maps, a vec3 `vv`) into `col`.

def _c_palette(b):
    """Cosine palette (Quilez): a + b cos(2 pi (c t + d)), amplitude b >= 0.35."""
    key = b.u(0.25, 0.75)  # dark-, mid- or high-key pictures
    a = ", ".join(_f(key + b.u(-0.1, 0.1)) for _ in range(3))
    amp = ", ".join(_f(b.u(0.35, 0.55)) for _ in range(3))
    c = ", ".join(_f(b.pick([0.5, 1.0, 1.0, 1.5, 2.0])) for _ in range(3))
    d = ", ".join(_f(b.u()) for _ in range(3))
    return [f"vec3 col = palette(v * {b.p(0.6, 1.5)} + {b.P()}, vec3({a}), vec3({amp}), "
            f"vec3({c}), vec3({d}));"]


def _c_hsv(b):
    """HSV ramp: hue walks with the value, brightness rises with it."""
    return [f"vec3 col = hsv2rgb(vec3({b.P()} + v * {b.p(0.15, 0.8)}, {b.p(0.45, 0.95)}, "
            f"mix({_f(b.u(0.05, 0.3))}, 1.0, v)));"]


def _rand_colour(b, light: bool) -> str:
    lo, hi = (0.65, 1.0) if light else (0.0, 0.3)
    return f"hsv2rgb(vec3({_f(b.u())} + {b.P()} * 0.3, {_f(b.u(0.2, 0.9))}, {_f(b.u(lo, hi))}))"


def _c_gradient2(b):
    """Two-colour gradient from a dark to a light colour (contrast guaranteed)."""
    return [f"vec3 col = mix({_rand_colour(b, False)}, {_rand_colour(b, True)}, v);"]


def _c_gradient3(b):
    """Three-colour gradient: dark, mid, light."""
    mid = f"hsv2rgb(vec3({_f(b.u())}, {_f(b.u(0.5, 1.0))}, {_f(b.u(0.45, 0.75))}))"
    return [f"vec3 c0 = {_rand_colour(b, False)};", f"vec3 c1 = {mid};",
            f"vec3 c2 = {_rand_colour(b, True)};",
            "vec3 col = v < 0.5 ? mix(c0, c1, v * 2.0) : mix(c1, c2, v * 2.0 - 1.0);"]


def _c_channels(b):
    """Per-channel patterns: R, G and B are different patterns (or places)."""
    return [f"vec3 col = mix(vv, vv.gbr, {_f(b.u(0.0, 0.3))});"]


COLOURS = {
    "palette": (_c_palette, 3.0), "hsv": (_c_hsv, 1.5), "gradient2": (_c_gradient2, 1.5),
    "gradient3": (_c_gradient3, 1.2), "channels": (_c_channels, 1.0),
}
"""Colour mappings and their relative frequency in the grammar."""


# ---------------------------------------------------------------- assembly

def _weighted(b, table: dict) -> str:
    return b.weighted([(name, w) for name, (_, w) in table.items()])


def _field(b, op: str | None) -> list[str]:
    """The body of `float field(vec2 p)`: the patterns joined by `op`."""
    if op is None:
        return ["return pat0(p);"]
    b.tags.append(f"combine:{op}")
    return COMBINERS[op][0](b)


def _transforms(b, n: int, warp: list[str]) -> list[str]:
    """Draw up to `n` coordinate transforms, appending their GLSL to `warp`; their names."""
    used = []
    for _ in range(n):
        name = _weighted(b, TRANSFORMS)
        # no repeats, and one radial map at most: a second one's singularity inside the
        # first's wedge or band makes sub-pixel noise, not structure
        if name in used or (name in _RADIAL and _RADIAL & set(used)):
            continue
        before = (b.cost, b.zoom, len(b.tags))
        lines = TRANSFORMS[name][0](b)
        if b.zoom > MAX_ZOOM:  # magnifies too much on top of the others: leave it out
            b.cost, b.zoom = before[:2]
            del b.tags[before[2]:]
            continue
        used.append(name)
        warp += lines
    for t in used or ["none"]:
        b.tags.append(f"transform:{t}")
    return used


def _patterns(b, n: int, op: str | None, copies: int) -> tuple[list[str], list[str]]:
    """Draw `n` patterns within the cost budget: their names and `patK` GLSL functions."""
    names, funcs = [], []
    transform_cost = b.cost
    for k in range(n):
        name = _weighted(b, PATTERNS)
        if k == 2 and (op == "figure" or b.u() < 0.6):
            name = "blob"  # a figure on a ground: one big shape picks between two textures
        cost_before = b.cost
        body = PATTERNS[name][0](b)
        if transform_cost + (b.cost - transform_cost) * copies > COST_BUDGET:
            # over budget: a cheap pattern instead (its cost is ~1 ms)
            b.cost = cost_before
            name = b.pick(["stripes", "checker", "hex", "rings"])
            body = PATTERNS[name][0](b)
        names.append(name)
        funcs.append(f"float pat{k}(vec2 p) {{\n    " + "\n    ".join(body) + "\n}")
        b.tags.append(f"pattern:{name}")
    return names, funcs


def generate(seed: int, version: str = GRAMMAR_VERSION) -> Program:
    """The program `gen/<version>/<seed>`: same (seed, version), same text, any machine."""
    if version not in VERSIONS:
        raise ProgramError(
            f"unknown grammar version {version!r} for seed {seed}; known: {', '.join(VERSIONS)} "
            f"(ids look like gen/{GRAMMAR_VERSION}/<seed>)")
    try:
        index = -1 if isinstance(seed, bool) else operator.index(seed)  # numpy ints welcome
    except TypeError:
        index = -1
    if index < 0:
        raise ProgramError(f"grammar seed must be a non-negative integer, got {seed!r}")
    seed = index
    b = _Builder(seed)
    pid = f"gen/{version}/{seed}"

    # depth of the composition, drawn from the seed
    n_transforms = b.weighted([(0, 1.0), (1, 2.5), (2, 2.0), (3, 0.8)])
    n_patterns = b.weighted([(1, 2.0), (2, 2.5), (3, 0.8)])
    op = {1: None, 2: _weighted(b, COMBINERS), 3: "select"}[n_patterns]
    if op == "figure":
        n_patterns = 3
    colour = _weighted(b, COLOURS)

    # camera: per-image rotation, zoom and shift, so one program yields many images
    warp = [f"p = rot2({b.P()} * 6.283) * p * {b.p(0.7, 1.4)} + {b.offset(0.35)};"]
    used_t = _transforms(b, n_transforms, warp)
    # per-channel colour evaluates the patterns 2x (two patterns or more: one each, and
    # their combination) or 3x (one pattern, at three nearby places)
    copies = (2 if n_patterns > 1 else 3) if colour == "channels" else 1
    patterns, funcs = _patterns(b, n_patterns, op, copies)
    field_body = _field(b, op)

    post = []
    if b.u() < 0.25:
        levels = b.i(3, 7)
        x = "vv" if colour == "channels" else "v"
        post.append(f"{x} = floor({x} * {levels}.0 + 0.5) / {levels}.0;")
        b.tags.append("colour:posterise")
    b.tags.append(f"colour:{colour}")
    colour_lines = COLOURS[colour][0](b)
    if b.u() < 0.25 and colour != "channels":
        # bump lighting from screen-space derivatives, in p units (resolution independent)
        colour_lines.append(f"vec3 nrm = normalize(vec3(-vec2(dFdx(v), dFdy(v)) * iResolution.y, "
                            f"{_f(b.u(6.0, 16.0))}));")
        colour_lines.append(f"col *= 0.55 + 0.6 * max(dot(nrm, normalize(vec3({_f(b.u(-1, 1))}, "
                            f"{_f(b.u(-1, 1))}, 0.8))), 0.0);")
        b.tags.append("colour:lit")
    if b.u() < 0.2:
        # a soft light spot in screen space: large-scale layout that patterns lack
        colour_lines.append(f"col *= mix(1.0, smoothstep({_f(b.u(1.5, 2.5))}, 0.0, "
                            f"length(uv - {b.offset(0.8)})), {_f(b.u(0.4, 0.8))});")
        b.tags.append("colour:spot")

    main = ["vec2 uv = (2.0 * fragCoord - iResolution.xy) / iResolution.y;",
            "vec2 p = warp(uv);"]
    if colour == "channels":
        if len(patterns) > 1:
            order = b.pick(["pat0(p), pat1(p), field(p)", "field(p), pat0(p), pat1(p)",
                            "pat1(p), field(p), pat0(p)"])
            main.append(f"vec3 vv = vec3({order});")
        else:
            o1, o2 = b.offset(0.06), b.offset(0.06)
            a = b.u(0.04, 0.2)
            main.append(f"vec3 vv = vec3(field(p), field(rot2({_f(a)}) * p + {o1}), "
                        f"field(rot2({_f(-a)}) * p * {_f(b.u(0.9, 1.1))} + {o2}));")
        main.append("float v = dot(vv, vec3(0.333));")
    else:
        main.append("float v = field(p);")
    main += post + colour_lines + ["fragColor = vec4(col, 1.0);"]

    text = "\n".join([
        f"// {pid}: generated by shaders/grammar.py (grammar version {version}, seed {seed})",
        f"// tags: {', '.join(b.tags)}",
        "vec2 warp(vec2 p) {\n    " + "\n    ".join(warp) + "\n    return p;\n}",
        *funcs,
        "float field(vec2 p) {\n    " + "\n    ".join(field_body) + "\n}",
        "void mainImage(out vec4 fragColor, in vec2 fragCoord) {\n    "
        + "\n    ".join(main) + "\n}",
        "",
    ])
    joined = (f" {op} " if op not in ("select", "figure") else " / ").join(patterns[:2])
    if op in ("select", "figure"):
        joined += f" by {patterns[2]}"
    desc = f"{' -> '.join(used_t) or 'camera'} | {joined} | {colour}"
    return check(Program(id=pid, source=text, family="generated", tags=tuple(b.tags),
                         description=desc, meta={"cost": b.cost, "zoom": b.zoom, "seed": seed,
                                                 "version": version}))
