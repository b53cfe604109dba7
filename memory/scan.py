"""Finding removed vectors in files, at any byte offset: by their bytes, or by their sha256.

- `find_pieces(paths, vectors)`: with the vectors' bytes at hand (a removal holds them), every
  occurrence of any 64-byte piece of any of them, at any offset: partial copies (what SQLite's
  pages kept of a BLOB) are found too. ~0.5 GB/s here.
- `find_unit_vectors(paths, sha256s, dim)`: with only a receipt (the bytes are erased; a
  receipt must not hold them), every whole copy of a removed vector, at any offset. The store
  keeps unit vectors, so a window of `dim` float32s is a candidate only if its squares sum to
  1 (one cumulative sum per alignment), and a candidate counts only if its bytes hash to a
  removed vector's sha256. Tens of MB/s: for re-checks and `procmem memory scan`.
- `find_in_arrays(path, sha256s, dim)`: rows of the float arrays of a .npy/.npz (compressed
  too) that are a removed vector, as stored or once normalised as the store normalises (an
  embeddings file holds the vectors before `add` normalised them).
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np

from procmem.memory.vectors import as_stored

PIECE = 64  # bytes: 64 bytes of float32 noise never occur by chance
UNIT_TOLERANCE = 1e-4  # |sum of squares - 1| of a stored vector is below 2.1e-5 (memory.vectors)


def vector_pieces(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinctive PIECE-byte pieces of each vector's float32 bytes (uint8 [P, PIECE], or the
    whole vector when it is shorter) and the row each came from (low-entropy pieces, with
    fewer than 8 distinct bytes, e.g. runs of zeros, are skipped: they match anything)."""
    b = np.ascontiguousarray(vectors, dtype="<f4")
    if not b.size:
        return np.empty((0, PIECE), np.uint8), np.empty(0, np.int64)
    b = b.view(np.uint8).reshape(len(b), -1)
    step = min(PIECE, b.shape[1])
    offsets = range(0, b.shape[1] - step + 1, step)
    pieces = np.stack([b[:, o:o + step] for o in offsets], axis=1).reshape(-1, step)
    owner = np.repeat(np.arange(len(b)), len(offsets))
    distinct = 1 + (np.diff(np.sort(pieces, axis=1), axis=1) != 0).sum(axis=1)
    keep = distinct >= min(8, step)
    return pieces[keep], owner[keep]


def _files(paths) -> list[Path]:
    return [Path(p) for p in paths if Path(p).is_file()]


def find_pieces(paths, vectors: np.ndarray, chunk: int = 1 << 23) -> dict[str, list[int]]:
    """{file: [rows of `vectors` with a piece found in it]} for the files that hold any.

    A PIECE-byte occurrence anywhere in a file contains one 8-byte word at a file offset
    divisible by 8, at one of 8 offsets within the piece; so each piece contributes its 8
    such words as keys. The file is read as aligned uint64 words (memory-mapped, in chunks of
    `chunk` words), filtered through a bit table of the keys' low bits, matched exactly by
    binary search, and each match is compared in full. Pieces under 16 bytes (vectors of
    fewer than 4 dims) fall back to a plain substring search.
    """
    pieces, owner = vector_pieces(vectors)
    if not len(pieces):
        return {}
    plen = pieces.shape[1]
    out: dict[str, list[int]] = {}
    if plen < 16:
        for path in _files(paths):
            data = path.read_bytes()
            rows = sorted({int(owner[j]) for j, p in enumerate(pieces) if p.tobytes() in data})
            if rows:
                out[str(path)] = rows
        return out
    keys = np.stack([np.ascontiguousarray(pieces[:, o:o + 8]).view("<u8")[:, 0] for o in range(8)],
                    axis=1).ravel()  # key 8 j + o: piece j's bytes o..o+8
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    bits = int(np.clip(np.ceil(np.log2(len(keys))) + 5, 16, 26))  # ~3% false candidates
    mask = np.uint64((1 << bits) - 1)
    table = np.zeros(1 << bits, dtype=bool)
    table[(keys & mask).astype(np.intp)] = True
    for path in _files(paths):
        size = path.stat().st_size
        if size < plen:
            continue
        raw = np.memmap(path, dtype=np.uint8, mode="r")
        words = raw[: size - size % 8].view("<u8")
        buf = np.empty(min(chunk, len(words)), np.uint64)
        rows: set[int] = set()
        for start in range(0, len(words), chunk):
            w = words[start:start + chunk]
            low = buf[:len(w)]
            np.bitwise_and(w, mask, out=low)
            cand = np.flatnonzero(table[low.view(np.int64)])
            pos = np.minimum(np.searchsorted(sorted_keys, w[cand]), len(sorted_keys) - 1)
            for c, p in zip(cand[sorted_keys[pos] == w[cand]].tolist(),
                            pos[sorted_keys[pos] == w[cand]].tolist()):
                word = w[c]
                while p < len(sorted_keys) and sorted_keys[p] == word:
                    j, o = divmod(int(order[p]), 8)
                    at = 8 * (start + c) - o
                    if at >= 0 and at + plen <= size and np.array_equal(raw[at:at + plen], pieces[j]):
                        rows.add(int(owner[j]))
                    p += 1
        del words, raw
        if rows:
            out[str(path)] = sorted(rows)
    return out


