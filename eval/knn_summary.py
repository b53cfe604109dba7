"""One `eval knn` run of a trained export (T), its random init (R) and raw pixels (P), read
back from its `knn.json` as cells and paired differences, per data set (issue 17's judge).

Cells: top-1 at the run's fixed k (20) for one vote rule (dino's softmax by default), with n
and the Wilson 95% interval; T-R and T-P: the run's paired differences on the same queries
(bootstrap interval and verdict, eval/comparisons.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from procmem.eval.intervals import wilson

RULE = "softmax"


def role_of(encoder_name: str) -> str:
    """T, R or P for an encoder's row name (random init and raw pixels by their prefixes)."""
    if encoder_name.startswith("random"):
        return "R"
    return "P" if encoder_name.startswith("pixels") else "T"


def paired_summary(eval_dir: str | Path, rule: str = RULE) -> dict:
    """{set: {"T"|"R"|"P": cell, "T-R"|"T-P": paired difference}} of one kNN run directory."""
    data = json.loads((Path(eval_dir) / "knn.json").read_text())
    out: dict = {}
    for encoder, sets in data["results"].items():  # raw pixels has no comparison record
        if role_of(encoder) == "P":
            for name, r in sets.items():
                value, n = r["fixed"][rule], r["queries"]
                low, high = wilson(round(value * n), n)
                out.setdefault(name, {})["P"] = {"value": value, "low": low, "high": high, "n": n}
    for rec in data["comparisons"][rule]:
        role = role_of(rec["encoder"])
        cells = out.setdefault(rec["dataset"], {})
        cells[role] = rec["cell"]
        if role == "T":
            cells["T-R"], cells["T-P"] = rec.get("random"), rec.get("pixels")
    return out
