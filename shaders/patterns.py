"""The grammar's patterns and combiners: the `patN` functions and the `field` joining them.

A pattern is the body of `float patN(vec2 p)` returning a value in [0, 1] (noise, Voronoi,
waves, stripes, truchet, SDF shapes, Julia orbits, ...), contrast-stretched to its own
distribution; a combiner is the body of `float field(vec2 p)` joining pattern values into
one value in [0, 1]. Each draws its choices from the `Builder` and adds its measured cost.
"""

from __future__ import annotations

from procmem.shaders.builder import num

# ---------------------------------------------------------------- patterns
# Each returns the GLSL body lines of `float patN(vec2 p)` returning a value in [0, 1].

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
            f"return smoothstep(-0.6, 0.6, n * {num(b.u(0.8, 1.5))});"]


def _pat_voronoi(b):
    """Worley cellular noise (1996): F1, F2, edges (F2 - F1) or flat cells."""
    b.cost += 1.5
    mode = b.pick(["f1", "edges", "cells", "f2"])
    b.tags.append(f"voronoi:{mode}")
    lines = [f"vec4 v = voronoi(p * {b.freq(1.5, 7.0)} + {b.offset(30.0)}, {num(b.u(0.5, 1.0))});"]
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
        terms.append(f"sin(dot(p, {b.unit_vec()}) * {num(b.u(3.0, 12.0))} * s + "
                     f"{num(b.u(0, 6.28))} + iTime * {num(b.u(-1, 1))})")
    return [f"float s = {b.freq(0.6, 1.5)};", f"float w = ({' + '.join(terms)}) / {n}.0;",
            f"return 0.5 + 0.5 * sin(w * {num(b.u(1.5, 4.0))} + {b.P()} * 6.283);"]


def _pat_stripes(b):
    """Parallel stripes, soft or hard-edged."""
    b.cost += 0.5
    hard = b.u() < 0.5
    lines = [f"float s = sin(dot(p, {b.unit_vec()}) * {b.freq(2.5, 16.0)} + {b.P()} * 6.283);"]
    if hard:
        lines.append(f"return smoothstep(-{num(b.u(0.05, 0.3))}, {num(b.u(0.05, 0.3))}, s);")
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
            f"return smoothstep(-{num(b.u(0.05, 0.4))}, {num(b.u(0.05, 0.4))}, "
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
             f"q = rot2({num(b.u(0, 3.14))} * hash12(id) + {b.P()}) * q;",
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
        lines.append(f"return 1.0 - smoothstep(-0.02, {num(b.u(0.02, 0.12))}, d);")
    else:
        lines.append(f"return 0.5 + 0.5 * cos(d * {num(b.u(10.0, 24.0))});")
    return lines


_JULIA = [(-0.8, 0.156), (-0.4, 0.6), (0.285, 0.01), (-0.70176, -0.3842), (-0.835, -0.2321),
          (0.355, 0.355), (-0.54, 0.54), (-0.123, 0.745), (0.37, 0.1), (-0.75, 0.11)]


def _pat_julia(b):
    """Escape-time Julia set near a known-rich c: smooth iteration count."""
    b.cost += 11
    cx, cy = b.pick(_JULIA)
    return [f"vec2 z = p * {b.freq(0.9, 1.6)} + {b.offset(0.15)};",
            f"vec2 c = vec2({num(cx)}, {num(cy)}) + {b.offset(0.02)};",
            "return gr_julia(z, c);"]


def _pat_hex(b):
    """Hexagonal cells: edges or distance bands."""
    b.cost += 1
    return [f"float d = gr_hexdist(p * {b.freq(2.0, 8.0)} + {b.offset(10.0)});",
            f"return smoothstep({num(b.u(0.3, 0.42))}, 0.5, d);" if b.u() < 0.5
            else f"return 0.5 + 0.5 * cos(d * {num(b.u(10.0, 24.0))});"]


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
             + (f" - {num(b.u(0.15, 0.5))} * cos({k}.0 * atan(q.y, q.x));" if k > 1 else ";")]
    if b.u() < 0.6:
        lines.append(f"return 1.0 - smoothstep(-0.03, {num(b.u(0.03, 0.2))}, d);")
    else:
        lines.append(f"return 0.5 + 0.5 * cos(d * {num(b.u(6.0, 20.0))});")
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
    edge = num(b.u(0.03, 0.2))
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
    "bands": (_joined(lambda b, x, y: f"fract({x} + {y} * {num(b.u(0.5, 1.5))})"), 0.6),
    "modulate": (_j_modulate, 1.5),
    "select": (_j_select, 0.0),  # never drawn for two patterns; always for three
    "figure": (_j_select, 1.2),  # two patterns and a big shape picking between them
}
"""Combiners and their relative frequency for two patterns (three always `select`)."""
