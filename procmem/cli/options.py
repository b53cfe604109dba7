"""The options every command shares, and old option names accepted for one release.

One name per idea across all commands (`--out`, `--preset`, `--images`, `--res`, `--per-class`,
`--dataset`, `-k`, `--quiet`, bare `key=value` overrides). A renamed option keeps its old name
for one release: the old name sets the same value and prints a deprecation note on stderr.
"""

from __future__ import annotations

import argparse
import sys

OVERRIDES = "overrides"
"""Where every command keeps its `key=value` config overrides."""
IMPLICIT = "implicit_subcommand"
"""Default of a command group's parser naming the subcommand its bare form means
(`procmem pretrain --data D ...` is `procmem pretrain train --data D ...`)."""


def deprecation(old: str, new: str) -> str:
    """The note an old option name prints; `new` is what to write instead."""
    return f"procmem: {old} is deprecated, use {new} (the old name goes in the next release)"


def _aliased(action_class: type[argparse.Action], new: str) -> type[argparse.Action]:
    """`action_class` that first prints the deprecation note for the option string used."""

    class Deprecated(action_class):
        def __call__(self, parser, namespace, values, option_string=None):
            print(deprecation(option_string, new), file=sys.stderr)
            if isinstance(values, list) and hasattr(namespace, OVERRIDES):
                # an old list option (`--datasets A B`) also swallowed the trailing overrides
                moved = [v for v in values if isinstance(v, str) and "=" in v]
                values = [v for v in values if v not in moved]
                setattr(namespace, OVERRIDES, [*getattr(namespace, OVERRIDES), *moved])
            super().__call__(parser, namespace, values, option_string)

    return Deprecated


def add_alias(parser: argparse.ArgumentParser, old: str, dest: str, use: str, **kwargs) -> None:
    """Accept `old` for one release, storing into `dest` as `kwargs` say (its own form where it
    differed, e.g. nargs="+" for `--datasets A B`); `use` is what the note tells people to write.
    Hidden from --help."""
    action = kwargs.pop("action", None)
    action_class = parser._registry_get("action", action, action)  # "store_true" -> its class
    parser.add_argument(old, action=_aliased(action_class, use), dest=dest,
                        default=argparse.SUPPRESS, help=argparse.SUPPRESS, **kwargs)


def add_option(parser: argparse.ArgumentParser, *names: str, old: tuple[str, ...] = (),
               **kwargs) -> argparse.Action:
    """`parser.add_argument(*names, **kwargs)`, plus each name in `old` as a deprecated alias
    taking the same form."""
    new = parser.add_argument(*names, **kwargs)
    same = {k: v for k, v in kwargs.items() if k not in ("default", "help", "required", "dest")}
    for name in old:
        add_alias(parser, name, new.dest, new.option_strings[-1], **same)
    return new


class _Overrides(argparse.Action):
    """Adds to the overrides already collected instead of replacing them, so overrides that an
    old list option swallowed (see `_aliased`) survive argparse's late positional pass."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, [*(getattr(namespace, self.dest, None) or []), *values])


def add_overrides(parser: argparse.ArgumentParser, help: str) -> None:
    """Config overrides as bare trailing `key=value` arguments, the same in every command."""
    parser.add_argument(OVERRIDES, nargs="*", action=_Overrides, default=[], metavar="key=value",
                        help=help)


def add_quiet(parser: argparse.ArgumentParser, old: tuple[str, ...] = ()) -> None:
    """`--quiet`: no progress bars (logs and results are still written)."""
    add_option(parser, "--quiet", action="store_true", old=old,
               help="no progress bars (logs and results are still written)")


def parse_args(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """`parser.parse_args(argv)`, except that `key=value` words argparse leaves over (overrides
    between options: `--seed 0 a=1 --dataset x b=2`) join the command's overrides, in order."""
    args, extra = parser.parse_known_args(argv)
    extra = [x for x in extra if x != "--"]  # `--` before overrides, as orderings once needed
    if extra and hasattr(args, OVERRIDES) and all("=" in x and not x.startswith("-") for x in extra):
        setattr(args, OVERRIDES, [*getattr(args, OVERRIDES), *extra])
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args
