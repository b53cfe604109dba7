"""The evaluation runs behind `procmem eval ...`, in one place for their callers (the command
line, the orderings, the demo, the benchmarks and the tests).

Each `run_*` takes loaded data and encoders, stores each (encoder, data set) result under
`<rundir>/results/` (eval.store), rebuilds `<rundir>/<name>.json` + `.md` from every stored
result and draws its pictures under `<rundir>/pictures/`: kNN and linear probe
(eval.classification), NIGHTS (eval.nights), segmentation (eval.segment_run), the audits
(eval.audits) and the compartment audit (below).
"""

from __future__ import annotations

from procmem.eval.audits import run_add_classes, run_privacy, run_scaling, run_unlearn
from procmem.eval.classification import run_knn, run_linear
from procmem.eval.nights import run_nights
from procmem.eval.results import markdown_table, write_result
from procmem.eval.segment_run import run_segment

__all__ = ["run_knn", "run_linear", "run_nights", "run_segment", "run_privacy", "run_scaling",
           "run_unlearn", "run_add_classes", "run_compartment"]


def run_compartment(rundir, export=None, shards=None, rebuild: int = 8, seed: int = 0,
                    progress: bool = True, renderer=None) -> dict:
    """Compartmentalisation audit of an encoder export (or a shard set alone)."""
    from procmem.eval.compartment import audit_export, audit_shards

    r = (audit_export(export, shards, progress, rebuild, seed, renderer) if export
         else audit_shards(shards, None, progress, rebuild, seed, renderer))
    rows = [[k, r[k]] for k in ("verdict", "shards", "samples", "programs", "library_programs",
                                "generated_programs", "user_programs", "violations") if k in r]
    if "rebuilt" in r:
        rb = r["rebuilt"]
        rows.append(["rebuilt from JSON, pixel-identical", f"{rb['exact']} of {rb['checked']}"
                     + (f" ({rb['program_changed']} not rebuildable: program text changed since)"
                        if rb["program_changed"] else "")])
    md = ("## Compartmentalisation audit\n\nEvery training image must come from a program "
          "(lib/..., gen/<v>/<seed>, or user/<name> whose text the manifest stores) recorded in "
          "its shard sample; no paths, no real images.\n\n"
          + markdown_table(["measure", "value"], rows))
    if r.get("first_violations"):
        md += "\n\nFirst violations:\n\n" + "\n".join(f"- {v}" for v in r["first_violations"])
    if r.get("reason"):
        md += f"\n\n{r['reason']}"
    write_result(rundir, "compartment", r, md)
    return r
