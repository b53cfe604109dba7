"""How good is the seeded program grammar? Compile and quality rates, speed, diversity.

Over N seeds (`--generated N`, default 500): the fraction of programs that compile and whose frames
pass `generators.quality.frame_problem` (failures listed by id and reason), compile time
per program (link + first draw: llvmpipe JIT-compiles at first use), images/s at 256 px
once compiled (median, p10, p90 over programs), and diversity measures beside the same
measures on the hand library, rendered the same way.

    .venv/bin/python benchmarks/grammar.py --generated 500
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

THUMB = 16
"""Side of the thumbnails compared by the diversity measure (pixels)."""


def thumbnails(images: np.ndarray, side: int = THUMB) -> np.ndarray:
    """Area-averaged side x side colour thumbnails in [0, 1]: float32 [N, side * side * 3]."""
    n, h, w, _ = images.shape
    if h % side or w % side:
        raise ValueError(f"images {h}x{w} are not a multiple of the thumbnail side {side}")
    x = images.reshape(n, side, h // side, side, w // side, 3).astype(np.float32) / 255.0
    return x.mean(axis=(2, 4)).reshape(n, -1)


def colour_histograms(images: np.ndarray, bins: int = 4) -> np.ndarray:
    """Joint RGB histograms with bins^3 cells, each summing to 1: float32 [N, bins^3]."""
    q = (images.astype(np.int32) * bins) // 256
    cell = (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]
    n = len(images)
    hist = np.zeros((n, bins ** 3), np.float32)
    for i in range(n):
        hist[i] = np.bincount(cell[i].ravel(), minlength=bins ** 3)
    return hist / hist.sum(axis=1, keepdims=True)


def mean_pairwise_distance(x: np.ndarray) -> float:
    """Mean Euclidean distance over all pairs of rows (0 when every row is the same)."""
    x = x.astype(np.float64)
    sq = (x * x).sum(1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * x @ x.T, 0.0)
    n = len(x)
    return float(np.sqrt(d2)[np.triu_indices(n, 1)].mean()) if n > 1 else 0.0


def diversity(images: np.ndarray) -> dict:
    """Mean pairwise distance of 16 px thumbnails (layout + colour; per-pixel RMS units)
    and of 64-bin colour histograms (L2 / sqrt 2, so 1 = disjoint colours)."""
    t = thumbnails(images)
    return {
        "thumb_rms": mean_pairwise_distance(t) / np.sqrt(t.shape[1]),
        "hist_l2": mean_pairwise_distance(colour_histograms(images)) / np.sqrt(2.0),
    }


def combination(program) -> tuple:
    """The (transforms, patterns, colour) composition a generated program's tags name."""
    def part(prefix):
        return tuple(t.split(":", 1)[1] for t in program.tags if t.startswith(prefix + ":"))
    return part("transform"), part("pattern"), part("colour")


BASELINE = "lib/noise/value_fbm"
"""A fixed library program re-timed through the run: the machine is shared, so speeds are
also reported as ratios to this program's speed measured beside them."""


def images_per_second(renderer, program, frames: int, rng) -> float:
    """Frames per second of one already-compiled program at the renderer's size."""
    from procmem.generators.render import random_params

    params = random_params(rng, frames)
    t = time.perf_counter()
    renderer.render(program, rng.random(frames) * 10.0, params)
    return frames / (time.perf_counter() - t)


def measure(programs, renderer, frames: int, seed: int, frame_problem, baseline, every=25):
    """Compile, time and quality-check each program; returns per-program records, and
    the baseline's images/s measured every `every` programs."""
    from tqdm import tqdm

    from procmem.generators.render import random_params

    rng = np.random.default_rng(seed)
    records, base = [], []
    renderer.render(baseline, [0.0], random_params(rng, 1))
    for i, prog in enumerate(tqdm(programs, desc="programs", unit="prog", file=sys.stderr)):
        if i % every == 0:
            base.append(images_per_second(renderer, baseline, 2 * frames, rng))
        params = random_params(rng, frames)
        times = rng.random(frames) * 10.0
        rec = {"id": prog.id, "program": prog, "ok": False, "problems": []}
        t0 = time.perf_counter()
        try:
            renderer.compile(prog)
            renderer.render(prog, times[:1], params[:1])  # first draw: llvmpipe JIT
        except Exception as e:  # a compile error is a result here, not a crash
            rec["problems"].append(f"compile: {str(e).splitlines()[0][:160]}")
            records.append(rec)
            continue
        t1 = time.perf_counter()
        imgs = renderer.render(prog, times, params)
        t2 = time.perf_counter()
        rec["compile_s"] = t1 - t0
        rec["images_per_s"] = frames / (t2 - t1)
        rec["first"] = imgs[0]
        for img in imgs:
            why = frame_problem(img)
            if why:
                rec["problems"].append(why)
        rec["frames_ok"] = frames - len(rec["problems"])
        rec["ok"] = not rec["problems"]
        records.append(rec)
    base.append(images_per_second(renderer, baseline, 2 * frames, rng))
    return records, float(np.median(base))