def find_unit_vectors(paths, sha256s, dim: int, chunk: int = 1 << 22
                      ) -> dict[str, list[tuple[int, int]]]:
    """{file: [(index into `sha256s`, byte offset)]}: whole copies of the vectors whose
    sha256 are given, at any byte offset of any of the files."""
    want = {h: i for i, h in enumerate(sha256s)}
    width = 4 * int(dim)
    out: dict[str, list[tuple[int, int]]] = {}
    if not want:
        return out
    for path in _files(paths):
        size = path.stat().st_size
        if size < width:
            continue
        raw = np.memmap(path, dtype=np.uint8, mode="r")
        found = []
        for align in range(4):
            n = (size - align) // 4  # float32s from this byte alignment on
            for start in range(0, n - dim + 1, chunk):
                stop = min(start + chunk + dim - 1, n)
                data = raw[align + 4 * start: align + 4 * stop].tobytes()
                with np.errstate(invalid="ignore", over="ignore"):  # any bytes: NaN, inf
                    sq = np.frombuffer(data, "<f4").astype(np.float64)
                    np.square(sq, out=sq)
                    sq[~(sq <= 1.0)] = 2.0  # |x| > 1 or NaN: no unit vector holds it
                total = np.cumsum(sq)
                sums = total[dim - 1:].copy()
                sums[1:] -= total[:-dim]  # window j: x[j] .. x[j + dim - 1]
                near = (sums > 1.0 - UNIT_TOLERANCE) & (sums < 1.0 + UNIT_TOLERANCE)
                for j in np.flatnonzero(near).tolist():
                    h = hashlib.sha256(data[4 * j: 4 * j + width]).hexdigest()
                    if h in want:
                        found.append((want[h], align + 4 * (start + j)))
        del raw
        if found:
            out[str(path)] = sorted(found, key=lambda t: t[1])
    return out


def _arrays(path: Path):
    """(name, array) of every array in a .npy or .npz file (object arrays refused)."""
    if path.suffix == ".npy":
        yield path.name, np.load(path, allow_pickle=False, mmap_mode="r")
        return
    with np.load(path, allow_pickle=False) as z:
        for name in z.files:
            yield name, z[name]


def find_in_arrays(path, sha256s, dim: int) -> list[tuple[str, int, int, str]]:
    """[(array name, row, index into `sha256s`, "as stored" | "once normalised")] for the rows
    of the [N, dim] float arrays of the .npy/.npz at `path` that are removed vectors."""
    want = {h: i for i, h in enumerate(sha256s)}
    path, hits = Path(path), []
    try:
        arrays = list(_arrays(path))
    except (ValueError, OSError, EOFError, zipfile.BadZipFile):
        return hits  # not an array file after all: the byte scan covers it
    for name, a in arrays:
        if a.ndim != 2 or a.shape[1] != dim or not np.issubdtype(a.dtype, np.floating):
            continue
        for start in range(0, len(a), 65536):
            given = np.asarray(a[start:start + 65536]).astype("<f4")
            stored = as_stored(given)
            for r in range(len(given)):
                for how, rows in (("as stored", given), ("once normalised", stored)):
                    h = hashlib.sha256(rows[r].tobytes()).hexdigest()
                    if h in want:
                        hits.append((name, start + r, want[h], how))
                        break
    return hits
