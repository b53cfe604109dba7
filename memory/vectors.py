"""Vectors as the store keeps them: finite, non-zero, L2-normalised float32 rows (cosine is
then the inner product) and the sha256 of their little-endian bytes, which the store records,
verify re-checks and receipts name.

No [N, D] float64 copy is made (one of [200,000, 384] took 7.6 s on the shared machine): norms
come from a float64 einsum, exact ones block by block where they decide anything; the rows are
copied only when some must be divided.
"""

from __future__ import annotations

import hashlib

import numpy as np

from procmem.memory.errors import BadVectorsError

BLOCK = 4096  # rows per block: 4096 x 384 float64 is 12 MiB


def vector_sha256(vector: np.ndarray) -> str:
    """sha256 of a vector's float32 little-endian bytes (what the store keeps and hashes)."""
    return hashlib.sha256(np.ascontiguousarray(vector, dtype="<f4").tobytes()).hexdigest()


def vector_sha256s(vectors: np.ndarray) -> list[str]:
    """`vector_sha256` of every row, hashing slices of one buffer (no copy per row)."""
    x = np.ascontiguousarray(vectors, dtype="<f4")
    if not x.size:
        return []
    step, view, sha = 4 * x.shape[1], memoryview(x).cast("B"), hashlib.sha256
    return [sha(view[at:at + step]).hexdigest() for at in range(0, len(view), step)]


def sha_prefixes(hexes) -> np.ndarray:
    """uint64 [N]: the first 8 bytes of each hex sha256 (a key for finding equal vectors fast;
    equal prefixes are then compared in full)."""
    raw = np.frombuffer(bytes.fromhex("".join(h[:16] for h in hexes)), np.uint8)
    return raw.reshape(-1, 8).copy().view(">u8").ravel().astype(np.uint64)


def row_norms(x: np.ndarray) -> np.ndarray:
    """float64 L2 norm of each row: `np.linalg.norm(x.astype(np.float64), axis=1)`, as the
    store always computed it, for every row whose norm decides anything (off 1 by 1e-5 or
    more, within 1e-9 of that threshold, zero, NaN); rows certainly of unit norm, which are kept
    as given whatever the last bits of their norm, get one float64 einsum (products of float32s
    are exact in float64, the sum's relative error is below d * 2^-53), 2.5x faster."""
    norms = np.sqrt(np.einsum("ij,ij->i", x, x, dtype=np.float64))
    redo = np.flatnonzero(~(np.abs(norms - 1.0) < 1e-5 - 1e-9))
    for at in range(0, len(redo), BLOCK):
        rows = redo[at:at + BLOCK]
        norms[rows] = np.linalg.norm(x[rows].astype(np.float64), axis=1)
    return norms


def normalise(vectors, dim: int, what: str = "vectors") -> np.ndarray:
    """Validate [N, dim] finite non-zero vectors and return them L2-normalised as float32
    (rows already of unit norm, within 1e-5, are left exactly as given)."""
    x = np.asarray(vectors)
    if x.ndim == 1 and x.size == dim:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] != dim:
        raise BadVectorsError(f"{what} have shape {tuple(x.shape)} but this memory stores "
                              f"{dim}-d vectors: embed with the memory's encoder (width {dim})")
    if not np.issubdtype(x.dtype, np.floating):
        raise BadVectorsError(f"{what} must be floating point, got dtype {x.dtype}")
    x = np.ascontiguousarray(x, dtype=np.float32)
    norms = row_norms(x)
    if not np.isfinite(norms).all():  # float64 squares of float32 cannot overflow: NaN or inf
        rows = np.flatnonzero(~np.isfinite(norms))[:10].tolist()
        raise BadVectorsError(f"{what} rows {rows} contain NaN or inf: fix the embedding run; "
                              f"nothing was written")
    if (norms < 1e-12).any():
        rows = np.flatnonzero(norms < 1e-12)[:10].tolist()
        raise BadVectorsError(f"{what} rows {rows} are zero vectors and have no direction to "
                              f"normalise; drop them; nothing was written")
    return _scale(x, norms)


def as_stored(x: np.ndarray) -> np.ndarray:
    """float32 rows exactly as the store keeps them: rows of unit norm (within 1e-5) as given,
    others divided by their norm (zero rows left as they are; `normalise` refuses them)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    return _scale(x, row_norms(x))


def _scale(x: np.ndarray, norms: np.ndarray) -> np.ndarray:
    """`x` with the rows whose norm is off 1 by more than 1e-5 divided by it (in a copy; `x`
    itself when none is): unit rows stay byte-identical, so their sha256 does too."""
    off = np.flatnonzero((np.abs(norms - 1.0) > 1e-5) & (norms > 0))
    if len(off):
        x = x.copy()
        x[off] = (x[off] / norms[off, None]).astype(np.float32)
    return x
