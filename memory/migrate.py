"""Opening a format-1 memory (vectors as SQLite BLOBs) migrates it to format 2, once.

Format 1 kept each vector (and ResMem residual) as a BLOB in ``memory.sqlite``; a removal
could leave most of a vector's bytes in SQLite's pages (issue 12, finding 1). Migration:

1. the vectors go to ``vectors.f32`` (slot = rank in id order) and the residuals to a
   residual slot file, each written to a temporary and renamed;
2. a new database is built from the format-2 schema with every row but the BLOBs (copied
   through ``ATTACH``), the edit log gaining a 'migrate' entry at the same version;
3. the new database replaces the old one (atomic rename) after the old WAL is checkpointed
   away, and the old index caches that held the vectors are deleted.

A fresh file never held a BLOB, so no residue of earlier removals survives (``VACUUM INTO``
would copy the live BLOBs along; building anew copies only the columns kept). A kill before
the rename leaves the old database in charge and the next open migrates again; after it,
the memory is format 2. Ids, labels, versions and the flat index's order (ids ascending) are
unchanged, so queries answer as before.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from procmem.core.atomic import atomic_open
from procmem.memory import index as index_mod
from procmem.memory.errors import CorruptStoreError
from procmem.memory.schema import (
    FORMAT,
    SQLITE_NAME,
    VECTORS_NAME,
    build_database,
    checkpoint,
    connect,
    get_meta,
    log_edit,
)

RESIDUALS_FIRST = "residuals.1.f32"


def needs_migration(conn) -> bool:
    """Whether the open database is format 1 (raises for a format this code does not know)."""
    fmt = get_meta(conn, "format")
    if fmt == str(FORMAT):
        return False
    if fmt == "1":
        return True
    raise CorruptStoreError(f"memory format {fmt!r} is not one this procmem reads (1 or {FORMAT}): "
                            f"upgrade procmem or rebuild the memory from its embeddings")


def migrate(path: Path) -> dict:
    """Rewrite the format-1 memory at `path` as format 2; returns the 'migrate' edit's detail."""
    path = Path(path)
    db = path / SQLITE_NAME
    old = connect(db)
    try:
        dim = int(get_meta(old, "dim"))
        count = _write_slots(old, path / VECTORS_NAME, "SELECT id, vector FROM items ORDER BY id",
                             4 * dim, "vector")
        width = old.execute("SELECT length(value) FROM residuals LIMIT 1").fetchone()
        has_residuals = width is not None
        if has_residuals:
            # residual slot = the item's vector slot (its rank by id), zeros where none
            _write_slots(old, path / RESIDUALS_FIRST,
                         "SELECT i.id, r.value FROM items i LEFT JOIN residuals r ON r.id = i.id "
                         "ORDER BY i.id", int(width[0]), "residual")
        version = int(get_meta(old, "version"))
        checkpoint(old)
    finally:
        old.close()
    detail = {"from_format": 1, "to_format": FORMAT, "vectors": count,
              "why": "vectors move out of SQLite into vectors.f32, which removal zero-fills"}

    def fill(conn):
        conn.execute("ATTACH DATABASE ? AS old", (str(db),))
        conn.execute("INSERT INTO meta SELECT key, value FROM old.meta WHERE key != 'format'")
        conn.execute("INSERT INTO meta VALUES ('format', ?)", (str(FORMAT),))
        if has_residuals:
            conn.executemany("INSERT INTO meta VALUES (?, ?)", [
                ("residuals_file", RESIDUALS_FIRST), ("residuals_gen", "1"),
                ("residuals_width", str(int(width[0]) // 4))])
        conn.execute("INSERT INTO items(id, label, source, sha256, slot, version) "
                     "SELECT id, label, source, sha256, ROW_NUMBER() OVER (ORDER BY id) - 1, "
                     "version FROM old.items")
        for table in ("label_names", "edits", "prune_stats"):
            conn.execute(f"INSERT INTO {table} SELECT * FROM old.{table}")
        conn.execute("INSERT INTO residuals(id) SELECT id FROM old.residuals")
        log_edit(conn, version, "migrate", 0, detail)

    build_database(db, fill)
    for kind in index_mod.INDEX_TABLE.values():  # format-1 caches of exact kinds held vectors
        if not kind.cached:
            with contextlib.suppress(FileNotFoundError):
                (path / kind.file).unlink()
    return detail


def _write_slots(conn, target: Path, sql: str, record: int, what: str) -> int:
    """Write the BLOBs `sql` yields (id, blob, in id order) as consecutive `record`-byte
    records of `target` (temporary + rename); a NULL blob is a record of zeros. Returns the
    records written."""
    n = 0
    with atomic_open(target) as f:
        for i, blob in conn.execute(sql):
            data = bytes(record) if blob is None else blob
            if len(data) != record:
                raise CorruptStoreError(f"{target.parent / SQLITE_NAME}: item {i}'s {what} has "
                                        f"{len(data)} bytes, expected {record}: the memory is "
                                        f"damaged; rebuild it from its embeddings")
            f.write(data)
            n += 1
    return n

