"""What the render deadline costs: a plain in-process `Renderer` against a `SafeRenderer`
(a long-lived child process, frames back through shared memory), on the same programs.

Run: .venv/bin/python benchmarks/watchdog.py [--res 128] [--rounds 5]
Rows: the first render (context, or child start, plus one compile), a batch of 64 frames and
a single frame of a compiled program (best of --rounds), and a contact sheet of the whole
library (4 frames a program). docs/reliability.md quotes a run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import format_table, machine_header  # noqa: E402
from procmem.generators.render import Renderer, random_params, random_times  # noqa: E402
from procmem.generators.sheet import render_program_sheet  # noqa: E402
from procmem.generators.watchdog import SafeRenderer  # noqa: E402
from procmem.shaders import registry  # noqa: E402


def seconds(f, rounds: int = 1) -> float:
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best


def measure(renderer, res: int, rounds: int) -> list[float]:
    lib = registry.library()
    prog = lib[0]
    first = seconds(lambda: renderer.render(prog, [0.0], random_params(0, 1), size=res))
    times, params = random_times(2, 64), random_params(2, 64)
    batch = seconds(lambda: renderer.render(prog, times, params, size=res), rounds)
    one = seconds(lambda: renderer.render(prog, [0.5], random_params(3, 1), size=res), rounds * 4)
    sheet = seconds(lambda: render_program_sheet(renderer, lib, per_program=4, size=res,
                                                 progress=False))
    return [first, batch * 1e3, one * 1e3, sheet]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--res", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    rows = []
    for name, make in (("Renderer (no deadline)", Renderer), ("SafeRenderer (deadline)", SafeRenderer)):
        r = make(size=args.res)
        try:
            rows.append([name, *(round(v, 2) for v in measure(r, args.res, args.rounds))])
        finally:
            r.close()
    print(machine_header({"res": args.res, "library programs": len(registry.library())}))
    print(format_table(["renderer", "first render s", "64 frames ms", "1 frame ms",
                        f"library sheet s ({len(registry.library())} x 4)"], rows))


if __name__ == "__main__":
    main()
