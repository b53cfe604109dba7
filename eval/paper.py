"""`procmem eval paper`: the paper's protocol on whichever of its sets a data root holds, and the
shapes of its tables with the published figures (eval/published.json, the one cited file)
beside the measured ones, each measured cell with n and its 95% interval.

kNN, NIGHTS and MedMNIST run through eval.classification / eval.nights under the protocol of
eval.paper_protocol (so their stored results and tables are the run's `knn.md` and `nights.md`
too); COCO is scored with the authors' R^2 (task `paper-coco`); the linear probe only with
`linear=True` (on ImageNet-1K a CPU fit takes hours).
"""

from __future__ import annotations

import json
from pathlib import Path

from procmem.core.errors import ProcmemError
from procmem.eval import paper_protocol as pp
from procmem.eval import store
from procmem.eval.comparisons import Metric, cell, fmt_cell
from procmem.eval.results import markdown_table, write_result
from procmem.eval.tables import row_label

PUBLISHED = Path(__file__).with_name("published.json")
COCO_R2 = Metric("paper-coco-r2", "COCO R^2 (the authors' definition)", "mean", lambda a, r: a["r2"])


def published() -> dict:
    return json.loads(PUBLISHED.read_text())


def run_paper(out, encoders, root, per_class: int | None = None, cache=None, linear: bool = False,
              seed: int = 0, progress: bool = True) -> dict:
    """Every present set under the paper's protocol, then `paper.json` + `paper.md`."""
    from procmem.eval.catalogue import load_segmentation_set
    from procmem.eval.classification import run_knn, run_linear
    from procmem.eval.datasets import data_root, load_nights
    from procmem.eval.nights import run_nights
    from procmem.eval.paper_sets import SETS, find_sets, load_set

    base = data_root(root)
    found = find_sets(base)
    if not found:
        raise ProcmemError(f"none of the paper's sets is under {base}: expected folders named "
                           + ", ".join(f"{n} ({'/'.join(f)})" for n, f in SETS))
    for enc in encoders:
        pp.with_protocol(enc, pp.knn_preprocess())
    cls = {n: p for n, p in found.items() if n not in ("NIGHTS", "COCO")}
    for name, path in cls.items():
        data = {name: load_set(name, path, pp.load_transform, per_class, seed)}
        src = {name: str(path)}
        run_knn(out, encoders, data, cache, ks=pp.ks_for(name), rules=("softmax",),
                progress=progress, sources=src)
        if linear:
            run_linear(out, encoders, data, cache, progress=progress, sources=src)
    if "NIGHTS" in found:
        run_nights(out, encoders, load_nights(found["NIGHTS"], size=pp.load_transform), cache,
                   progress=progress, name="NIGHTS", source=str(found["NIGHTS"]))
    if "COCO" in found:
        segset = load_segmentation_set(str(found["COCO"]), base, size=pp.coco_load, name="COCO")
        run_coco(out, encoders, segset, cache, progress, str(found["COCO"]))
    return write_paper(out, found)


def run_coco(out, encoders, segset, cache=None, progress: bool = True, source=None) -> None:
    """The authors' COCO R^2 (eval.paper_protocol) per encoder, stored as task `paper-coco`."""
    import numpy as np

    from procmem.core.progress import progress as bar
    from procmem.eval.datasets import LabelledImages
    from procmem.eval.features import compute_features
    from procmem.eval.segmentation_data import describe_segmentation

    images = LabelledImages("COCO-images", segset.images, np.zeros(len(segset), np.int64), ["-"])
    for enc in bar(encoders, desc="COCO R^2", unit="encoder", disable=not progress):
        pp.with_protocol(enc, pp.coco_preprocess())
        r2 = pp.paper_r2(compute_features(enc, images, cache, kind="patch", progress=progress),
                         segset.masks)
        store.put(out, "paper-coco", enc, describe_segmentation(segset, source),
                  {"definition": "1 - inertia, background eliminated"},
                  {"r2": float(np.nanmean(r2)) if np.any(~np.isnan(r2)) else None}, {"r2": r2})
        pp.with_protocol(enc, pp.knn_preprocess())


def _measured(out, table: dict, found: dict) -> tuple[list, list[str]]:
    """Measured rows for one table shape and its columns (MedMNIST: one per set found)."""
    from procmem.eval.classification import LINEAR, knn_metric
    from procmem.eval.nights import NIGHTS

    task, metric, columns = {
        "knn": ("knn", knn_metric("softmax", "best"), table["columns"]),
        "medmnist": ("knn", knn_metric("softmax", "best"),
                     sorted(n for n in found if n.startswith("MedMNIST/"))),
        "nights": ("nights", NIGHTS, ["NIGHTS"]),
        "coco-r2": ("paper-coco", COCO_R2, ["COCO"]),
        "linear": ("linear", LINEAR, table["columns"]),
    }[table["id"]]
    recs = [r for r in store.records(out, task) if r["encoder"].get("protocol") == "paper"
            or r["encoder"]["role"] == "pixels"]
    rows = []
    for info in store.encoders_of(recs):
        row = [f"measured: {row_label(info)}"]
        for col in columns:
            rec = next((r for r in recs if r["encoder"]["name"] == info["name"]
                        and r["dataset"]["name"] == col), None)
            if rec is None:
                row.append("not run" if col not in found else "-")
                continue
            extra = f" (k={rec['result']['best']['softmax']['k']})" if task == "knn" else ""
            row.append(fmt_cell(cell(rec, metric)) + extra)
        rows.append(row)
    return rows, columns


def write_paper(out, found: dict) -> dict:
    """`paper.md`: each table shape, published rows (source named) then measured rows."""
    pub = published()
    parts, tables = [f"## The paper's tables, measured beside the published figures\n\n"
                     f"{pub['paper']}. {pub['note']} kNN cells: best top-1 over the authors' k "
                     "sweep, chosen on the queries (optimistic, as the paper reports it), with its "
                     "95% Wilson interval and n queries. Sets found: "
                     f"{', '.join(f'{n} ({p})' for n, p in found.items())}."], []
    for t in pub["tables"]:
        measured, columns = _measured(out, t, found)
        rows = []
        for model, values in t["rows"].items():
            vals = [100 * (1 - v) if t.get("inertia") else v for v in values]
            by_col = dict(zip(t["columns"], vals))
            rows.append([f"published: {model} [{t['source']}]"]
                        + [f"{by_col[c]:.1f}" if c in by_col else "not found" for c in columns])
        head = f"### {t['paper_ref'] or 'Table (number not found)'}: {t['title']}"
        note = f"\n\nPublished figures missing: {t['missing']}." if t["missing"] else ""
        parts.append(head + note + "\n\n" + (markdown_table(["model"] + columns, rows + measured)
                                            if columns else "No set of this table was found."))
        tables.append({"id": t["id"], "columns": columns, "rows": rows + measured})
    parts.append("Sources: " + " ".join(f"[{k}] {v}" for k, v in pub["sources"].items()))
    data = {"found": {n: str(p) for n, p in found.items()}, "tables": tables}
    write_result(out, "paper", data, "\n\n".join(parts))
    return data
