"""The builder of a generated program: seeded choices, fixed-precision numbers, per-image parameters.

Only `random.Random(seed).random()` drives choices (stable across Python versions) and every
number is printed with fixed precision (`num`), so the same seed gives byte-identical text
on any machine; `shaders.grammar` assembles a program from the parts these draws pick.
"""

from __future__ import annotations

import math
import random

from procmem.shaders.program import PARAM_COUNT


def num(x: float) -> str:
    """A GLSL float literal with fixed precision (negative values parenthesised)."""
    s = f"{x:.3f}"
    if s == "-0.000":
        s = "0.000"
    return f"({s})" if s.startswith("-") else s


class Builder:
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
        return f"fract(P({k % PARAM_COUNT}) * {num(self.u(3.0, 9.0))} + {num(self.u())})"

    def p(self, lo: float, hi: float, min_frac: float = 0.35) -> str:
        """A value varying per image within a seed-chosen sub-range of [lo, hi]."""
        width = (hi - lo) * self.u(min_frac, 1.0)
        a = lo + self.u(0.0, (hi - lo) - width)
        return f"mix({num(a)}, {num(a + width)}, {self.P()})"

    def offset(self, amp: float) -> str:
        return f"(vec2({self.P()}, {self.P()}) - 0.5) * {num(2 * amp)}"

    def unit_vec(self) -> str:
        """A random direction. Drawn by rejection and normalised with sqrt (correctly
        rounded in IEEE 754, unlike libm's cos/sin), so the digits are the same anywhere."""
        while True:
            x, y = self.u(-1.0, 1.0), self.u(-1.0, 1.0)
            r2 = x * x + y * y
            if 0.05 < r2 <= 1.0:
                r = math.sqrt(r2)
                return f"vec2({num(x / r)}, {num(y / r)})"
