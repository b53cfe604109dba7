"""The grammar's coordinate transforms: polar, kaleidoscope, mirror, tiling, swirl, warps, ...

Each takes the `Builder` and returns GLSL statements transforming `p` in place, adding its
measured cost and how much it magnifies spatial frequency (`Builder.zoom`). Domains stay
around [-1.5, 1.5] so patterns' frequencies keep their meaning.
"""

from __future__ import annotations

from procmem.shaders.builder import num


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
    widen = f" p.y *= {num(n / 4.0)};" if n > 4 else ""
    b.zoom *= max(1.0, n / 4.0)
    return [f"p = {fold}(p, {n}.0);{widen}", f"p.x -= {b.p(0.0, 0.6)};"]


def _t_mirror(b):
    """Mirror across one or both axes (D_1 / D_2 symmetry)."""
    b.cost += 0.5
    axis = b.pick(["p = abs(p);", "p.x = abs(p.x);", "p.y = abs(p.y);"])
    return [axis, f"p -= {num(b.u(0.1, 0.5))};"]


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
    return [f"p = rot2({s}.0 * {b.p(1.5, 5.0)} * exp(-{num(b.u(0.5, 2.0))} * dot(p, p))) * p;"]


def _t_warp(b):
    """Domain warp by fbm (Quilez 2002, "domain warping"): marbled, fluid shapes."""
    b.cost += 4
    return [f"p += {b.p(0.15, 0.6)} * (vec2(fbm(p * {num(b.u(1.0, 3.0))} + {b.offset(20.0)}, 4), "
            f"fbm(p.yx * {num(b.u(1.0, 3.0))} + 31.7, 4)) - 0.5);"]


def _t_sine(b):
    """Sinusoidal displacement: wavy, rippled versions of any pattern."""
    b.cost += 1
    return [f"p += {b.p(0.05, 0.25)} * sin(p.yx * {b.p(2.0, 8.0)} + iTime + {num(b.u(0, 6.28))});"]


def _t_curl(b):
    """Advection by a divergence-free curl-noise field (Bridson et al. 2007)."""
    b.cost += 2
    return [f"p += {b.p(0.1, 0.35)} * curl2(p * {num(b.u(1.0, 3.0))} + {b.offset(20.0)});"]


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
"""Most a program's transforms together may magnify spatial frequency (`Builder.zoom`):
polar after tiling after a 12-fold kaleidoscope is sub-pixel noise, whatever the pattern."""

RADIAL = {"polar", "logpolar", "kaleido"}
"""Transforms with a singular centre: a program uses one of them at most."""
