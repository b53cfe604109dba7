"""The header every benchmark prints: date, machine and library versions, plus a table printer."""

from __future__ import annotations

import datetime
import importlib
import os
import platform


def machine_header(extra: dict | None = None) -> str:
    """Date, CPU, core count, OS, Python and the versions of the libraries that matter."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    lines = [
        f"date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        f"python: {platform.python_version()}",
    ]
    versions = []
    for name in ("numpy", "torch", "timm", "moderngl", "faiss", "webdataset", "sklearn"):
        try:
            versions.append(f"{name} {importlib.import_module(name).__version__}")
        except Exception:
            pass
    lines.append("versions: " + ", ".join(versions))
    for k, v in (extra or {}).items():
        lines.append(f"{k}: {v}")
    return "\n".join(lines)


def format_table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table (paste-able into docs/benchmarks.md)."""
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    out = ["| " + " | ".join(c.ljust(w) for c, w in zip(cells[0], widths)) + " |",
           "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in cells[1:]]
    return "\n".join(out)


def _fmt(c) -> str:
    if isinstance(c, float):
        return f"{c:,.3g}" if abs(c) < 100 else f"{c:,.0f}"
    return str(c)
