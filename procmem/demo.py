"""`procmem demo`: the main job on built-in defaults (being built up issue by issue)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the end-to-end demo on built-in defaults")
    p.add_argument("--out", default="demo-out", help="directory for everything the demo writes")
    p.add_argument("--data", default=None, help="an ImageFolder of real images to use instead")
    p.set_defaults(func=run)


def run(args) -> int:
    from procmem.errors import ProcmemError

    raise ProcmemError("the demo is not built yet")
