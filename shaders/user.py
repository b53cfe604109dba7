"""A user's own GLSL files as programs `user/<name>`, and the records a shard set keeps of them.

A user program is a text file in the library's convention (contract 1: `mainImage`,
`iResolution`, `iTime`, `P(0..15)`), named `user/<stem>` after its file. `load(paths)` takes
files, folders (every `*.glsl` below them) and glob patterns, validates every text
(`program.validate`, naming the file and the GLSL line) and refuses two files with one name.
Nothing is copied into the library. A shard set that used user programs stores each as a record
`{id, sha256, source}` (DESIGN.md contract 1: the full text and its sha256), so a sample can be
rebuilt and audited from the shard set alone; `from_records` gives the programs back, refusing a
text that no longer hashes to its recorded sha256.
"""

from __future__ import annotations

import glob
import re
from pathlib import Path

from procmem.shaders.program import Program, ProgramError, validate
from procmem.shaders.registry import parse

PREFIX = "user/"
FAMILY = "user"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_RULES = "the rules: 'Writing a program' in shaders/library/README.md"


class UserProgramError(ProgramError):
    """A user program file or record cannot be used: missing, unreadable, invalid, a name clash,
    or a recorded text that does not match its sha256."""


def program_id(path: Path) -> str:
    """`user/<file name without .glsl>`."""
    name = path.name[:-5] if path.name.endswith(".glsl") else path.stem
    if not _NAME.match(name):
        raise UserProgramError(f"{path}: {name!r} cannot be a program name (letters, digits, '_', "
                               "'-' and '.', starting with a letter or digit): rename the file")
    return PREFIX + name


def expand(paths) -> list[Path]:
    """The files `paths` name, each once, in the order given: a file as is, a folder as every
    `*.glsl` below it (sorted), a glob pattern (`*`, `?`, `[...]`, `**`) as its matches."""
    found: dict[Path, Path] = {}
    for word in map(str, paths):
        pattern = glob.has_magic(word)
        matches = sorted(glob.glob(word, recursive=True)) if pattern else [word]
        if pattern and not matches:
            raise UserProgramError(f"--programs {word!r}: the pattern matches no file")
        for m in map(Path, matches):
            if m.is_dir():
                files = sorted(m.rglob("*.glsl"))
                if not files and not pattern:
                    raise UserProgramError(f"--programs {word}: the folder holds no .glsl file")
            elif m.is_file():
                files = [m]
            else:
                raise UserProgramError(f"--programs {word}: no such file or folder")
            for f in files:
                found.setdefault(f.resolve(), f)
    return list(found.values())


def load(paths) -> tuple[Program, ...]:
    """The programs in `paths` (files, folders, globs; see `expand`), sorted by id, each checked
    with `program.validate`. Every problem of every file is raised at once (UserProgramError),
    each naming its file; two files with one name are an error naming both."""
    files = expand(paths)
    if not files:
        raise UserProgramError("--programs: no program file given")
    by_id: dict[str, Path] = {}
    programs, problems = [], []
    for f in files:
        pid = program_id(f)
        if pid in by_id:
            problems.append(f"{by_id[pid]} and {f} are both named {pid} (ids are user/<file name>):"
                            " rename one")
            continue
        by_id[pid] = f
        try:
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            problems.append(f"{f}: cannot be read as UTF-8 text ({e})")
            continue
        bad = validate(pid, text)
        if bad:
            problems.append(f"{f}: " + "; ".join(bad))
            continue
        program = parse(pid, FAMILY, text)
        program.meta["file"] = str(f)
        programs.append(program)
    if problems:
        n = len(problems)
        raise UserProgramError(f"the user programs have {n} problem{'s' * (n > 1)} ({_RULES}):"
                               "\n  " + "\n  ".join(problems))
    return tuple(sorted(programs, key=lambda p: p.id))


def table(programs) -> dict[str, Program]:
    """id -> Program, the lookup `shaders.registry.get(id, user=...)` takes."""
    return {p.id: p for p in programs}


def record(program: Program) -> dict:
    """What a shard set stores of a user program: its id, full text and the text's sha256."""
    return {"id": program.id, "sha256": program.sha256, "source": program.source}


def record_problem(rec) -> str | None:
    """Why `rec` is not a sound record of a user program (None when it is): a field missing, a
    bad id, a text that fails validation, or a text whose sha256 is not the recorded one."""
    if not isinstance(rec, dict) or not all(isinstance(rec.get(k), str)
                                            for k in ("id", "sha256", "source")):
        return "not an object with string fields id, sha256 and source"
    pid = rec["id"]
    if not pid.startswith(PREFIX) or not _NAME.match(pid[len(PREFIX):]):
        return f"id {pid!r} is not user/<name>"
    actual = parse(pid, FAMILY, rec["source"]).sha256
    if actual != rec["sha256"]:
        return (f"the stored text of {pid} hashes to {actual[:16]}..., not its recorded sha256 "
                f"{rec['sha256'][:16]}...: the text was altered after the shards were made")
    bad = validate(pid, rec["source"])
    return "; ".join(bad) if bad else None


def from_records(records) -> tuple[Program, ...]:
    """The programs a shard set recorded (`record` of each), every record checked
    (`record_problem`): a UserProgramError names the first that is not sound."""
    if not isinstance(records, list):
        raise UserProgramError(f"the recorded user programs are a {type(records).__name__}, "
                               "not a list of {id, sha256, source}")
    programs = []
    for i, rec in enumerate(records):
        problem = record_problem(rec)
        if problem is not None:
            raise UserProgramError(f"recorded user program {i}: {problem}")
        programs.append(parse(rec["id"], FAMILY, rec["source"]))
    return tuple(programs)
