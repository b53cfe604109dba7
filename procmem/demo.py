"""`procmem demo`: the main job on built-in defaults (being built up issue by issue).

For now it renders every program of the hand-written library into one contact sheet,
`<out>/library-sheet.png`: the quickest check that EGL rendering works on this machine and
a look at what the encoder will learn from.
"""

from __future__ import annotations

import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the end-to-end demo on built-in defaults")
    p.add_argument("--out", default="demo-out", help="directory for everything the demo writes")
    p.add_argument("--data", default=None, help="an ImageFolder of real images to use instead")
    p.add_argument("--size", type=int, default=128,
                   help="side in pixels of each preview frame (default 128)")
    p.add_argument("--frames", type=int, default=4,
                   help="frames per program in the library sheet, each with its own random "
                        "parameters (default 4: one program gives many images)")
    p.set_defaults(func=run)


def run(args) -> int:
    from generators.render import Renderer
    from generators.sheet import render_program_sheet, save_png
    from procmem.errors import ProcmemError
    from shaders import registry

    if args.size < 1 or args.frames < 1:
        raise ProcmemError(f"--size and --frames must be at least 1 (got {args.size}, "
                           f"{args.frames})")
    out = Path(args.out)
    programs = registry.library()
    print(f"procmem demo: rendering the {len(programs)} library programs "
          f"({args.frames} frames each, {args.size} px)")
    with Renderer(size=args.size) as renderer:
        sheet, failures = render_program_sheet(renderer, programs, per_program=args.frames,
                                               size=args.size, seed=0)
        print(f"renderer: {renderer.info['GL_RENDERER']}")
    path = save_png(out / "library-sheet.png", sheet)
    print(f"library contact sheet: {path.resolve()}")
    for f in failures:
        print(f"failed: {f}", file=sys.stderr)
    return 1 if failures else 0
