"""Vectors as the store keeps them: finite, non-zero, L2-normalised float32 rows (cosine is
then the inner product) and the sha256 of their little-endian bytes, which the store records,
verify re-checks and receipts name.
"""

from __future__ import annotations

import hashlib

import numpy as np

from procmem.memory.errors import BadVectorsError


def vector_sha256(vector: np.ndarray) -> str:
    """sha256 of a vector's float32 little-endian bytes (what the store keeps and hashes)."""
    return hashlib.sha256(np.ascontiguousarray(vector, dtype="<f4").tobytes()).hexdigest()


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
    x = x.astype(np.float32)
    finite = np.isfinite(x).all(axis=1)
    if not finite.all():
        rows = np.flatnonzero(~finite)[:10].tolist()
        raise BadVectorsError(f"{what} rows {rows} contain NaN or inf: fix the embedding run; "
                              f"nothing was written")
    norms = np.linalg.norm(x.astype(np.float64), axis=1)
    if (norms < 1e-12).any():
        rows = np.flatnonzero(norms < 1e-12)[:10].tolist()
        raise BadVectorsError(f"{what} rows {rows} are zero vectors and have no direction to "
                              f"normalise; drop them; nothing was written")
    return as_stored(x)


def as_stored(x: np.ndarray) -> np.ndarray:
    """float32 rows exactly as the store keeps them: rows of unit norm (within 1e-5) as given,
    others divided by their norm (zero rows left as they are; `normalise` refuses them)."""
    x = np.array(x, dtype=np.float32)
    norms = np.linalg.norm(x.astype(np.float64), axis=1)
    off = (np.abs(norms - 1.0) > 1e-5) & (norms > 0)  # unit rows stay byte-identical (sha256 too)
    x[off] = (x[off] / norms[off, None]).astype(np.float32)
    return x
