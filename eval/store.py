"""Every result of a run directory, stored once under (encoder, data set, task, settings).

`RUN/results/<task>/<encoder>-<dataset>-<key>.json` (+ `.npz` of the per-query or per-image
values its intervals and paired differences are computed from). The key is the sha256 of the
encoder's fingerprint and network, the data set's fingerprint, the task and its settings, so
rerunning the same evaluation replaces its own record and anything else adds one: tables and
the report are rebuilt from every stored record, and calls add rows. Where one encoder name
on one data set name has several records (retrained weights, another --per-class), the
newest is shown and the others are counted as superseded.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from pathlib import Path

import numpy as np

from procmem.core.atomic import atomic_write_bytes, atomic_write_json
from procmem.core.clock import utc_now
from procmem.eval.roles import encoder_info, order_key


def plain(x):
    """`x` with numpy scalars and arrays turned into JSON values (nan kept as None)."""
    if isinstance(x, dict):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return plain(x.tolist())
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return None if x != x else float(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def record_key(encoder: dict, dataset: dict, task: str, settings: dict) -> str:
    ident = [encoder["fingerprint"], encoder.get("network"), encoder.get("protocol"),
             dataset["fingerprint"], task, settings]
    return hashlib.sha256(json.dumps(plain(ident), sort_keys=True).encode()).hexdigest()[:20]


def put(rundir, task: str, encoder, dataset: dict, settings: dict, result: dict,
        arrays: dict | None = None) -> dict:
    """Store one result (replacing the record of the same key) and return the record."""
    from procmem.eval.features import slug

    info = encoder if isinstance(encoder, dict) else encoder_info(encoder)
    key = record_key(info, dataset, task, settings)
    folder = Path(rundir) / "results" / task
    stem = f"{slug(info['name'])}-{slug(dataset['name'])}-{key}"
    if arrays:
        buf = io.BytesIO()
        np.savez_compressed(buf, **{k: np.asarray(v) for k, v in arrays.items()})
        atomic_write_bytes(folder / f"{stem}.npz", buf.getvalue())  # before the record names it
    rec = {"task": task, "key": key, "time": utc_now(), "order": time.time_ns(),
           "encoder": info, "dataset": plain(dataset), "settings": plain(settings),
           "result": plain(result), "arrays": f"{stem}.npz" if arrays else None}
    atomic_write_json(folder / f"{stem}.json", rec)
    rec["path"] = str(folder / f"{stem}.json")
    return rec


def all_records(rundir, task: str) -> list[dict]:
    """Every stored record of `task`, oldest first."""
    folder = Path(rundir) / "results" / task
    out = []
    for f in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        rec = json.loads(f.read_text())
        rec["path"] = str(f)
        out.append(rec)
    return sorted(out, key=lambda r: r["order"])


def identity(rec: dict) -> tuple:
    """What a table cell shows one of: (encoder name, protocol, data set name)."""
    return rec["encoder"]["name"], rec["encoder"].get("protocol"), rec["dataset"]["name"]


def records(rundir, task: str) -> list[dict]:
    """The records tables show: the newest per identity, learned encoders first, then random
    inits, then pixels; data sets in the order they were first evaluated."""
    newest: dict = {}
    first_seen: dict = {}
    for rec in all_records(rundir, task):
        newest[identity(rec)] = rec
        first_seen.setdefault(rec["dataset"]["name"], rec["order"])
    return sorted(newest.values(), key=lambda r: (order_key(r["encoder"]),
                                                  first_seen[r["dataset"]["name"]]))


def superseded(rundir, task: str) -> int:
    """How many stored records of `task` a newer one of the same identity hides."""
    return len(all_records(rundir, task)) - len(records(rundir, task))


def arrays(rec: dict) -> dict[str, np.ndarray]:
    """The per-item values stored with a record ({} when it has none)."""
    if not rec.get("arrays"):
        return {}
    with np.load(Path(rec["path"]).with_name(rec["arrays"]), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def encoders_of(recs: list[dict]) -> list[dict]:
    """The distinct encoders of some records (first record's description), in table order."""
    seen: dict = {}
    for r in recs:
        seen.setdefault((r["encoder"]["name"], r["encoder"].get("protocol")), r["encoder"])
    return sorted(seen.values(), key=order_key)


def datasets_of(recs: list[dict]) -> list[str]:
    """Data set names in first-evaluated order."""
    out: list[str] = []
    for r in sorted(recs, key=lambda r: r["order"]):
        if r["dataset"]["name"] not in out:
            out.append(r["dataset"]["name"])
    return out
