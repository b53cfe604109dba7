"""A run directory's results: one `<name>.json` and one `<name>.md` per experiment, written atomically.

`procmem eval report RUNDIR` gathers exactly these files (and the PNGs under `pictures/`).
"""

from __future__ import annotations

import json
from pathlib import Path

from procmem.core.atomic import atomic_write_json, atomic_write_text


def pictures_dir(rundir) -> Path:
    p = Path(rundir) / "pictures"
    p.mkdir(parents=True, exist_ok=True)
    return p


def write_result(rundir, name: str, data: dict, markdown: str) -> Path:
    """Save `data` as `<rundir>/<name>.json` and `markdown` as `<rundir>/<name>.md`."""
    rundir = Path(rundir)
    atomic_write_json(rundir / f"{name}.json", data)
    atomic_write_text(rundir / f"{name}.md", markdown.rstrip() + "\n")
    return rundir / f"{name}.json"


def read_result(rundir, name: str) -> dict | None:
    p = Path(rundir) / f"{name}.json"
    return json.loads(p.read_text()) if p.is_file() else None


def markdown_table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table of already-formatted cells."""
    out = ["| " + " | ".join(map(str, headers)) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(map(str, r)) + " |" for r in rows]
    return "\n".join(out)


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"
