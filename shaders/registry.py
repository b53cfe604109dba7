"""The registry of programs: list the library, look up any id, filter by family.

Library programs are files `shaders/library/<family>/<name>.glsl` whose first comment
lines carry metadata (`// family: ...`, `// tags: a, b`, `// description: ...`).
Generated programs are made on demand from their id `gen/<version>/<seed>`.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

from procmem.shaders.program import Program, ProgramError, check

_META = re.compile(r"^//\s*(\w+)\s*:\s*(.*)$")


def _parse(program_id: str, family: str, text: str) -> Program:
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


@functools.lru_cache(maxsize=1)
def library() -> tuple[Program, ...]:
    """Every hand-written program, sorted by id."""
    root = resources.files("procmem.shaders").joinpath("library")
    programs = []
    for family_dir in sorted(root.iterdir(), key=lambda p: p.name):
        if not family_dir.is_dir():
            continue
        for f in sorted(family_dir.iterdir(), key=lambda p: p.name):
            if f.name.endswith(".glsl"):
                pid = f"lib/{family_dir.name}/{f.name[:-5]}"
                programs.append(check(_parse(pid, family_dir.name, f.read_text())))
    return tuple(programs)


def families() -> list[str]:
    """The library's family names, sorted."""
    return sorted({p.family for p in library()})


def get(program_id: str) -> Program:
    """The program with this id: `lib/<family>/<name>` or `gen/<version>/<seed>`."""
    if program_id.startswith("gen/"):
        parts = program_id.split("/")
        if len(parts) != 3 or not parts[2].isdigit():
            raise ProgramError(f"bad generated id {program_id!r}: expected gen/<version>/<seed>")
        from procmem.shaders import grammar

        return grammar.generate(int(parts[2]), version=parts[1])
    for p in library():
        if p.id == program_id:
            return p
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
