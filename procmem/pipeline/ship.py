"""Ship a run's teacher as `procmem:default`, only when it beats raw pixels (issue 17).

    python -m procmem.pipeline.ship RUN [--readout grid4] [--seed 0] [--data-root D]

1. Export the teacher as float16 safetensors with the chosen read-out (`pretrain export
   --fp16`), named by its shard set's manifest sha256 and the `procmem generate` command that
   remakes it; an export whose shard folder is gone (no command) is refused.
2. Judge it as docs/benchmarks.md does: `eval knn` on CIFAR-10 and Imagenette against its own
   random init (the run's seed) and raw 32 px pixels, dino's softmax vote at k=20, paired on
   the same queries.
3. Only if T - P is `better` (paired 95% interval above 0) on both sets, write it to
   `procmem/encoder/shipped/default.{safetensors,json}` with the measurement in the json
   (`measured`); otherwise refuse, naming the numbers, and leave what ships untouched.

The json's `training_config.probe.data` (real images the online probe read; they never reach
training) is recorded relative to the data root, so the shipped file names no local path.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from procmem.core.atomic import atomic_write_bytes, atomic_write_json
from procmem.core.clock import utc_now
from procmem.core.errors import ProcmemError

SETS = ("cifar10", "imagenette")
MAX_BYTES = 16 * 2**20


class ShipRefused(ProcmemError):
    """The encoder does not qualify as procmem:default (or cannot be remade from seeds)."""


def judge(export: Path, seed: int, data_root, cache, out: Path, sets=SETS) -> dict:
    """{set: T, R, P cells and T-R, T-P} of `export` (knn_summary.paired_summary)."""
    from procmem.encoder.spec import make_encoder, random_like
    from procmem.eval.catalogue import load_classification
    from procmem.eval.classification import run_knn
    from procmem.eval.knn_summary import RULE, paired_summary

    encoders = [make_encoder(f"procmem:{export}", name="procmem-candidate"),
                random_like(export, seed), make_encoder("pixels")]
    data = {}
    for name in sets:
        mem, qry = load_classification(name, data_root)
        data[mem.name.removesuffix("-memory")] = (mem, qry)
    run_knn(out, encoders, data, cache, rules=(RULE,), progress=True)
    return paired_summary(out)


def report(measured: dict) -> list[str]:
    """One line per set: T, R and P top-1 with n and intervals, then T-R and T-P."""
    from procmem.eval.comparisons import fmt_cell, fmt_diff

    return [f"{name}: T {fmt_cell(m['T'])}, R {fmt_cell(m['R'])}, P {fmt_cell(m['P'])}; "
            f"T-R {fmt_diff(m['T-R'])}, T-P {fmt_diff(m['T-P'])}" for name, m in measured.items()]


def _portable_probe(meta: dict, data_root) -> None:
    from procmem.eval.datasets import data_root as find_root

    probe = meta.get("training_config", {}).get("probe", {})
    where = probe.get("data")
    if where and Path(where).is_absolute():
        root = find_root(data_root).resolve()
        try:
            probe["data"] = "<data root>/" + Path(where).resolve().relative_to(root).as_posix()
        except ValueError:
            probe["data"] = "<outside the data root>/" + Path(where).name


def ship(run: str | Path, readout: str = "grid2", seed: int = 0, data_root=None,
         cache=None, target: Path | None = None, sets=SETS) -> dict:
    """Export, judge and (if it qualifies) install `run`'s teacher; returns the measurement."""
    from procmem.encoder.encoder import encoder_files
    from procmem.encoder.spec import shipped_default
    from procmem.pretrain.export import export_run

    target = Path(target or shipped_default())
    with tempfile.TemporaryDirectory(prefix="procmem-ship-") as tmp:
        candidate = Path(tmp) / "candidate"
        weights, meta_path = export_run(run, candidate, readout=readout, fp16=True)
        meta = json.loads(meta_path.read_text())
        learned = meta.get("learned_from") or {}
        if learned.get("kind") != "shards" or not (learned.get("generate") or {}).get("command"):
            raise ShipRefused(f"run {run} was not trained on a `procmem generate` shard set that "
                              "is still there, so nobody could remake its data from seeds; "
                              "train on one (procmem generate ...) and ship again")
        if weights.stat().st_size > MAX_BYTES:
            raise ShipRefused(f"{weights.stat().st_size / 2**20:.1f} MiB of fp16 weights: more "
                              f"than the {MAX_BYTES // 2**20} MiB a shipped encoder may weigh")
        measured = judge(candidate, seed, data_root, cache or Path(tmp) / "cache",
                         Path(tmp) / "eval", sets)
        if any(m["T-P"]["verdict"] != "better" for m in measured.values()):
            raise ShipRefused("not shipped: procmem:default must beat raw pixels on "
                              f"{' and '.join(measured)} kNN (paired interval above 0); "
                              + "; ".join(report(measured)))
        _portable_probe(meta, data_root)
        meta["measured"] = {"knn": measured, "date": utc_now(), "seed_of_random_init": seed,
                            "protocol": "procmem eval knn, softmax vote, k=20, pixels:32; "
                                        "T-R and T-P paired on the same queries"}
        dest_w, dest_j = encoder_files(target)
        dest_w.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(dest_w, weights.read_bytes())  # the json last: then it is shipped
        atomic_write_json(dest_j, meta)
    return measured


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", help="a `procmem pretrain` run directory")
    ap.add_argument("--readout", default="grid2", help="cls, grid2 or grid4 (default grid2)")
    ap.add_argument("--seed", type=int, default=0, help="the run's seed: its random init is R")
    ap.add_argument("--data-root", default=None, help="real-data folder (default ../shared/data)")
    ap.add_argument("--cache", default=None, help="feature cache directory")
    args = ap.parse_args(argv)
    try:
        measured = ship(args.run, args.readout, args.seed, args.data_root, args.cache)
    except ProcmemError as e:
        print(f"procmem ship: {e}")
        return 2
    print("\n".join(report(measured)))
    print("shipped as procmem:default")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
