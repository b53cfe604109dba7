"""A process tree found by an inherited environment marker, and a directory's listings: what
the parent-death tests and the fault campaigns compare before and after a kill; and the one
way they run a `procmem` command."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MARK = "PROCMEM_TEST_TREE"


def state(pid: str) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def marked(tag: str) -> list[int]:
    """Live (not zombie) processes whose environment carries MARK=tag."""
    found, needle = [], f"{MARK}={tag}".encode()
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if needle in env and state(pid) not in (None, "Z"):
            found.append(int(pid))
    return found


def listing(d: Path) -> dict:
    """Every file, temporaries included: name -> (size, mtime)."""
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in d.iterdir()}


def visible(d: Path) -> dict:
    """The published files (tars, manifest) with their bytes' hash, temporaries left out."""
    from procmem.core.hashing import sha256_file

    return {p.name: sha256_file(p) for p in d.iterdir() if not p.name.startswith(".")}


def parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def gone(tag: str, timeout: float = 5.0) -> bool:
    """Wait up to `timeout` s for every process marked `tag` to end; True when none is left."""
    deadline = time.time() + timeout
    while marked(tag) and time.time() < deadline:
        time.sleep(0.05)
    return not marked(tag)


def start(args: list[str], tag: str, stderr=subprocess.DEVNULL) -> subprocess.Popen:
    """`python -m procmem ARGS` with the marker in its environment (inherited by its tree)."""
    env = dict(os.environ, PYTHONPATH=str(REPO), **{MARK: tag})
    return subprocess.Popen([sys.executable, "-m", "procmem", *args], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=stderr, text=True)


# `procmem ARGS` with the shader library at a given folder (registry.LIBRARY_ROOT, which a job
# also passes to its pool workers)
WITH_LIBRARY = """
import sys
from procmem.shaders import registry
registry.LIBRARY_ROOT = sys.argv[1]
from procmem.cli import main
sys.exit(main(sys.argv[2:]))
"""


def procmem(args: list[str], timeout: float = 600, library: Path | None = None,
            **env: str) -> subprocess.CompletedProcess:
    """Run `python -m procmem ARGS` to its end (text output captured), with the shader library
    at `library` if given and `env` added to the environment (e.g. PROCMEM_KILL_AT)."""
    head = ["-m", "procmem"] if library is None else ["-c", WITH_LIBRARY, str(library)]
    return subprocess.run([sys.executable, *head, *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout,
                          env=dict(os.environ, PYTHONPATH=str(REPO), **env))
