"""The memory directory's SQLite database: file names, tables, triggers, pragmas and settings.

``memory.sqlite`` is the single source of truth (contract 6). It is opened with a WAL journal,
``synchronous=FULL`` (a committed edit survives a power cut), ``secure_delete=ON`` (deleted
cells are zeroed, so a removed vector leaves no bytes behind) and foreign keys on (derived
rows go with their item, ``ON DELETE CASCADE``). The edit log is append-only: triggers refuse
UPDATE and DELETE on it. Settings live in the ``meta`` table as text.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Iterable

from procmem.core.clock import utc_now
from procmem.memory.errors import CorruptStoreError

FORMAT = 1
SQLITE_NAME = "memory.sqlite"
JSON_NAME = "memory.json"
INDEX_JSON = "index.json"

SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE items(
    id INTEGER PRIMARY KEY, label INTEGER NOT NULL, source TEXT,
    sha256 TEXT NOT NULL, vector BLOB NOT NULL, version INTEGER NOT NULL);
CREATE INDEX items_label ON items(label);
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
CREATE TABLE residuals(
    id INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE, value BLOB NOT NULL);
"""


def create_database(path: Path, meta: dict[str, str], detail: dict) -> None:
    """Write `path`/memory.sqlite with the schema, the settings `meta` and the 'create' edit
    (`detail`); the file takes its name only once complete, so a memory is never half made."""
    tmp = path / f".{SQLITE_NAME}.creating"
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
    conn = sqlite3.connect(tmp, isolation_level=None)
    try:
        conn.executescript(SCHEMA)
        conn.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
        log_edit(conn, 0, "create", 0, detail, time=meta["created"])
    finally:
        conn.close()
    os.replace(tmp, path / SQLITE_NAME)


def connect(db: Path) -> sqlite3.Connection:
    """Open memory.sqlite with the store's pragmas (autocommit: edits use `transaction`)."""
    try:
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA secure_delete=ON")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
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


def rows_by_id(conn: sqlite3.Connection, sql: str, ids: list[int]) -> Iterable[tuple]:
    """Rows of `sql` (holding ``id IN ({})``) for `ids`, queried in chunks of 900 ids to stay
    under SQLite's limit of bound parameters."""
    for chunk in chunks(ids, 900):
        yield from conn.execute(sql.format(",".join("?" * len(chunk))), chunk)


def chunks(seq: list, size: int) -> Iterable[list]:
    for start in range(0, len(seq), size):
        yield seq[start:start + size]
