"""Markdown tables from stored records: encoders x data sets with n and a 95% interval in
every cell, and the paired differences (encoder minus baseline) with their verdicts.

Rows: the user's encoders first, then random inits, then pixels (eval.roles); columns: data
sets in the order they were first evaluated. Results of other runs in the same run directory
are rows and columns like any other (eval.store).
"""

from __future__ import annotations

from procmem.eval import store
from procmem.eval.comparisons import Metric, cell, comparisons, fmt_cell, fmt_diff
from procmem.eval.results import markdown_table
from procmem.eval.roles import PIXELS, RANDOM


def row_label(info: dict) -> str:
    """An encoder's row name: its name, its role for baselines, the protocol when not ours."""
    tag = {RANDOM: " (random init)", PIXELS: " (raw pixels)"}.get(info["role"], "")
    proto = "" if info.get("protocol", "procmem") == "procmem" else f" [{info['protocol']} protocol]"
    return f"{info['name']}{tag}{proto}"


def value_table(recs: list[dict], metric: Metric, extra=None) -> str:
    """Rows encoders, columns data sets, cells `fmt_cell` (+ `extra(record)` when given)."""
    sets = store.datasets_of(recs)
    by = {(r["encoder"]["name"], r["encoder"].get("protocol"), r["dataset"]["name"]): r for r in recs}
    rows = []
    for info in store.encoders_of(recs):
        row = [row_label(info)]
        for d in sets:
            r = by.get((info["name"], info.get("protocol"), d))
            row.append("-" if r is None else fmt_cell(cell(r, metric)) + (extra(r) if extra else ""))
        rows.append(row)
    return markdown_table(["encoder"] + sets, rows)


def diff_rows(recs: list[dict], metric: Metric) -> list[dict]:
    """`comparisons` of the records, JSON-ready."""
    return comparisons(recs, metric)


def diff_table(rows: list[dict]) -> str:
    """Rows 'A - B' (each encoder against each of its baselines), columns data sets."""
    if not rows:
        return ("No paired differences: the run has no random init of the same network or no "
                "raw-pixel baseline on the same data (add --encoder random:... or pixels).")
    sets: list[str] = []
    for r in rows:
        if r["dataset"] not in sets:
            sets.append(r["dataset"])
    pairs: dict = {}
    for r in rows:
        for kind in (RANDOM, PIXELS):
            if r[kind] is not None:
                pairs.setdefault((r["encoder"], r[kind]["against"]), {})[r["dataset"]] = r[kind]
    table = [[f"{a} - {b}"] + [fmt_diff(cells.get(d)) for d in sets]
             for (a, b), cells in pairs.items()]
    return markdown_table(["difference (percentage points)"] + sets, table)


def metric_section(recs: list[dict], metric: Metric, heading: str, extra=None) -> tuple[str, list]:
    """A metric's value table and difference table as Markdown, and the differences."""
    rows = diff_rows(recs, metric)
    md = (f"{heading}\n\n" + value_table(recs, metric, extra) + "\n\nPaired differences (same "
          "queries or images, 95% interval, verdict better / worse / tie):\n\n" + diff_table(rows))
    return md, rows
