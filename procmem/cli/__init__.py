"""Floor 7: the `procmem` command, one module per command group.

Each module here has `register(subparsers)`, which adds its subcommands and sets `func` on
each parser. Handlers import the stages and heavy libraries (torch, moderngl, faiss) inside
the function, so `procmem --help` stays fast. Shared option names live in `options`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from procmem import __version__
from procmem.cli.options import IMPLICIT, parse_args
from procmem.core.errors import ProcmemError

COMMAND_MODULES = (
    "procmem.cli.shaders", "procmem.cli.generate", "procmem.cli.pretrain", "procmem.cli.memory",
    "procmem.cli.eval", "procmem.cli.demo", "procmem.cli.encoder",
)


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, tuple[argparse.ArgumentParser, str]]:
    """A parser's subcommands: name -> (parser, one-line help), in the order registered."""
    for action in parser._actions:  # argparse has no public walk over subparsers
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            return {name: (p, helps.get(name, "")) for name, p in action.choices.items()}
    return {}


def commands(parser: argparse.ArgumentParser, prefix: str = "") -> list[tuple[str, str]]:
    """Every command and subcommand as ("memory build", its one-line help), depth first."""
    rows = []
    for name, (sub, text) in _subcommands(parser).items():
        rows.append((prefix + name, text))
        rows += commands(sub, prefix + name + " ")
    return rows


def _command_table(parser: argparse.ArgumentParser) -> str:
    rows = commands(parser)
    width = max(len(name) for name, _ in rows) + 2
    lines = [f"  {name:<{width}}{text}" for name, text in rows]
    return "commands (`procmem COMMAND --help` explains each):\n" + "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="procmem", usage="%(prog)s [-h] [--version] COMMAND ...",
        description="Procedural-image embeddings and an explicit visual memory of real images.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"procmem {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", prog="procmem",
                                help=argparse.SUPPRESS)
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(sub)
    parser.epilog = _command_table(parser)
    return parser


def with_implicit_subcommand(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """`argv` with a group's implicit subcommand inserted when no subcommand follows the group."""
    groups = _subcommands(parser)
    if len(argv) < 2 or argv[0] not in groups:
        return argv
    group = groups[argv[0]][0]
    implicit = group.get_default(IMPLICIT)
    if implicit is None or argv[1] in _subcommands(group) or argv[1] in ("-h", "--help"):
        return argv
    return [argv[0], implicit, *argv[1:]]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(parser, with_implicit_subcommand(parser, argv))
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
