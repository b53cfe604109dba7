"""The grammar's colour maps: cosine palettes, HSV ramps, gradients, per-channel patterns.

Each turns the field value `v` (and, for per-channel maps, a vec3 `vv`) into `col`, with a
minimum amplitude or a dark and a light end so no picture is flat.
"""

from __future__ import annotations

from procmem.shaders.builder import num


def _c_palette(b):
    """Cosine palette (Quilez): a + b cos(2 pi (c t + d)), amplitude b >= 0.35."""
    key = b.u(0.25, 0.75)  # dark-, mid- or high-key pictures
    a = ", ".join(num(key + b.u(-0.1, 0.1)) for _ in range(3))
    amp = ", ".join(num(b.u(0.35, 0.55)) for _ in range(3))
    c = ", ".join(num(b.pick([0.5, 1.0, 1.0, 1.5, 2.0])) for _ in range(3))
    d = ", ".join(num(b.u()) for _ in range(3))
    return [f"vec3 col = palette(v * {b.p(0.6, 1.5)} + {b.P()}, vec3({a}), vec3({amp}), "
            f"vec3({c}), vec3({d}));"]


def _c_hsv(b):
    """HSV ramp: hue walks with the value, brightness rises with it."""
    return [f"vec3 col = hsv2rgb(vec3({b.P()} + v * {b.p(0.15, 0.8)}, {b.p(0.45, 0.95)}, "
            f"mix({num(b.u(0.05, 0.3))}, 1.0, v)));"]


def _rand_colour(b, light: bool) -> str:
    lo, hi = (0.65, 1.0) if light else (0.0, 0.3)
    return f"hsv2rgb(vec3({num(b.u())} + {b.P()} * 0.3, {num(b.u(0.2, 0.9))}, {num(b.u(lo, hi))}))"


def _c_gradient2(b):
    """Two-colour gradient from a dark to a light colour (contrast guaranteed)."""
    return [f"vec3 col = mix({_rand_colour(b, False)}, {_rand_colour(b, True)}, v);"]


def _c_gradient3(b):
    """Three-colour gradient: dark, mid, light."""
    mid = f"hsv2rgb(vec3({num(b.u())}, {num(b.u(0.5, 1.0))}, {num(b.u(0.45, 0.75))}))"
    return [f"vec3 c0 = {_rand_colour(b, False)};", f"vec3 c1 = {mid};",
            f"vec3 c2 = {_rand_colour(b, True)};",
            "vec3 col = v < 0.5 ? mix(c0, c1, v * 2.0) : mix(c1, c2, v * 2.0 - 1.0);"]


def _c_channels(b):
    """Per-channel patterns: R, G and B are different patterns (or places)."""
    return [f"vec3 col = mix(vv, vv.gbr, {num(b.u(0.0, 0.3))});"]


COLOURS = {
    "palette": (_c_palette, 3.0), "hsv": (_c_hsv, 1.5), "gradient2": (_c_gradient2, 1.5),
    "gradient3": (_c_gradient3, 1.2), "channels": (_c_channels, 1.0),
}
"""Colour mappings and their relative frequency in the grammar."""
