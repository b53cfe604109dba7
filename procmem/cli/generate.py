"""Command-line subcommands for the generators stage (registered by procmem.cli).

`procmem generate` writes a deterministic WebDataset shard set; `procmem shards verify`
re-checks one; `procmem shards sheet` draws a contact sheet of its first images.
Heavy libraries (moderngl, PIL, tqdm) are imported inside the handlers.
"""

from __future__ import annotations

import argparse

from procmem.cli.options import add_option, add_quiet

PROCESS_HELP = """\
shaders: one rendered frame per image (Baradad et al. 2022);
shaders-mixup: convex mix of 6 frames, Dirichlet(alpha=1) weights (the shaders21k default);
kml: Shaders K-Means Leaves (Rodriguez-Munoz et al. 2025): 2-means on s1's colours, the
blurred mask composites s2*m + s3*(1-m); kml-mixup: the mean of two KML images, the
paper's best pretraining data (default)."""


def register(sub) -> None:
    """Add `generate` and `shards {verify,sheet}` to the top-level parser."""
    from procmem.generators.processes import PROCESSES

    g = sub.add_parser(
        "generate",
        help="render procedural images into deterministic WebDataset shards",
        description="Render procedural images into WebDataset shards. Shard i is a pure "
        "function of (options, i): rerunning gives byte-identical tars, a rerun skips "
        "complete shards (resume after a kill), and disjoint --shards ranges can run as "
        "separate processes (a Slurm array task or Ray task per shard) into one --out. "
        "Processes: " + PROCESS_HELP,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    g.add_argument("--process", default="kml-mixup", choices=list(PROCESSES),
                   help="how images are made from rendered frames (see above)")
    add_option(g, "--images", old=("--num-images",), type=int, default=1000,
               help="images in the whole set")
    g.add_argument("--res", type=int, default=256,
                   help="image side in pixels (both papers pretrain on 256 px renders)")
    g.add_argument("--shard-size", type=int, default=1000,
                   help="images per tar; also the frame pool KML draws textures from")
    g.add_argument("--shards", default=None,
                   help="which shards to make: 'A:B' (A..B-1) or one index 'I' "
                   "(e.g. $SLURM_ARRAY_TASK_ID); default all")
    g.add_argument("--out", required=True, help="directory for the tars and manifest.json")
    g.add_argument("--workers", type=int, default=1,
                   help="worker processes (spawned), each with its own EGL renderer")
    g.add_argument("--format", default="png", choices=["png", "jpg"],
                   help="image encoding; png is lossless")
    g.add_argument("--quality", type=int, default=95, help="JPEG quality (with --format jpg)")
    g.add_argument("--seed", type=int, default=0,
                   help="shard i's rng is SeedSequence([seed, i])")
    g.add_argument("--programs", nargs="+", default=None, metavar="SOURCE",
                   help="where programs come from: 'library' (the hand library), 'generated' "
                   "(the seeded grammar), 'all' (either with p=1/2; the default when the "
                   "grammar exists, else library), and/or your own GLSL files, folders or "
                   "globs (ids user/<file name>; ./library for a folder of that name); the "
                   "sources named weigh the same unless --program-weights says otherwise")
    g.add_argument("--program-weights", default=None, metavar="SOURCE=W,...",
                   help="the weight of each program source, e.g. user=0.5,library=0.3,"
                   "generated=0.2 (sources: library, generated, user; normalised to sum 1); "
                   "names the sources drawn from, so --programs need only give the files")
    g.add_argument("--frames-per-program", type=int, default=8,
                   help="frames drawn per program compile (amortises ~150 ms compiles)")
    add_option(g, "--clusters", old=("--k",), type=int, default=2,
               help="KML's K-means clusters; the paper uses 2, K>2 fills each with its own texture")
    g.add_argument("--alpha", type=float, default=1.0,
                   help="Dirichlet concentration of shaders-mixup weights (shaders21k: 1)")
    g.add_argument("--mix", type=int, default=None,
                   help="parts per mixup: frames for shaders-mixup (default 6), KML images "
                   "for kml-mixup (default 2)")
    g.add_argument("--mask-res", type=int, default=None,
                   help="cluster s1 at this resolution, then resize the mask (default: the "
                   "image resolution)")
    g.add_argument("--kmeans-iters", type=int, default=None,
                   help="fixed Lloyd iterations (3 = the small fixed budget); default: "
                   "iterate to tolerance from 3 k-means++ seedings on a 4096-pixel sample")
    g.add_argument("--kmeans-sample", type=int, default=4096,
                   help="pixels per image the K-means centres are fitted on")
    g.add_argument("--no-watchdog", action="store_true",
                   help="render in-process without the deadline child (a hanging program "
                   "then hangs the job)")
    add_quiet(g)
    g.set_defaults(func=run_generate)

    s = sub.add_parser("shards", help="check or look at a shard set")
    ssub = s.add_subparsers(dest="shards_command", metavar="SUBCOMMAND", required=True)
    v = ssub.add_parser("verify", help="re-hash every tar and decode every sample (exit 1 on a "
                        "problem)", description="Re-hash every tar against the manifest and "
                        "decode every sample; exit 1 naming each problem.")
    v.add_argument("dir", help="a directory made by `procmem generate`")
    add_quiet(v)
    v.set_defaults(func=run_verify)
    c = ssub.add_parser("sheet", help="contact sheet (PNG) of a shard set's first images")
    c.add_argument("dir", help="a directory made by `procmem generate`")
    c.add_argument("--out", required=True, help="PNG file to write")
    add_option(c, "--images", old=("--n",), type=int, default=64, help="how many images")
    c.set_defaults(func=run_sheet)
    e = ssub.add_parser("explain", help="how each image was made, rebuilt from its JSON alone",
                        description="How each image was made: re-render the first samples "
                        "from their JSON alone (sources, mask, textures, weights) and check "
                        "the rebuild equals the stored image.")
    e.add_argument("dir", help="a directory made by `procmem generate`")
    e.add_argument("--out", required=True, help="PNG file to write (one row per sample)")
    add_option(e, "--images", old=("--n",), type=int, default=4, help="how many samples")
    e.set_defaults(func=run_explain)


def parse_weights(text: str | None) -> dict | None:
    """`--program-weights user=0.5,library=0.3` as {source: weight} (None when not given)."""
    from procmem.generators.frames import FramePoolError

    if text is None:
        return None
    weights = {}
    for part in text.split(","):
        name, eq, value = part.partition("=")
        try:
            w = float(value) if eq else None
        except ValueError:
            w = None
        if w is None or name.strip() in weights:
            raise FramePoolError(f"--program-weights {text!r}: give each source once as "
                                 "source=weight, separated by commas, e.g. "
                                 "user=0.5,library=0.3,generated=0.2")
        weights[name.strip()] = w
    return weights


def config_from_args(args):
    from procmem.generators import frames, jobs, processes

    programs, user_programs = frames.choose_programs(args.programs,
                                                     parse_weights(args.program_weights))
    opts = processes.ProcessOptions(k=args.clusters, alpha=args.alpha, mix=args.mix,
                                    mask_res=args.mask_res, kmeans_iters=args.kmeans_iters,
                                    kmeans_sample=args.kmeans_sample)
    return jobs.GenerateConfig(
        process=args.process, res=args.res, num_images=args.images,
        shard_size=args.shard_size, seed=args.seed, format=args.format, quality=args.quality,
        programs=programs, user_programs=user_programs,
        frames_per_program=args.frames_per_program, options=opts,
    ).check()


def run_generate(args) -> int:
    import logging

    from procmem.generators import jobs

    logging.basicConfig(level=logging.WARNING, format="procmem: %(message)s")
    cfg = config_from_args(args)
    shards = jobs.parse_shards(args.shards, cfg.num_shards)
    summary = jobs.run(cfg, args.out, shards, workers=args.workers,
                       watchdog=not args.no_watchdog,
                       progress=not args.quiet)  # a bar on a terminal, plain lines in a log
    print(summary.text())
    return 0


def run_verify(args) -> int:

    from procmem.generators import shards

    problems, checked = shards.verify(args.dir, progress=not args.quiet)
    for p in problems:
        print(f"problem: {p}")
    print(f"{args.dir}: {checked} samples checked, {len(problems)} problems")
    return 1 if problems else 0


def run_sheet(args) -> int:
    from procmem.generators.sheet import shard_sheet

    shard_sheet(args.dir, args.images, args.out)
    print(f"wrote {args.out}")
    return 0


def run_explain(args) -> int:
    import numpy as np

    from procmem.generators import provenance, shards, sheet
    from procmem.generators.watchdog import SafeRenderer

    rows, mismatched = [], 0
    manifest = shards.read_manifest(args.dir)
    user = provenance.recorded_programs(manifest) if manifest else {}
    with SafeRenderer(size=64) as renderer:
        for img, meta in shards.iter_images(args.dir, args.images):
            try:
                rebuilt, steps = provenance.rebuild(meta, renderer, user)
            except provenance.ProgramChanged as e:
                print(f"sample {meta.get('key')}: {e}")
                mismatched += 1
                continue
            diff = int(np.abs(rebuilt.astype(int) - img).max())
            mismatched += diff > (0 if meta.get("format") == "png" else 255)
            rows.append(steps + [(f"stored (max diff {diff})", img)])
    if not rows:
        raise shards.ShardError(f"{args.dir} holds no samples yet")
    cols = max(len(r) for r in rows)
    blank = np.full_like(rows[0][0][1], 40)
    cells = [c for r in rows for c in r + [("", blank)] * (cols - len(r))]
    sheet.save_sheet(args.out, [c[1] for c in cells], captions=[c[0] for c in cells], cols=cols,
                     title=f"{args.dir}: first {len(rows)} samples rebuilt from their JSON")
    print(f"wrote {args.out}; {len(rows) - mismatched} of {len(rows)} rebuilt exactly")
    return 1 if mismatched else 0