def summarise(name: str, records: list, frames: int, base: float) -> list:
    """One Markdown row of rates and speeds for a set of programs."""
    compiled = [r for r in records if "compile_s" in r]
    ips = np.array([r["images_per_s"] for r in compiled])
    comp = np.array([r["compile_s"] for r in compiled]) * 1000
    return [name, len(records),
            f"{100 * len(compiled) / len(records):.1f}%",
            f"{100 * sum(r['ok'] for r in records) / len(records):.1f}%",
            f"{100 * sum(r.get('frames_ok', 0) for r in records) / (frames * len(records)):.1f}%",
            f"{np.median(comp):.0f}", f"{np.median(ips):.0f}",
            f"{np.percentile(ips, 10):.0f}", f"{np.percentile(ips, 90):.0f}",
            f"{np.median(ips) / base:.2f}"]


def main(argv=None) -> int:
    from procmem.cli.options import add_option

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_option(ap, "--generated", old=("--n",), type=int, default=500,
               help="grammar programs to measure (seeds --seed .. --seed+N-1)")
    add_option(ap, "--seed", old=("--start",), type=int, default=0, help="first seed")
    ap.add_argument("--frames", type=int, default=8,
                    help="frames per program (random params and times), quality-checked and "
                         "timed at --res")
    add_option(ap, "--res", old=("--size",), type=int, default=256, help="frame side in pixels")
    ap.add_argument("--sheet", default="/tmp/grammar_sheet.png",
                    help="contact sheet (PNG) of the first 48 generated programs, captioned")
    ap.add_argument("--no-library", action="store_true", help="skip the hand-library comparison")
    ap.add_argument("--shader-cache", action="store_true",
                    help="keep Mesa's on-disk shader cache (default: disabled, so compile times "
                         "are cold compiles, not cache hits from earlier runs)")
    args = ap.parse_args(argv)
    if not args.shader_cache:
        os.environ["MESA_SHADER_CACHE_DISABLE"] = "true"

    from benchmarks.machine import format_table, machine_header
    from procmem.generators.quality import frame_problem
    from procmem.generators.render import Renderer
    from procmem.generators.sheet import save_sheet
    from procmem.shaders import grammar, registry

    load = open("/proc/loadavg").read().split()[0] if Path("/proc/loadavg").exists() else "?"
    # the header imports torch and timm: do it before the EGL context exists (importing
    # torch after Mesa's llvmpipe has initialised LLVM crashes the process)
    header = machine_header({"load average": load, "grammar version": grammar.GRAMMAR_VERSION,
                             "seeds": f"{args.seed}..{args.seed + args.generated - 1}",
                             "frames per program": f"{args.frames} at {args.res} px"})
    renderer = Renderer(size=args.res, cache_size=4)
    print(header + f"\nrenderer: {renderer.info['GL_RENDERER']}")
    t0 = time.perf_counter()
    gen = [grammar.generate(s) for s in range(args.seed, args.seed + args.generated)]
    gen_ms = (time.perf_counter() - t0) * 1000 / args.generated
    baseline = registry.get(BASELINE)
    recs, base = measure(gen, renderer, args.frames, 0, frame_problem, baseline)
    sets = [("generated", recs, base)]
    if not args.no_library:
        sets.append(("library", *measure(list(registry.library()), renderer, args.frames, 0,
                                         frame_problem, baseline)))

    print(f"\ntext generation: {gen_ms:.2f} ms per program\n")
    print(format_table(
        ["programs", "n", "compile", "all frames pass", "frames pass", "compile ms (median)",
         "img/s median", "img/s p10", "img/s p90", f"median / {BASELINE}"],
        [summarise(name, rs, args.frames, b) for name, rs, b in sets]))
    print(f"\n{BASELINE} (re-timed every 25 programs): "
          + ", ".join(f"{b:.0f} img/s beside {name}" for name, _, b in sets))

    print()
    rows = []
    for name, rs, _ in sets:
        firsts = np.stack([r["first"] for r in rs if "first" in r])
        d = diversity(firsts)
        combos = len({combination(r["program"]) for r in rs}) if name == "generated" else "-"
        rows.append([name, len(firsts), f"{d['thumb_rms']:.3f}", f"{d['hist_l2']:.3f}", combos])
    print(format_table(["programs", "images", "thumbnail distance (RMS)",
                        "colour-histogram distance", "distinct (transforms, patterns, colour)"],
                       rows))
    parts = {"transform": set(), "pattern": set(), "colour": set()}
    for r in recs:
        for tag in r["program"].tags:
            kind, _, value = tag.partition(":")
            if kind in parts:
                parts[kind].add(value)
    print("\nparts used: " + "; ".join(f"{k}s {len(v)}" for k, v in parts.items()))

    slow = sorted((r for r in recs if "images_per_s" in r), key=lambda r: r["images_per_s"])[:8]
    print("\nslowest generated programs:")
    for r in slow:
        print(f"- {r['id']}: {r['images_per_s']:.0f} img/s, {r['program'].description}")

    failed = [r for _, rs, _ in sets for r in rs if not r["ok"]]
    print(f"\nfailures ({len(failed)}):")
    for r in failed:
        counts = {p: r["problems"].count(p) for p in dict.fromkeys(r["problems"])}
        print(f"- {r['id']}: " + ", ".join(f"{p} x{c}" for p, c in counts.items()))
    shown = [r for r in recs if "first" in r][:48]
    save_sheet(args.sheet, [r["first"] for r in shown], cols=8, cell=192,
               captions=[f"{r['id']}\n{r['program'].description}" for r in shown],
               borders=[None if r["ok"] else "red" for r in shown],
               title=f"grammar v{grammar.GRAMMAR_VERSION}: first 48 seeds (red: rejected)")
    print(f"\ncontact sheet: {args.sheet}")
    renderer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
