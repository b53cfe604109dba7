"""Re-checking receipts later: `procmem memory receipt verify` and verify's cross-check.

`verify_receipt(receipt, memory)` re-runs a receipt's checks against the memory as it is now,
from the receipt alone: the edit log holds the removal with the same ids and hashes; SQLite,
the index and its cache list none of the ids; each removed item's record is zero or holds
another (live) item's vector; no file of the directory holds a whole copy of a removed
vector at any byte offset (by sha256: the bytes themselves are gone, so partial copies can
only be found by the removal's own scan); pruning counts list none of them.
`cross_check(memory)` compares the edit log with the receipts on disk.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from procmem.memory import receipts
from procmem.memory.scan import find_unit_vectors
from procmem.memory.schema import RECEIPTS_DIR


def _check(passed: bool, detail: str, **evidence) -> dict:
    return {"passed": bool(passed), "detail": detail, "evidence": evidence}


def verify_receipt(receipt: receipts.Receipt, memory) -> dict:
    """{check name: {passed, detail, evidence, seconds}} for `receipt` against `memory`."""
    ids = np.array(receipt.removed_ids, np.int64)
    out = {"edit_log": receipts.timed(_edit_log, receipt, memory),
           "not_searchable": receipts.timed(receipts.check_not_searchable, memory, ids),
           "not_on_disk": receipts.timed(_not_on_disk, receipt, memory),
           "not_in_pruning_stats": receipts.timed(_pruning, memory, ids)}
    if receipt.version_after in {r["version_after"] for r in memory.pending_erasures}:
        out["erasure_finished"] = _check(False, f"the erasure of version {receipt.version_after} "
                                                f"is still pending: open the memory or run "
                                                f"`procmem memory verify --repair`")
    return out


def _pruning(memory, ids) -> dict:
    stats = memory.prune_stats()
    if stats is None:
        return _check(True, "no pruning statistics in this memory")
    left = np.intersect1d(stats["ids"], ids)
    return _check(not len(left), f"pruning statistics (version {stats['version']}) list "
                                 f"{len(left)} of the removed ids", listed=left[:100].tolist())


def _edit_log(receipt, memory) -> dict:
    entry = [e for e in memory.edit_log() if e["op"] == "remove" and e["version"] == receipt.version_after]
    if not entry:
        return _check(False, f"the edit log has no removal at version {receipt.version_after}")
    d = entry[0]["detail"]
    same = d.get("ids") == receipt.removed_ids and d.get("sha256") == receipt.sha256
    return _check(same, f"the edit log's removal at version {receipt.version_after} names "
                        f"{'the same' if same else 'other'} {len(d.get('ids', []))} ids and hashes")


def _not_on_disk(receipt, memory) -> dict:
    """Records zero or reused by live items; no whole copy in any file (by sha256)."""
    slots = [it["slot"] for it in receipt.items if "slot" in it]
    bad_slots = []
    if slots:
        owner = dict(zip(memory._slots.tolist(), memory._ids.tolist()))
        live = memory._vec.nonzero(slots)
        for it, nonzero in zip([it for it in receipt.items if "slot" in it], live):
            if nonzero and it["slot"] not in owner:
                bad_slots.append(it["id"])
    files = receipts.memory_files(memory.path)
    found = find_unit_vectors(files, receipt.sha256, memory.dim)
    where = {str(Path(p).relative_to(memory.path)): sorted({receipt.removed_ids[j] for j, _ in hits})
             for p, hits in found.items()}
    slot_note = (f"{len(slots)} recorded records are zero or hold a live item"
                 + (f", except ids {bad_slots[:10]}" if bad_slots else "")) if slots else \
        "no slots recorded (format-1 receipt)"
    return _check(not found and not bad_slots,
                  f"{slot_note}; scanned {len(files)} files ({sum(p.stat().st_size for p in files):,} "
                  f"bytes) for whole copies of the {len(receipt.sha256)} removed vectors by sha256 "
                  f"(partial copies only the removal's own scan can find): "
                  + ("none found" if not found else f"found in {where}"),
                  records_not_erased=bad_slots, found=where)


def cross_check(memory) -> list[str]:
    """Problems between the edit log's removals and the receipts under receipts/."""
    problems = []
    pending = {r["version_after"] for r in memory.pending_erasures}
    on_disk = {int(p.stem.split("-v")[1]): p for p in (memory.path / RECEIPTS_DIR).glob("remove-v*.json")}
    removals = {e["version"]: e for e in memory.edit_log() if e["op"] == "remove"}
    for v, e in sorted(removals.items()):
        if v in pending:
            continue  # reported as an incomplete erasure
        if v not in on_disk:
            problems.append(f"the removal at version {v} ({e['count']} items) has no receipt "
                            f"({RECEIPTS_DIR}/remove-v{v:08d}.json is missing)")
            continue
        try:
            r = receipts.load(on_disk[v])
        except (ValueError, KeyError, TypeError, OSError) as err:
            problems.append(f"receipt {on_disk[v].name} is unreadable ({err})")
            continue
        if r.removed_ids != e["detail"].get("ids") or r.sha256 != e["detail"].get("sha256"):
            problems.append(f"receipt {on_disk[v].name} names other ids or hashes than the edit "
                            f"log's removal at version {v}")
        elif not r.passed:
            failed = [n for n, c in r.checks.items() if not c["passed"]]
            problems.append(f"receipt {on_disk[v].name} did not pass ({', '.join(failed)})")
    for v, p in sorted(on_disk.items()):
        if v not in removals:
            problems.append(f"receipt {p.name} matches no removal in the edit log")
    return problems
