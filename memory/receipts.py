"""Unlearning receipts (contract 7): what was asked, what went, and checks that really ran.

A receipt records the selector as given, every removed item's id, label, source, slot and
vector sha256, the store versions before and after, when the removal committed and when its
erasure finished, and three checks, each with its evidence and its seconds:

- ``not_searchable``: SQLite lists none of the removed ids (items, pruning counts, residual
  rows), the live index holds none of them (its whole id list) and neither does an index
  cache on disk. An index returns only ids it holds, so no search can return them;
- ``not_on_disk``: every removed item's records in the slot files read back as zeros after
  fsync, and no 64-byte piece of any removed vector occurs at any byte offset of any file of
  the memory directory (temporaries and receipts included). Vectors whose records an
  interrupted removal had already zeroed are searched as whole vectors by sha256 instead;
- ``not_in_pruning_stats``: pruning counts, if any, were recomputed at the new version and
  list none of them.

A check that did not run is not passed. `verify_receipt` re-runs the checks any time later
from the receipt alone (whole vectors by sha256: the bytes are gone), and cross-checks the
edit log. The receipt also names the copies it cannot cover (outside the directory).
Receipts are saved as JSON under ``<memory>/receipts/``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from procmem.core.atomic import atomic_write_json
from procmem.core.clock import utc_now
from procmem.memory.errors import MemoryStoreError
from procmem.memory.killpoints import kill_point
from procmem.memory.scan import find_pieces, find_unit_vectors
from procmem.memory.schema import RECEIPTS_DIR, rows_by_id

NOT_COVERED = ("copies outside the memory directory: the embeddings files the items came "
               "from (listed where the edit log names them), procmem eval feature caches "
               "(<out>/cache/*.npz), backups and copies of the directory; search them with "
               "`procmem memory scan --receipt RECEIPT PATH...`")


class ReceiptError(MemoryStoreError):
    """A receipt file that is missing, unreadable or not a receipt."""


@dataclass
class Receipt:
    items: list[dict]  # id, label, label_name, source, sha256, slot of each removed item
    time: str  # when the removal committed
    version_before: int
    version_after: int
    memory: str
    selector: dict = field(default_factory=dict)
    checks: dict = field(default_factory=dict)
    completed: str | None = None  # when the checks ran
    interrupted: bool = False  # finished by a later open after the remover was killed
    attempts: list = field(default_factory=list)  # earlier attempts whose checks failed
    not_covered: dict = field(default_factory=dict)
    dim: int | None = None  # the vectors' width (to scan for them by sha256)
    seconds: dict = field(default_factory=dict)  # each step's wall time (checks: their own)
    format: int = 2
    path: str | None = None

    @property
    def removed_ids(self) -> list[int]:
        return [int(it["id"]) for it in self.items]

    @property
    def sha256(self) -> list[str]:
        return [it["sha256"] for it in self.items]

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c["passed"] for c in self.checks.values())

    def to_json(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "path"}
        d.update(passed=self.passed, removed_ids=self.removed_ids, sha256=self.sha256)
        return d


def load(path) -> Receipt:
    """A saved receipt (format 1 receipts, with ids and hashes only, load too). A missing,
    unreadable or foreign file raises ReceiptError naming it."""
    hint = "give the path of a receipt a removal saved under MEMORY/receipts/ (remove-v*.json)"
    try:
        d = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ReceiptError(f"no receipt at {path}: {hint}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ReceiptError(f"{path} is not a readable receipt ({type(e).__name__}: {e}); "
                           f"{hint}") from None
    if not isinstance(d, dict) or not ({"items", "removed_ids"} & set(d)):
        raise ReceiptError(f"{path} is JSON but not an unlearning receipt (no items or "
                           f"removed_ids); {hint}")
    ids, hashes = d.pop("removed_ids", []), d.pop("sha256", [])
    d.pop("passed", None)
    if "items" not in d:  # format 1
        d.update(items=[{"id": i, "sha256": h} for i, h in zip(ids, hashes)], format=1)
    known = {f.name for f in fields(Receipt)}
    try:
        return Receipt(**{k: v for k, v in d.items() if k in known and k != "path"}, path=str(path))
    except TypeError as e:
        raise ReceiptError(f"{path} lacks fields of an unlearning receipt ({e}); {hint}") from None


def receipt_path(memory_path, version: int) -> Path:
    return Path(memory_path) / RECEIPTS_DIR / f"remove-v{int(version):08d}.json"


def issue(memory, record: dict, vectors: dict[int, np.ndarray], erased: dict) -> Receipt:
    """Run the checks for a committed removal (`record`: its pending-erasure record;
    `vectors`: id -> bytes still held; `erased`: the slot read-back evidence) and save the
    receipt atomically under receipts/."""
    ids = np.array([it["id"] for it in record["items"]], np.int64)
    r = Receipt(record["items"], record["time"], record["version_before"], record["version_after"],
                str(memory.path), record["selector"], attempts=list(record.get("attempts", [])),
                interrupted=bool(record.get("interrupted")), dim=memory.dim,
                seconds=dict(record.get("seconds", {})),
                not_covered={"copies": origins(memory, ids), "note": NOT_COVERED})
    if not len(ids):
        r.checks = {"selection_empty": {"passed": True, "seconds": 0.0, "evidence": {},
                                        "detail": "the selector matched no item (allowed): "
                                                  "nothing was erased"}}
    else:
        r.checks = run_all(memory, ids, vectors, r.sha256, erased)
    kill_point("remove:checked")
    r.seconds["checks"] = round(sum(c.get("seconds", 0.0) for c in r.checks.values()), 4)
    r.completed = utc_now()
    path = receipt_path(memory.path, r.version_after)
    atomic_write_json(path, r.to_json())
    r.path = str(path)
    return r


def origins(memory, ids: np.ndarray) -> list[str]:
    """Embeddings files named by the add edits (note 'embeddings') that added any of `ids`."""
    out = set()
    for (detail,) in memory.connection.execute(
            "SELECT detail FROM edits WHERE op = 'add' AND instr(detail, '\"embeddings\"') > 0"):
        d = json.loads(detail)
        if len(ids) and ((ids >= d["min_id"]) & (ids <= d["max_id"])).any():
            out.add(d["embeddings"])
    return sorted(out)


def timed(fn, *args) -> dict:
    """`fn(*args)` (a check's dict) with the seconds it took."""
    t0 = time.perf_counter()
    out = fn(*args)
    out["seconds"] = round(time.perf_counter() - t0, 4)
    return out


def run_all(memory, ids, vectors, sha256s=None, erased: dict | None = None) -> dict:
    """The three checks. `vectors`: the removed vectors' bytes this process holds, as
    {id: vector} or an array aligned with `ids`; `sha256s` (aligned with `ids`) find the others."""
    ids = np.asarray(ids, np.int64)
    if not isinstance(vectors, dict):
        vectors = {int(i): v for i, v in zip(ids, np.asarray(vectors, np.float32))}
    if sha256s is None:
        from procmem.memory.vectors import vector_sha256

        sha256s = [vector_sha256(vectors[int(i)]) for i in ids]
    return {"not_searchable": timed(check_not_searchable, memory, ids),
            "not_on_disk": timed(check_not_on_disk, memory, ids, vectors, list(sha256s), erased),
            "not_in_pruning_stats": timed(check_not_in_pruning_stats, memory, ids)}


def check_not_searchable(memory, ids: np.ndarray) -> dict:
    ids = np.asarray(ids, np.int64)
    listed = {}
    for table in ("items", "prune_stats", "residuals"):
        rows = rows_by_id(memory.connection, f"SELECT id FROM {table} WHERE id IN ({{}})",
                          ids.tolist())
        listed[table] = sorted(int(r[0]) for r in rows)
    held = ids[np.isin(ids, memory.index.ids())].tolist() if memory.index.ntotal else []
    cached = memory.cached_index_ids()
    in_cache = [] if cached is None else ids[np.isin(ids, cached)].tolist()
    bad = sorted({*held, *in_cache, *(i for v in listed.values() for i in v)})
    cache_note = "no index cache on disk" if cached is None else \
        f"its cache {memory.index_file.name} ({len(cached):,} ids): {len(in_cache)}"
    return {"passed": not bad,
            "evidence": {"sqlite": listed, "index": held, "index_cache": in_cache,
                         "index_size": int(memory.index.ntotal)},
            "detail": f"{len(ids)} removed ids against SQLite (items {len(listed['items'])}, "
                      f"pruning counts {len(listed['prune_stats'])}, residuals "
                      f"{len(listed['residuals'])}), the {memory.index_kind} index's "
                      f"{memory.index.ntotal:,} ids ({len(held)} held) and {cache_note}"
                      + (f"; still present: {bad[:10]}" if bad else "")}


def memory_files(memory_path) -> list[Path]:
    """Every regular file under the memory directory (temporaries and receipts included)."""
    return sorted(p for p in Path(memory_path).rglob("*") if p.is_file())


def check_not_on_disk(memory, ids, vectors: dict, sha256s: list[str], erased: dict | None) -> dict:
    files = memory_files(memory.path)
    size = sum(p.stat().st_size for p in files)
    held = [r for r, i in enumerate(ids.tolist()) if i in vectors]
    gone = [r for r, i in enumerate(ids.tolist()) if i not in vectors]
    found: dict[str, list[int]] = {}
    if held:
        rows = find_pieces(files, np.stack([vectors[int(ids[r])] for r in held]))
        found = {p: [int(ids[held[j]]) for j in got] for p, got in rows.items()}
    if gone:
        hashes = [sha256s[r] for r in gone]
        for p, got in find_unit_vectors(files, hashes, memory.dim).items():
            found.setdefault(p, []).extend(int(ids[gone[j]]) for j, _ in got)
    slots_ok = erased is None or not erased["nonzero"]  # None: the byte scan covers them
    how = (f"{len(held)} by their 64-byte pieces" if held else "") + \
        (" and " if held and gone else "") + \
        (f"{len(gone)} as whole vectors by sha256 (their records were zeroed before an "
         f"interruption, so their bytes were no longer held)" if gone else "")
    slot_note = "slot read-back not run" if erased is None else (
        f"{erased['records']} records ({erased['bytes']:,} bytes) of {', '.join(erased['files'])} "
        f"read back as zeros after fsync" if slots_ok else
        f"records still non-zero after erasure: ids {erased['nonzero'][:10]}")
    where = "; ".join(f"{Path(p).relative_to(memory.path)}: ids {v[:10]}" for p, v in found.items())
    return {"passed": slots_ok and not found,
            "evidence": {"slots": erased, "files": {str(p.relative_to(memory.path)): p.stat().st_size
                                                    for p in files},
                         "scanned_by_pieces": len(held), "scanned_by_sha256": len(gone),
                         "found": {str(Path(p).relative_to(memory.path)): v for p, v in found.items()}},
            "detail": f"{slot_note}; scanned {len(files)} files ({size:,} bytes) for the "
                      f"{len(ids)} removed vectors, {how}: " + ("none found" if not found else
                                                                 "found in " + where)}


def check_not_in_pruning_stats(memory, ids: np.ndarray) -> dict:
    stats = memory.prune_stats()
    if stats is None:
        return {"passed": True, "evidence": {}, "detail": "no pruning statistics in this memory"}
    left = np.intersect1d(stats["ids"], ids)
    fresh = stats["version"] == memory.version
    return {"passed": not len(left) and fresh,
            "evidence": {"stats_version": stats["version"], "listed": left[:100].tolist()},
            "detail": f"pruning statistics at version {stats['version']} (store "
                      f"{memory.version}): {len(left)} removed ids listed"
                      + (f" {left[:10].tolist()}" if len(left) else "")}
