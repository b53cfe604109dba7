"""The `procmem` command: one subcommand group per stage.

Each stage package has a `cli` module with `register(subparsers)`, which adds its
subcommands and sets `func` on each parser. Stage cli modules import heavy libraries
(torch, moderngl, faiss) inside their handlers, so `procmem --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from procmem import __version__
from procmem.core.errors import ProcmemError

STAGE_CLIS = (
    "procmem.shaders.cli", "procmem.generators.cli", "procmem.pretrain.cli", "procmem.memory.cli",
    "procmem.eval.cli", "procmem.demo",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="procmem",
        description="Procedural-image embeddings and an explicit visual memory of real images.",
    )
    parser.add_argument("--version", action="version", version=f"procmem {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in STAGE_CLIS:
        module = importlib.import_module(name)
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ProcmemError as e:
        print(f"procmem: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("procmem: interrupted; completed work is on disk, rerun the command to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
