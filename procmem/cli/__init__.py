"""Floor 7: the `procmem` command, one module per command group.

Each module here has `register(subparsers)`, which adds its subcommands and sets `func` on
each parser. Handlers import the stages and heavy libraries (torch, moderngl, faiss) inside
the function, so `procmem --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from procmem import __version__
from procmem.core.errors import ProcmemError

COMMAND_MODULES = (
    "procmem.cli.shaders", "procmem.cli.generate", "procmem.cli.pretrain", "procmem.cli.memory",
    "procmem.cli.eval", "procmem.cli.demo", "procmem.cli.encoder",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="procmem",
        description="Procedural-image embeddings and an explicit visual memory of real images.",
    )
    parser.add_argument("--version", action="version", version=f"procmem {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
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
