"""Unlearning receipts (contract 7): proof, checked after the fact, that removed items are gone.

A receipt names the removed ids and their vectors' sha256, the time, the store version before
and after, and three checks that really run against the store:

- ``not_searchable``: searching with each removed vector does not return its id (an exact
  index would otherwise return it first, at similarity 1), and SQLite no longer lists it;
- ``not_on_disk``: no piece of any removed vector's float32 bytes occurs anywhere in the
  memory directory's files (memory.sqlite, its -wal, the index cache), scanned byte by byte
  after the WAL checkpoint (``secure_delete`` zeroes deleted cells; the stale index is dropped);
- ``not_in_pruning_stats``: the pruning counts were recomputed at the new version and do
  not mention the removed ids.

Receipts are saved as JSON under ``<memory>/receipts/``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from procmem.core.atomic import atomic_write_json
from procmem.core.clock import utc_now

PIECE = 64  # bytes: a vector is searched as 64-byte pieces, so SQLite overflow-page splits
#             of a long BLOB cannot hide it; 64 bytes of float32 noise never occur by chance


@dataclass
class Receipt:
    removed_ids: list[int]
    sha256: list[str]
    time: str
    version_before: int
    version_after: int
    memory: str
    checks: dict = field(default_factory=dict)
    path: str | None = None

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c["passed"] for c in self.checks.values())

    def to_json(self) -> dict:
        d = asdict(self)
        d.pop("path")
        d["passed"] = self.passed
        return d


def issue(memory, ids, vectors, hashes, before: int, after: int, *, run_checks: bool = True) -> Receipt:
    """Run the checks for a finished removal and save the receipt under receipts/."""
    r = Receipt([int(i) for i in ids], list(hashes), utc_now(), int(before), int(after),
                str(memory.path))
    if run_checks:
        r.checks = run_all(memory, np.asarray(ids, np.int64), vectors)
    else:
        r.checks = {"skipped": {"passed": False, "detail": "checks not run (checks=False)"}}
    path = Path(memory.path) / "receipts" / f"remove-v{after:08d}.json"
    atomic_write_json(path, r.to_json())
    r.path = str(path)
    return r


def load(path) -> Receipt:
    d = json.loads(Path(path).read_text())
    d.pop("passed", None)
    return Receipt(**d, path=str(path))


def run_all(memory, ids: np.ndarray, vectors: np.ndarray) -> dict:
    return {"not_searchable": check_not_searchable(memory, ids, vectors),
            "not_on_disk": check_not_on_disk(memory, vectors),
            "not_in_pruning_stats": check_not_in_pruning_stats(memory, ids)}


def check_not_searchable(memory, ids: np.ndarray, vectors: np.ndarray, k: int = 10) -> dict:
    if not len(ids):
        return {"passed": True, "detail": "nothing removed"}
    in_store = ids[memory.contains(ids)]
    hits = []
    if len(memory):
        _, found = memory.index.search(np.asarray(vectors, np.float32), min(k, len(memory)))
        hits = sorted({int(i) for i in found.ravel()} & {int(i) for i in ids})
    ok = not hits and not len(in_store)
    return {"passed": ok, "detail": f"searched {len(ids)} removed vectors at k={k}: "
            f"{len(hits)} removed ids returned, {len(in_store)} still listed in SQLite"
            + (f" ({(hits or in_store.tolist())[:10]})" if not ok else "")}


def memory_files(memory) -> list[Path]:
    """Every regular file of the memory directory except receipts (which hold hashes only)."""
    return sorted(p for p in Path(memory.path).iterdir() if p.is_file())


def check_not_on_disk(memory, vectors: np.ndarray) -> dict:
    files = memory_files(memory)
    found = find_vectors_in_files(files, vectors)
    ok = not found
    detail = (f"scanned {len(files)} files ({sum(p.stat().st_size for p in files):,} bytes) for "
              f"{len(vectors)} vectors: " + ("none found" if ok else "found " + "; ".join(
                  f"{Path(p).name}: vectors {rows[:10]}" for p, rows in found.items())))
    return {"passed": ok, "detail": detail}


def check_not_in_pruning_stats(memory, ids: np.ndarray) -> dict:
    stats = memory.prune_stats()
    if stats is None:
        return {"passed": True, "detail": "no pruning statistics in this memory"}
    left = np.intersect1d(stats["ids"], ids)
    fresh = stats["version"] == memory.version
    ok = not len(left) and fresh
    return {"passed": ok, "detail": f"pruning statistics at version {stats['version']} (store "
            f"{memory.version}): {len(left)} removed ids listed"
            + (f" {left[:10].tolist()}" if len(left) else "")}


def vector_pieces(vectors: np.ndarray) -> tuple[list[bytes], list[int]]:
    """Distinctive PIECE-byte pieces of each vector's float32 bytes, and the vector each came
    from (low-entropy pieces, e.g. runs of zeros, are skipped: they match anything)."""
    pieces, owner = [], []
    for row, v in enumerate(np.ascontiguousarray(vectors, dtype="<f4")):
        b = v.tobytes()
        step = min(PIECE, len(b))
        for off in range(0, len(b) - step + 1, step):
            p = b[off:off + step]
            if len(set(p)) >= min(8, step):
                pieces.append(p)
                owner.append(row)
    return pieces, owner


def find_vectors_in_files(paths, vectors: np.ndarray, chunk: int = 1 << 26) -> dict[str, list[int]]:
    """{file: [rows of `vectors` with a piece found in it]} for the files that hold any.

    Every byte offset is covered: a PIECE-byte occurrence anywhere in a file contains one
    8-byte word at a file offset divisible by 8, at one of 8 offsets within the piece. So each
    piece contributes its 8 possible such words; the file is read as aligned uint64 words
    (memory-mapped, chunked), filtered by a 24-bit table, matched by binary search, and
    candidates are compared in full.
    Pieces under 16 bytes (vectors of < 4 dims) fall back to a plain substring search.
    """
    pieces, owner = vector_pieces(vectors)
    if not pieces:
        return {}
    plen = len(pieces[0])
    out: dict[str, list[int]] = {}
    if plen < 16:
        for path in paths:
            path = Path(path)
            if path.is_file():
                data = path.read_bytes()
                rows = sorted({owner[j] for j, p in enumerate(pieces) if p in data})
                if rows:
                    out[str(path)] = rows
        return out
    keys = np.frombuffer(b"".join(p[o:o + 8] for p in pieces for o in range(8)), dtype="<u8")
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    prefilter = np.zeros(1 << 24, dtype=bool)  # low 24 bits of every key: a cheap first pass
    prefilter[(keys & 0xFFFFFF).astype(np.intp)] = True
    chunk -= chunk % 8
    for path in paths:
        path = Path(path)
        if not path.is_file() or path.stat().st_size < plen:
            continue
        data = np.memmap(path, dtype=np.uint8, mode="r")
        rows: set[int] = set()
        for start in range(0, len(data) - len(data) % 8, chunk):
            stop = min(start + chunk, len(data) - len(data) % 8)
            words = np.frombuffer(data[start:stop].tobytes(), dtype="<u8")
            cand = np.flatnonzero(prefilter[(words & 0xFFFFFF).astype(np.intp)])
            pos = np.clip(np.searchsorted(sorted_keys, words[cand]), 0, len(sorted_keys) - 1)
            for c in np.flatnonzero(sorted_keys[pos] == words[cand]).tolist():
                w, idx = int(cand[c]), int(pos[c])
                while idx < len(sorted_keys) and sorted_keys[idx] == words[w]:
                    j, o = divmod(int(order[idx]), 8)
                    at = start + 8 * w - o
                    if at >= 0 and at + plen <= len(data) and data[at:at + plen].tobytes() == pieces[j]:
                        rows.add(owner[j])
                    idx += 1
        del data
        if rows:
            out[str(path)] = sorted(rows)
    return out
