"""`procmem shaders ...`: list, show, render and preview the GLSL programs.

Programs follow Baradad et al. 2022 ("Procedural Image Programs for Representation
Learning"): each is a Shadertoy-style fragment program; every image is one (program, time,
16 parameters in [0, 1)) rendered headlessly (moderngl, EGL). Rendering imports live inside
the handlers so `procmem --help` stays fast.
"""

from __future__ import annotations

import argparse
import sys

from procmem.cli.options import add_option

_EPILOG = """Programs are GLSL fragment shaders in the Shadertoy convention (mainImage, iResolution,
iTime) plus 16 per-image parameters P(0..15) drawn uniformly in [0, 1): one program gives
many different images, which is what makes a few thousand programs a useful pretraining set
(Baradad et al. 2022 use 21k programs). Ids: lib/<family>/<name> (hand-written library),
gen/<version>/<seed> (made by the seeded grammar) or user/<name> (your own file <name>.glsl,
given with --programs PATH..., or as the program of `render`)."""


def register(sub) -> None:
    """Add `procmem shaders list|show|render|sheet`."""
    p = sub.add_parser("shaders", help="list, show, render and preview the GLSL programs",
                       description=__doc__.split("\n\n")[0], epilog=_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    s = p.add_subparsers(dest="shaders_command", metavar="ACTION")
    s.required = True

    q = s.add_parser("list", help="print the library's programs: id, family, tags")
    q.add_argument("--family", help="only this family (e.g. noise); see the second column")
    q.set_defaults(func=cmd_list)

    q = s.add_parser("show", help="print a program's metadata and GLSL text")
    q.add_argument("id", help="lib/<family>/<name> or gen/<version>/<seed>")
    q.set_defaults(func=cmd_show)

    q = s.add_parser("render", help="render one image of a program to a PNG",
                     description="Render one frame of a program (a library or grammar id, or a "
                     "GLSL file of your own) under the watchdog; its 16 parameters are drawn "
                     "uniformly in [0, 1) from --seed, as in training.")
    q.add_argument("id", nargs="?", help="lib/<family>/<name>, gen/<version>/<seed>, a .glsl "
                   "file, or user/<name> of a file given with --programs (optional when "
                   "--programs gives one program)")
    _add_programs(q)
    q.add_argument("--out", required=True, help="PNG file to write")
    add_option(q, "--res", old=("--size",), type=int, default=256,
               help="image side in pixels (default 256, the size shards are made at)")
    q.add_argument("--time", type=float, default=0.0, help="iTime, seconds (default 0)")
    q.add_argument("--seed", type=int, default=0, help="seed for the parameter draw (default 0)")
    q.set_defaults(func=cmd_render)

    q = s.add_parser("sheet", help="a contact sheet of many programs (PNG, optionally live)",
                     description="Render programs into a captioned grid: the whole library "
                     "(default), one --family, --generated N programs from the grammar "
                     "(seeds --seed .. --seed+N-1), or your own --programs. Each program "
                     "shows --frames frames with parameters drawn from (--seed, its position); "
                     "a program that fails to compile or hangs gets a red cell and is reported.")
    which = q.add_mutually_exclusive_group()
    which.add_argument("--family", help="only the library programs of this family")
    which.add_argument("--generated", type=int, metavar="N",
                       help="N programs made by shaders.grammar (gen/<version>/<seed>)")
    _add_programs(which)
    q.add_argument("--out", required=True, help="PNG file to write")
    add_option(q, "--frames", old=("--n",), type=int, default=1,
               help="frames per program, side by side, each with its own parameters (default 1)")
    add_option(q, "--res", old=("--size",), type=int, default=128,
               help="frame side in pixels (default 128)")
    q.add_argument("--seed", type=int, default=0,
                   help="seed for parameters (and first grammar seed); default 0")
    q.add_argument("--window", action="store_true",
                   help="also show the sheet live in a window (needs DISPLAY/WAYLAND_DISPLAY)")
    q.set_defaults(func=cmd_sheet)


def _add_programs(parser) -> None:
    parser.add_argument("--programs", nargs="+", metavar="PATH",
                        help="your own GLSL programs: files, folders (every .glsl below) or "
                        "globs; each is user/<file name>, checked before it renders")


def _registry():
    """The program registry, with its warnings (a skipped library file) on stderr, once."""
    import logging

    logging.basicConfig(level=logging.WARNING, format="procmem: %(message)s")
    from procmem.shaders import registry

    return registry


def cmd_list(args) -> int:
    progs = _registry().select(args.family)
    width = max(len(p.id) for p in progs)
    fam = max(len(p.family) for p in progs)
    for p in progs:
        print(f"{p.id:<{width}}  {p.family:<{fam}}  {', '.join(p.tags)}")
    return 0


def cmd_show(args) -> int:
    p = _registry().get(args.id)
    print(f"id: {p.id}\nfamily: {p.family}\ntags: {', '.join(p.tags)}")
    if p.description:
        print(f"description: {p.description}")
    print()
    print(p.source.rstrip())
    return 0


def _check_positive(name: str, value: int) -> None:
    from procmem.core.errors import ProcmemError

    if value < 1:
        raise ProcmemError(f"{name} must be at least 1, got {value}")


def _render_target(args):
    """The program `render` draws: the positional id or file, else the one --programs gives."""
    import os

    from procmem.shaders import user

    registry = _registry()
    given = user.table(user.load(args.programs)) if args.programs else {}
    if args.id is not None and os.path.isdir(args.id):
        raise user.UserProgramError(f"{args.id} is a folder: render one file of it, or draw "
                                    "them all with `procmem shaders sheet --programs`")
    if args.id is not None and os.path.exists(args.id):
        return user.load([args.id])[0]
    if args.id is not None:
        if not args.id.startswith(("lib/", "gen/", "user/")):
            raise user.UserProgramError(f"{args.id!r} is neither a file nor a program id "
                                        "(lib/..., gen/..., user/...)")
        return registry.get(args.id, user=given)
    if len(given) != 1:
        raise user.UserProgramError(f"name the program to render: --programs gives "
                                    f"{len(given)} ({', '.join(sorted(given)) or 'none'})")
    return next(iter(given.values()))


def cmd_render(args) -> int:
    from procmem.core.errors import ProcmemError
    from procmem.generators.render import random_params
    from procmem.generators.sheet import save_png
    from procmem.generators.watchdog import SafeRenderer

    _check_positive("--res", args.res)
    program = _render_target(args)
    renderer = SafeRenderer(size=args.res)  # every program, library ones too, has a deadline
    try:
        frame = renderer.render(program, [args.time], random_params(args.seed, 1))[0]
    except ProcmemError as e:  # a compile error or a hang: name the user's file, not only its id
        if "file" in program.meta:
            from procmem.shaders.user import UserProgramError

            raise UserProgramError(f"{program.meta['file']}: {e}") from None
        raise
    finally:
        renderer.close()
    print(f"wrote {save_png(args.out, frame)} ({program.id}, {args.res} px, "
          f"time {args.time}, seed {args.seed})")
    return 0


def _programs(args):
    from procmem.core.errors import ProcmemError

    registry = _registry()
    if args.programs:
        from procmem.shaders import user

        return list(user.load(args.programs))
    if args.generated is None:
        return registry.select(args.family)
    _check_positive("--generated", args.generated)
    try:
        from procmem.shaders import grammar
    except ImportError:
        raise ProcmemError("--generated needs shaders.grammar, which is not in this checkout; "
                           "use --family or the library") from None
    return [grammar.generate(s) for s in range(args.seed, args.seed + args.generated)]


def cmd_sheet(args) -> int:
    from procmem.generators.sheet import SheetWindow, render_program_sheet, save_png
    from procmem.generators.watchdog import SafeRenderer

    _check_positive("--frames", args.frames)
    _check_positive("--res", args.res)
    programs = _programs(args)
    window = SheetWindow(title=f"procmem shaders sheet ({len(programs)} programs)") \
        if args.window else None
    renderer = SafeRenderer(size=args.res)
    try:
        sheet, failures = render_program_sheet(
            renderer, programs, per_program=args.frames, size=args.res, seed=args.seed,
            on_update=window.show if window else None)
    finally:
        renderer.close()
    path = save_png(args.out, sheet)
    print(f"wrote {path}: {len(programs)} programs x {args.frames} frames at {args.res} px")
    for f in failures:
        print(f"failed: {f}", file=sys.stderr)
    if window is not None:
        window.show(sheet)
        print("close the window to finish")
        window.wait_closed()
        window.close()
    return 1 if failures else 0
