"""The memory directory's files and its SQLite database: names, tables, pragmas and settings.

``memory.sqlite`` holds every item's id, label, source, the sha256 of its vector and its slot
number in ``vectors.f32`` (memory.slots), the label names, the store version, derived counts
and an append-only edit log, and the durable record of any erasure not yet finished. It holds
no vector: format 2 keeps every per-item float (vectors, ResMem residuals) in slot files, so
no byte of a removed vector can linger in SQLite's free pages, cells or WAL (issue 12; format
1 kept them as BLOBs and `secure_delete` left 252 of 256 bytes of one behind). Opened with a
WAL journal, ``synchronous=FULL`` (a committed edit survives a power cut), ``secure_delete``
(removed labels and sources are zeroed too) and foreign keys on (derived rows go with their
item, ``ON DELETE CASCADE``). Triggers refuse UPDATE and DELETE on the edit log. Items carry
no index beyond their id: one on sha256 (random keys) made an add of 200,000 rows 4x slower,
the UNIQUE one on slot cost a third of the rest; labels are selected from the arrays in RAM,
sha256 matches through prefixes in RAM (memory.erasure), and every add checks its slots
against the ones in use (memory.edits) as verify does. Memories made earlier keep those
indexes, unused and harmless.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
from pathlib import Path
from typing import Iterable

from procmem.core.atomic import fsync_dir
from procmem.core.clock import utc_now
from procmem.memory.errors import CorruptStoreError

FORMAT = 2
SQLITE_NAME = "memory.sqlite"
JSON_NAME = "memory.json"
INDEX_JSON = "index.json"
VECTORS_NAME = "vectors.f32"
LOCK_NAME = "memory.lock"
RECEIPTS_DIR = "receipts"

SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE items(
    id INTEGER PRIMARY KEY, label INTEGER NOT NULL, source TEXT,
    sha256 TEXT NOT NULL, slot INTEGER NOT NULL, version INTEGER NOT NULL);
CREATE TABLE label_names(label INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE edits(
    seq INTEGER PRIMARY KEY AUTOINCREMENT, version INTEGER NOT NULL, time TEXT NOT NULL,
    op TEXT NOT NULL, count INTEGER NOT NULL, detail TEXT NOT NULL);
CREATE TRIGGER edits_no_update BEFORE UPDATE ON edits
    BEGIN SELECT RAISE(ABORT, 'the edit log is append-only'); END;
CREATE TRIGGER edits_no_delete BEFORE DELETE ON edits
    BEGIN SELECT RAISE(ABORT, 'the edit log is append-only'); END;
CREATE TABLE prune_stats(
    id INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
    wrong INTEGER NOT NULL, votes INTEGER NOT NULL);
CREATE TABLE residuals(id INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE);
CREATE TABLE pending_erasures(version INTEGER PRIMARY KEY, record TEXT NOT NULL);
"""


def build_database(target: Path, fill) -> None:
    """Write a new database at `target` from the schema, `fill(conn)` adding its rows, under
    a temporary name (no journal: a killed build leaves only a temporary that the next open
    sweeps), fsynced, then renamed into place: a database is never half made. The WAL of a
    database it replaces must be checkpointed and closed by then: it is deleted."""
    tmp = target.with_name(f".{target.name}.build.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    conn = sqlite3.connect(tmp, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.executescript(SCHEMA)
        conn.execute("BEGIN")
        fill(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.close()
        tmp.unlink(missing_ok=True)
        raise
    conn.close()
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    for journal in (f"{target}-wal", f"{target}-shm"):  # they belong to the file replaced
        with contextlib.suppress(FileNotFoundError):
            os.unlink(journal)
    os.replace(tmp, target)
    fsync_dir(target.parent)


def create_database(path: Path, meta: dict[str, str], detail: dict) -> None:
    """`path`/memory.sqlite with the settings `meta` and the 'create' edit (`detail`)."""
    def fill(conn):
        conn.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
        log_edit(conn, 0, "create", 0, detail, time=meta["created"])

    build_database(path / SQLITE_NAME, fill)


def lock_writer(path: Path) -> int | None:
    """An fd holding memory.lock exclusively, or None when another process holds it (or the
    directory cannot be written). The kernel drops the lock when its holder dies."""
    try:
        fd = os.open(path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except OSError:
        os.close(fd)
        return None


def connect(db: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """Open memory.sqlite with the store's pragmas (autocommit: edits use `transaction`)."""
    try:
        if read_only:
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None)
        else:
            conn = sqlite3.connect(db, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA secure_delete=ON")
        conn.execute("SELECT count(*) FROM meta").fetchone()
    except sqlite3.DatabaseError as e:
        raise CorruptStoreError(f"{db} is not a readable SQLite database ({e}): restore it "
                                f"from a backup or rebuild the memory from its embeddings")
    return conn


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection):
    """One SQLite write transaction: committed as a whole, or rolled back on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    return row[0] if row else None


def set_meta(conn: sqlite3.Connection, key: str, value) -> None:
    conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, str(value)))


def log_edit(conn: sqlite3.Connection, version: int, op: str, count: int, detail: dict,
             time: str | None = None) -> None:
    """Append one entry to the edit log (inside the edit's transaction)."""
    conn.execute("INSERT INTO edits(version, time, op, count, detail) VALUES (?,?,?,?,?)",
                 (version, time or utc_now(), op, count, json.dumps(detail)))


def checkpoint(conn: sqlite3.Connection) -> None:
    """Move the WAL into the database and truncate it to zero bytes."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()


def rows_by_id(conn: sqlite3.Connection, sql: str, ids: list[int]) -> Iterable[tuple]:
    """Rows of `sql` (holding ``id IN ({})``) for `ids`, queried in chunks of 900 ids to stay
    under SQLite's limit of bound parameters."""
    for chunk in chunks(ids, 900):
        yield from conn.execute(sql.format(",".join("?" * len(chunk))), chunk)


def chunks(seq: list, size: int) -> Iterable[list]:
    for start in range(0, len(seq), size):
        yield seq[start:start + size]
