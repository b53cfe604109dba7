"""Where real evaluation data lives.

Real images are never copied into the repository: they are read from a directory given
by the PROCMEM_DATA environment variable, or else from `../shared/data` beside the
checkout (the layout described in that folder's README.md).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_data_dir() -> Path | None:
    """The real-data directory, or None when it is not present on this machine."""
    env = os.environ.get("PROCMEM_DATA")
    candidates = [Path(env)] if env else [REPO_ROOT.parent / "shared" / "data"]
    for c in candidates:
        if c.is_dir():
            return c
    return None
