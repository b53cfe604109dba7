"""`procmem demo`: the whole system end to end on built-in defaults (procmem.pipeline.demo)."""

from __future__ import annotations

from procmem.cli.options import OVERRIDES, add_alias, add_option, add_overrides
from procmem.pipeline.demo_data import DEFAULT_FORGET


def register(sub) -> None:
    p = sub.add_parser(
        "demo", help="run the end-to-end demo on built-in defaults",
        description="Generate procedural images, pretrain DINO on them, export the encoder, "
                    "build a visual memory of real images, classify held-back images, explain a "
                    "decision, forget a class with a receipt, audit privacy and write an HTML "
                    "report. Rerunning resumes: finished stages are skipped.")
    p.add_argument("--out", default="demo-out", help="directory for everything the demo writes")
    p.add_argument("--data", default=None,
                   help="an ImageFolder (<folder>/<class>/<image>) of real images to use instead "
                        "of the built-in digits and faces")
    p.add_argument("--preset", default="tiny-cpu",
                   help="pretraining preset (pretrain/presets) or YAML path (default tiny-cpu)")
    p.add_argument("--steps", type=int, default=None,
                   help="pretraining steps (schedule.max_steps; default: the preset's own)")
    p.add_argument("--images", type=int, default=5000,
                   help="procedural training images to generate (default 5000)")
    p.add_argument("--per-class", type=int, default=0,
                   help="use at most this many real images per class (default 0: all)")
    p.add_argument("--forget", default=None,
                   help=f"class to forget (default {DEFAULT_FORGET!r} for the built-in data, "
                        "the first class of --data)")
    add_option(p, "-k", old=("--k",), type=int, default=10,
               help="neighbours that vote on each decision (default 10)")
    p.add_argument("--workers", type=int, default=2, help="generation processes (default 2)")
    add_overrides(p, "pretraining config overrides (e.g. optim.batch_size=16)")
    add_alias(p, "--set", OVERRIDES, "a bare key=value argument", action="append")
    add_option(p, "--sheet-res", old=("--size",), type=int, default=128,
               help="side in pixels of each frame in the library sheet (default 128; the "
                    "training resolution is the preset's)")
    p.add_argument("--frames", type=int, default=4,
                   help="frames per program in the library sheet, each with its own random "
                        "parameters (default 4: one program gives many images)")
    p.set_defaults(func=run_demo)


def run_demo(args) -> int:
    from procmem.pipeline.demo import run

    return run(out=args.out, data=args.data, preset=args.preset, steps=args.steps,
               images=args.images, per_class=args.per_class, forget=args.forget, k=args.k,
               workers=args.workers, overrides=args.overrides, size=args.sheet_res,
               frames=args.frames)
