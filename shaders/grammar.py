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

The parts live in their own modules: `shaders.builder` (seeded draws, numbers, parameters),
`shaders.transforms`, `shaders.patterns` (patterns and combiners) and `shaders.colours`;
this module assembles them into a program.
"""

from __future__ import annotations

import operator

from procmem.shaders.builder import Builder, num
from procmem.shaders.colours import COLOURS
from procmem.shaders.patterns import COMBINERS, PATTERNS
from procmem.shaders.program import Program, ProgramError, check
from procmem.shaders.transforms import MAX_ZOOM, RADIAL, TRANSFORMS

GRAMMAR_VERSION = "1"
VERSIONS = ("1",)

COST_BUDGET = 12.0
"""Upper bound of a program's estimated cost: milliseconds per 256 px frame on Mesa llvmpipe
(2 cores), from each part's measured cost (`benchmarks/grammar.py`). Parts that would pass it
are swapped for cheap ones, so no program is slow; the median costs far less (the project
goal: >= 200 images/s at 256 px)."""


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
        if name in used or (name in RADIAL and RADIAL & set(used)):
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
    b = Builder(seed)
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
                            f"{num(b.u(6.0, 16.0))}));")
        colour_lines.append(f"col *= 0.55 + 0.6 * max(dot(nrm, normalize(vec3({num(b.u(-1, 1))}, "
                            f"{num(b.u(-1, 1))}, 0.8))), 0.0);")
        b.tags.append("colour:lit")
    if b.u() < 0.2:
        # a soft light spot in screen space: large-scale layout that patterns lack
        colour_lines.append(f"col *= mix(1.0, smoothstep({num(b.u(1.5, 2.5))}, 0.0, "
                            f"length(uv - {b.offset(0.8)})), {num(b.u(0.4, 0.8))});")
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
            main.append(f"vec3 vv = vec3(field(p), field(rot2({num(a)}) * p + {o1}), "
                        f"field(rot2({num(-a)}) * p * {num(b.u(0.9, 1.1))} + {o2}));")
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
