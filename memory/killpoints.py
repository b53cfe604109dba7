"""Named points in the memory's edits where a test can SIGKILL its own process.

`kill_point(name)` kills the calling process with SIGKILL when the environment variable
``PROCMEM_KILL_AT`` equals `name`, so crash tests stop a real add or removal exactly there
(just after the commit, in the middle of an index flush, ...) instead of by timing. Unset, it
costs one dictionary lookup. The names are listed in POINTS.
"""

from __future__ import annotations

import os
import signal

POINTS = (
    "add:slots-written",  # the new records are fsynced, their rows not committed
    "add:committed",  # the rows are committed, the in-RAM state not updated
    "remove:committed",  # the removal and its pending erasure are committed, nothing erased
    "remove:slots-zeroed",  # the records are zeroed, caches not yet rewritten
    "index:flush",  # the new IVF-PQ index cache is in its temporary, not renamed yet
    "remove:checked",  # the checks ran, the receipt is not written
)


def kill_point(name: str) -> None:
    """SIGKILL this process if PROCMEM_KILL_AT names this point."""
    if os.environ.get("PROCMEM_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
