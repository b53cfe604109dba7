"""Rendering with a deadline: a `Renderer` in a child process that is killed if a program hangs.

A generated GLSL program can loop for minutes (or forever) and a driver can crash; neither
may take a generation job down. `SafeRenderer.render` has `Renderer.render`'s signature, runs
it in a child started with multiprocessing's 'spawn' method (never fork after EGL init), and
allows `base_timeout + per_image_timeout * N * (pixels / 256^2)` seconds. Those are seconds of
work: the child is killed once that much wall time has passed *and* it has used that much CPU
time (all its threads, from /proc), so a child starved of CPU by other jobs is not killed for
their load (a set made on a busy machine matches a quiet one's); a child that uses no CPU (a
GPU driver's hang) is killed after `HANG_FACTOR` times the deadline. Without /proc the
deadline is wall time. On expiry `RenderTimeout(program_id)` is raised, and the next call
starts a fresh child. Frames come back through shared memory, not pickles.

A `SafeRenderer` pickles as its settings, and a copy inherited by a multiprocessing 'fork'
worker (a DataLoader worker) starts its own child on first use, leaving the parent's alone.
The child ends when its owner dies, even a SIGKILLed one (`generators.lifeline`), so it may be
started from a daemonic process (a DataLoader worker) too.

Note: Mesa llvmpipe cuts any loop nest off after ~65535 iterations, so on CPU a runaway loop
ends up slow rather than infinite; on GPU drivers it may truly hang. The deadline covers both.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import time
import types
from multiprocessing import shared_memory
from multiprocessing import util as mp_util
from typing import Sequence

import numpy as np

from procmem.core.errors import ProcmemError
from procmem.generators import lifeline
from procmem.generators.render import DEFAULT_CACHE_SIZE, Renderer, check_batch, parse_size
from procmem.shaders.program import Program

BASE_TIMEOUT = 10.0
"""Seconds allowed for any call: one compile (~0.15 s on llvmpipe, more under load) with margin."""
PER_IMAGE_TIMEOUT = 0.25
"""Seconds per 256x256 image on top of the base: ~50x a typical llvmpipe frame (~5 ms)."""
STARTUP_TIMEOUT = 120.0
"""Seconds for a child to start Python, import moderngl and create its EGL context."""
HANG_FACTOR = 4.0
"""Wall time, in deadlines, after which a child is killed whatever CPU time it used."""
POLL = 0.25
"""Seconds between checks of the child's CPU time once the wall deadline has passed."""


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process `pid` (every thread), or None where /proc cannot
    tell (not Linux, or the process is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def wait_for_work(conn, pid: int, limit: float) -> bool:
    """True once `conn` has a reply; False when the child has had `limit` seconds of wall time
    and of CPU time, or `HANG_FACTOR * limit` of wall time (module docstring)."""
    start, cpu0 = time.monotonic(), cpu_seconds(pid)
    if conn.poll(limit):
        return True
    while cpu0 is not None:
        elapsed = time.monotonic() - start
        used = cpu_seconds(pid)
        if used is None or used - cpu0 >= limit or elapsed >= HANG_FACTOR * limit:
            return conn.poll(0)
        if conn.poll(min(POLL, HANG_FACTOR * limit - elapsed)):
            return True
    return False


class RenderFailed(ProcmemError):
    """Rendering a program failed in the child process; `program_id` names the program."""

    def __init__(self, program_id: str, message: str):
        self.program_id = program_id
        super().__init__(message)

    def __reduce__(self):
        return (type(self), (self.program_id, str(self)))


class RenderTimeout(RenderFailed):
    """A program did not finish rendering before its deadline (it hangs or is far too slow)."""

    def __init__(self, program_id: str, message: str | None = None, seconds: float = 0.0):
        super().__init__(program_id, message or (
            f"program {program_id} did not finish rendering within {seconds:.1f} s and was "
            "killed: it loops too long for this size; skip it, or raise the deadline "
            "(SafeRenderer(base_timeout=..., per_image_timeout=...))"))


class RenderCrash(RenderFailed):
    """The render child died (driver crash, out of memory) while rendering a program."""


def _child(conn, size, cache_size, device_index, parent_pid) -> None:
    """The child's loop: render requests into the named shared memory, reply with status.
    It ends with its parent (`lifeline`), even in the middle of a hanging render."""
    lifeline.die_with_parent(parent_pid)
    renderer = Renderer(size=size, cache_size=cache_size, device_index=device_index)
    try:
        info = renderer.info
    except BaseException as e:  # noqa: BLE001 (reported to the parent, which raises it)
        conn.send(("error", e))
        return
    conn.send(("ready", info))
    shm = None
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            break
        if msg is None:
            break
        program, times, params, wh, shm_name = msg
        try:
            if shm is None or shm.name != shm_name:
                if shm is not None:
                    shm.close()
                shm = shared_memory.SharedMemory(name=shm_name)
            n = len(times)
            out = np.ndarray((n, wh[1], wh[0], 3), np.uint8, buffer=shm.buf)
            renderer.render(program, times, params, size=wh, out=out)
            del out
            conn.send(("ok", None))
        except BaseException as e:  # noqa: BLE001
            conn.send(("error", e))
    if shm is not None:
        shm.close()
    renderer.close()


def _cleanup(state: dict) -> None:
    """Stop the child and free the shared memory (also run at garbage collection / exit).

    Does nothing in a forked copy of the owner: the child and the memory are the owner's.
    """
    if state.get("owner", os.getpid()) != os.getpid():
        return
    proc, conn, shm = state.get("proc"), state.get("conn"), state.get("shm")
    if proc is not None and proc.is_alive():
        try:
            conn.send(None)
            proc.join(2.0)
        except (OSError, ValueError):
            pass
        if proc.is_alive():
            proc.kill()
            proc.join()
    if conn is not None:
        conn.close()
    if shm is not None:
        shm.close()
        shm.unlink()
    state.clear()


class SafeRenderer:
    """`Renderer.render` in a killable child process with a per-call deadline (contract 2)."""

    def __init__(self, size=256, cache_size: int = DEFAULT_CACHE_SIZE,
                 device_index: int | None = None,
                 base_timeout: float = BASE_TIMEOUT, per_image_timeout: float = PER_IMAGE_TIMEOUT,
                 startup_timeout: float = STARTUP_TIMEOUT):
        self.size = parse_size(size)
        self.cache_size = cache_size
        self.device_index = device_index
        self.base_timeout = float(base_timeout)
        self.per_image_timeout = float(per_image_timeout)
        self.startup_timeout = float(startup_timeout)
        self.restarts = 0
        self.info: dict | None = None
        self._fresh_state()

    def _fresh_state(self) -> None:
        self._owner = os.getpid()
        self._state: dict = {"owner": self._owner}
        # multiprocessing's Finalize also runs when a forked worker exits through os._exit
        self._finalizer = mp_util.Finalize(self, _cleanup, args=(self._state,), exitpriority=10)

    # Travels to other processes as its settings; each process starts its own child.
    def __getstate__(self):
        return {k: getattr(self, k) for k in ("size", "cache_size", "device_index",
                                               "base_timeout", "per_image_timeout",
                                               "startup_timeout")}

    def __setstate__(self, state):
        self.__init__(**state)

    @property
    def child_pid(self) -> int | None:
        """The render child's process id (None before the first render or after a kill)."""
        proc = self._state.get("proc")
        return proc.pid if proc is not None else None

    def deadline(self, n: int, wh: tuple[int, int]) -> float:
        """Seconds allowed to render `n` images of size `wh` (after the child is up)."""
        return self.base_timeout + self.per_image_timeout * n * (wh[0] * wh[1]) / 256**2

    def _start(self) -> None:
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_child, name="procmem-render",
                           args=(child, self.size, self.cache_size, self.device_index,
                                 os.getpid()), daemon=True)
        # The child needs only this module: hide __main__ so 'spawn' does not re-run the
        # caller's script in it (works without an `if __name__ == "__main__":` guard,
        # from stdin and from notebooks).
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            lifeline.start(proc)
        finally:
            sys.modules["__main__"] = main
        child.close()
        self._state.update(proc=proc, conn=parent)
        if not parent.poll(self.startup_timeout):
            self._kill()
            raise RenderFailed("(startup)", f"the render child did not start within "
                               f"{self.startup_timeout:.0f} s; is EGL working? "
                               "(try `python -c \"import moderngl; "
                               "moderngl.create_standalone_context(backend='egl')\"`)")
        try:
            kind, payload = parent.recv()
        except EOFError:
            proc.join(5.0)
            code = proc.exitcode
            self._kill()
            raise RenderFailed("(startup)", f"the render child died on start (exit code "
                               f"{code}); check that EGL works: python -c \"import moderngl; "
                               "moderngl.create_standalone_context(backend='egl')\"") from None
        if kind == "error":
            self._kill()
            raise payload
        self.info = payload

    def _kill(self) -> None:
        proc, conn = self._state.pop("proc", None), self._state.pop("conn", None)
        if proc is not None:
            if proc.is_alive():
                proc.kill()
            proc.join()
        if conn is not None:
            conn.close()

    def _buffer(self, nbytes: int) -> shared_memory.SharedMemory:
        shm = self._state.get("shm")
        if shm is None or shm.size < nbytes:
            if shm is not None:
                shm.close()
                shm.unlink()
            shm = shared_memory.SharedMemory(create=True, size=max(nbytes, 1 << 20))
            self._state["shm"] = shm
        return shm

    def render(self, program: Program, times: Sequence[float], params, size=None) -> np.ndarray:
        """Like `Renderer.render`; raises `RenderTimeout` / `RenderCrash` naming the program."""
        if self._owner != os.getpid():  # forked: the child process belongs to the parent
            self._finalizer.cancel()
            self._fresh_state()
        elif not self._finalizer.still_active():  # used again after close()
            self._fresh_state()
        wh = self.size if size is None else parse_size(size)
        times, params = check_batch(program, times, params)
        n = len(times)
        if n == 0:
            return np.empty((0, wh[1], wh[0], 3), np.uint8)
        if self._state.get("proc") is None or not self._state["proc"].is_alive():
            if self._state.get("proc") is not None:
                self._kill()
                self.restarts += 1
            self._start()
        shm = self._buffer(n * wh[0] * wh[1] * 3)
        conn, proc = self._state["conn"], self._state["proc"]
        limit = self.deadline(n, wh)
        start = time.monotonic()
        try:
            conn.send((program, times, params, wh, shm.name))
            ready = wait_for_work(conn, proc.pid, limit)
            reply = conn.recv() if ready else None
        except (EOFError, OSError, BrokenPipeError):
            proc.join(1.0)
            code = proc.exitcode
            self._kill()
            self.restarts += 1
            raise RenderCrash(program.id, f"the render child crashed while rendering program "
                              f"{program.id} (exit code {code}); it will be restarted: "
                              "skip this program") from None
        if reply is None:
            self._kill()
            self.restarts += 1
            raise RenderTimeout(program.id, seconds=time.monotonic() - start)
        kind, payload = reply
        if kind == "error":
            raise payload
        view = np.ndarray((n, wh[1], wh[0], 3), np.uint8, buffer=shm.buf)
        frames = view.copy()
        del view
        return frames

    def close(self) -> None:
        """Stop the child and free the shared memory (safe to call twice)."""
        self._finalizer()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
