"""Rendering speed: images/s per family at 128 and 256 px, compile cost, compile amortisation,
and the effect of llvmpipe's thread count (LP_NUM_THREADS).

Run: .venv/bin/python benchmarks/render.py [--images 20] [--generated 20]
The project goal on a 2-core CPU: median program >= 200 images/s at 256 px once compiled.
Mesa's on-disk shader cache is disabled here (cold, first-run figures) except in the rows of
the compile table that measure it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if "--compile-probe" not in sys.argv:  # the probe measures the cache; the rest runs cold
    os.environ.setdefault("MESA_SHADER_CACHE_DISABLE", "true")  # before any EGL context
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from benchmarks.machine import format_table, machine_header  # noqa: E402
from procmem.generators.render import Renderer, random_params  # noqa: E402
from procmem.shaders import registry  # noqa: E402
from procmem.shaders.program import Program  # noqa: E402

EMPTY = Program(id="bench/empty", family="floor",
                source="void mainImage(out vec4 c, in vec2 f) {\n"
                       "    c = vec4(P(0), f / iResolution.xy, 1);\n}\n")


def programs(n_generated: int) -> dict[str, list[Program]]:
    """Library programs by family, plus generated ones (if the grammar exists)."""
    groups: dict[str, list[Program]] = {}
    for p in registry.library():
        groups.setdefault(p.family, []).append(p)
    if n_generated:
        try:
            from procmem.shaders import grammar
        except ImportError:
            return groups
        groups["generated"] = [grammar.generate(s) for s in range(n_generated)]
    return groups


def rate(renderer: Renderer, program: Program, n: int, size: int) -> tuple[float, float]:
    """(images per wall second, images per CPU second) of an already compiled program.

    Best of 2 runs. CPU seconds (this process, llvmpipe's threads included) are what other
    users of a shared machine cannot take away; images per CPU second x cores bounds the
    rate on an idle machine.
    """
    renderer.render(program, [0.0], random_params(0, 1), size=size)  # compile + warm
    params = random_params(1, n)
    times = np.linspace(0, 10, n)
    wall = cpu = 0.0
    for _ in range(2):
        t, c = time.perf_counter(), time.process_time()
        renderer.render(program, times, params, size=size)
        wall = max(wall, n / (time.perf_counter() - t))
        cpu = max(cpu, n / max(time.process_time() - c, 1e-9))
    return wall, cpu


def per_family(groups, n: int) -> list[list]:
    rows, lib_wall, lib_cpu = [], [], []
    with Renderer(size=256, cache_size=256) as r:
        floor = [rate(r, EMPTY, n, s) for s in (128, 256)]
        rows.append(["(floor: trivial program)", 1, floor[0][0], floor[1][0], floor[1][1],
                     "-", "-"])
        for fam, progs in groups.items():
            r128 = [rate(r, p, n, 128)[0] for p in progs]
            r256 = [rate(r, p, n, 256) for p in progs]
            wall = [w for w, _ in r256]
            cpu = [c for _, c in r256]
            slowest = min(zip(wall, progs), key=lambda t: t[0])
            if fam != "generated":
                lib_wall += wall
                lib_cpu += cpu
            rows.append([fam, len(progs), statistics.median(r128), statistics.median(wall),
                         statistics.median(cpu), min(wall), slowest[1].id])
    rows.append(["library, all", len(lib_wall), "-", statistics.median(lib_wall),
                 statistics.median(lib_cpu), min(lib_wall), "-"])
    return rows


def compile_ms(progs: list[Program]) -> tuple[list[float], list[float]]:
    """Per program: ms to link the GLSL, and ms to link + draw the first 64 px frame
    (llvmpipe JIT-compiles the shader with LLVM at its first draw)."""
    front, first = [], []
    with Renderer(size=64, cache_size=1) as r:
        r.render(EMPTY, [0.0], random_params(0, 1))  # context creation out of the timing
        for p in progs:
            t = time.perf_counter()
            r.compile(p)
            front.append(1000 * (time.perf_counter() - t))
            r.render(p, [0.0], random_params(0, 1))
            first.append(1000 * (time.perf_counter() - t))
    return front, first


def compile_times(groups) -> list[list]:
    rows = []
    for fam in (["library"] + (["generated"] if "generated" in groups else [])):
        progs = [p for f, ps in groups.items() if (f == "generated") == (fam == "generated")
                 for p in ps]
        front, first = compile_ms(progs)
        rows.append([fam + ", cold", len(progs), statistics.median(front),
                     statistics.median(first), max(first)])
    with tempfile.TemporaryDirectory() as cache:  # Mesa's on-disk cache, as on a 2nd run
        env = {k: v for k, v in os.environ.items() if k != "MESA_SHADER_CACHE_DISABLE"}
        env["MESA_SHADER_CACHE_DIR"] = cache
        for label in ("library, cache filled", "library, cache hit"):
            out = subprocess.run([sys.executable, __file__, "--compile-probe"], env=env,
                                 capture_output=True, text=True, check=True).stdout
            front_ms, first_ms, max_ms = (float(x) for x in out.split()[-3:])
            rows.append([label, len(registry.library()), front_ms, first_ms, max_ms])
    return rows


def amortisation(progs: list[Program], size: int = 256) -> list[list]:
    """Images/s including each program's compile when it renders 1, 10 or 100 images."""
    rows = []
    for n in (1, 10, 100):
        with Renderer(size=size, cache_size=1) as r:
            r.render(EMPTY, [0.0], random_params(0, 1))
            t = time.perf_counter()
            for p in progs:
                r.render(p, np.linspace(0, 10, n), random_params(2, n))
            dt = time.perf_counter() - t
        rows.append([n, len(progs), len(progs) * n / dt])
    return rows


def compile_probe() -> None:
    """Child mode: print median link ms, median and max link + first frame ms (library)."""
    front, first = compile_ms(list(registry.library()))
    print(statistics.median(front), statistics.median(first), max(first))


def threads_probe() -> None:
    """Child mode: print the median library images/s at 256 px under this LP_NUM_THREADS."""
    progs = list(registry.library())[:12]
    with Renderer(size=256) as r:
        print(statistics.median(rate(r, p, 20, 256)[0] for p in progs))


def threads_table() -> list[list]:
    rows = []
    for threads in ("1", "2", "4"):
        env = dict(os.environ, LP_NUM_THREADS=threads)
        out = subprocess.run([sys.executable, __file__, "--threads-probe"], env=env,
                             capture_output=True, text=True, check=True).stdout
        rows.append([threads, float(out.strip().splitlines()[-1])])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=20, help="images per program per size")
    ap.add_argument("--generated", type=int, default=20, help="generated programs to include")
    ap.add_argument("--threads-probe", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--compile-probe", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.compile_probe:
        compile_probe()
        return
    if args.threads_probe:
        threads_probe()
        return
    header = machine_header({  # imports torch and timm: before any EGL context exists
        "LP_NUM_THREADS": os.environ.get("LP_NUM_THREADS", "(unset: one per core)"),
        "load average (1, 5, 15 min)": ", ".join(f"{x:.1f}" for x in os.getloadavg()),
        "Mesa shader cache": "disabled (cold compiles)",
    })
    with Renderer(size=16) as r:
        print(header + f"\nrenderer: {r.info['GL_RENDERER']}")
    groups = programs(args.generated)
    print("\n### Images/s per family, once compiled (median over programs; best of 2 runs)\n")
    print(format_table(["family", "programs", "median img/s 128 px", "median img/s 256 px",
                        "median img/CPU-s 256 px", "slowest img/s 256 px", "slowest program"],
                       per_family(groups, args.images)))
    print("\n### Compile time per program (ms): GLSL link, and link + first 64 px frame\n")
    print(format_table(["programs", "count", "median link ms", "median link + first frame ms",
                        "max link + first frame ms"], compile_times(groups)))
    lib = list(registry.library())
    print("\n### Compile amortisation: library, 256 px, compile included\n")
    print(format_table(["images per program", "programs", "img/s"], amortisation(lib)))
    print("\n### llvmpipe threads (LP_NUM_THREADS): median of 12 library programs, 256 px\n")
    print(format_table(["LP_NUM_THREADS", "median img/s"], threads_table()))


if __name__ == "__main__":
    main()
