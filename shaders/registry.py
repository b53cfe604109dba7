"""The registry of programs: list the library, look up any id, filter by family.

Library programs are files `shaders/library/<family>/<name>.glsl` whose first comment
lines carry metadata (`// family: ...`, `// tags: a, b`, `// description: ...`).
Generated programs are made on demand from their id `gen/<version>/<seed>`; a user's own
programs `user/<name>` (`shaders.user`) are not built in, so `get` finds them only in the
table it is given. A library file that is malformed is skipped and reported (`problems()`),
never fatal to the rest.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Mapping

from procmem.shaders.program import Program, ProgramError, check

log = logging.getLogger("procmem.shaders")
_META = re.compile(r"^//\s*(\w+)\s*:\s*(.*)$")


def parse(program_id: str, family: str, text: str) -> Program:
    """A Program from its text, its metadata read from the leading `// key: value` comments."""
    meta = {}
    for line in text.splitlines():
        m = _META.match(line.strip())
        if not m:
            if line.strip() and not line.strip().startswith("//"):
                break
            continue
        meta[m.group(1).lower()] = m.group(2).strip()
    tags = tuple(t.strip() for t in meta.get("tags", "").split(",") if t.strip())
    return Program(
        id=program_id,
        source=text,
        family=meta.get("family", family),
        tags=tags,
        description=meta.get("description", ""),
        meta=meta,
    )


LIBRARY_ROOT = None
"""The library folder; None is the one installed with procmem. A test points it at a
temporary folder (a hanging or malformed program) to check the paths that load it."""


@dataclass(frozen=True)
class Library:
    """The programs of a library folder that loaded, and the problem of each file that did not
    (by the id it would have had)."""

    programs: tuple[Program, ...]
    skipped: dict[str, str]


def _root():
    if LIBRARY_ROOT is not None:
        return Path(LIBRARY_ROOT)
    return resources.files("procmem.shaders").joinpath("library")


@functools.lru_cache(maxsize=None)
def load(root) -> Library:
    """Every `<family>/<name>.glsl` under `root`, sorted by id. A file that cannot be read or
    fails `program.check` is skipped and named with its problem (logged once per process),
    so one bad file never takes the other programs down."""
    programs, skipped = [], {}
    for family_dir in sorted(root.iterdir(), key=lambda p: p.name):
        if not family_dir.is_dir():
            continue
        for f in sorted(family_dir.iterdir(), key=lambda p: p.name):
            if not f.name.endswith(".glsl"):
                continue
            pid = f"lib/{family_dir.name}/{f.name[:-5]}"
            try:
                programs.append(check(parse(pid, family_dir.name, f.read_text(encoding="utf-8"))))
            except (ProgramError, OSError, UnicodeDecodeError) as e:
                skipped[pid] = (f"{f}: {e}; fix the file or remove it (skipped, the other "
                                "library programs load)")
    for problem in skipped.values():
        log.warning("skipped library program %s", problem)
    return Library(tuple(programs), skipped)


def library() -> tuple[Program, ...]:
    """Every hand-written program that loaded, sorted by id."""
    return load(_root()).programs


def problems() -> list[str]:
    """The library files that were skipped, each with its problem and the fix."""
    return list(load(_root()).skipped.values())


def families() -> list[str]:
    """The library's family names, sorted."""
    return sorted({p.family for p in library()})


def get(program_id: str, user: Mapping[str, Program] | None = None) -> Program:
    """The program with this id: `lib/<family>/<name>`, `gen/<version>/<seed>`, or
    `user/<name>` looked up in `user` (id -> Program: the files given with `--programs`, or
    the texts a shard set recorded)."""
    if program_id.startswith("gen/"):
        parts = program_id.split("/")
        if len(parts) != 3 or not parts[2].isdigit():
            raise ProgramError(f"bad generated id {program_id!r}: expected gen/<version>/<seed>")
        from procmem.shaders import grammar

        return grammar.generate(int(parts[2]), version=parts[1])
    if program_id.startswith("user/"):
        if user and program_id in user:
            return user[program_id]
        known = f" (given: {', '.join(sorted(user))})" if user else ""
        raise ProgramError(f"no user program {program_id!r}{known}: a user program is not built "
                           "in; give its file (`--programs PATH`), or read it from the shard set "
                           "that recorded its text")
    for p in library():
        if p.id == program_id:
            return p
    skipped = load(_root()).skipped.get(program_id)
    if skipped is not None:
        raise ProgramError(f"library program {program_id} was skipped: {skipped}")
    raise ProgramError(
        f"no program {program_id!r}; `procmem shaders list` shows the library's ids"
    )


def select(family: str | None = None) -> list[Program]:
    """Library programs, optionally only those of one family."""
    progs = list(library())
    if family is not None:
        progs = [p for p in progs if p.family == family]
        if not progs:
            raise ProgramError(f"no library family {family!r}; families: {', '.join(families())}")
    return progs
