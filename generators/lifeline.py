"""Child processes that end when their parent dies, and write nothing after it.

A SIGKILL of a parent runs none of its cleanup, so its children (a job's pool workers, each
render child) would live on and keep writing shards (issue 12, finding 6). Every child calls
`die_with_parent(parent_pid)` first. On Linux the kernel then sends it SIGKILL when the
parent dies (`prctl(PR_SET_PDEATHSIG)`, through ctypes); elsewhere a daemon thread polls the
parent pid. The signal fires when the *thread* that started the child ends, not the whole
process, so `start` starts children from the main thread or one long-lived starter thread.
A child that found its parent gone before the signal was armed exits at once, and a writer
calls `ensure_parent` before it publishes a file (rename into place, manifest update).
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
import time
from concurrent.futures import Future

from procmem.core.errors import ProcmemError

PR_SET_PDEATHSIG = 1
"""prctl option: the signal this process gets when its parent thread dies (linux/prctl.h)."""
POLL_S = 0.2
"""Seconds between parent checks where the kernel cannot signal the parent's death."""

_parent: int | None = None  # the parent this process must outlive, once die_with_parent ran


class ParentGone(ProcmemError):
    """This child's parent died: it must stop and publish nothing."""


def _arm_kernel_signal() -> bool:
    """Ask Linux for SIGKILL on the parent's death; False where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL), ctypes.c_ulong(0),
                          ctypes.c_ulong(0), ctypes.c_ulong(0)) == 0
    except (OSError, AttributeError):
        return False


def _end_now() -> None:
    os.kill(os.getpid(), signal.SIGKILL)  # what the kernel's parent-death signal would do


def _poll(parent_pid: int, every: float) -> None:
    while os.getppid() == parent_pid:
        time.sleep(every)
    _end_now()


def die_with_parent(parent_pid: int, poll_s: float = POLL_S) -> None:
    """Make this process end (SIGKILL) when `parent_pid`, the process that started it, dies.

    Call it first thing in a child, with the pid its parent passed down: a parent that died
    before this call is caught by comparing `os.getppid()` with it.
    """
    global _parent
    _parent = parent_pid
    if not _arm_kernel_signal():
        threading.Thread(target=_poll, args=(parent_pid, poll_s), daemon=True,
                         name="procmem-lifeline").start()
    if os.getppid() != parent_pid:
        _end_now()


def parent_alive() -> bool:
    """False when this process outlived the parent given to `die_with_parent` (True if none)."""
    return _parent is None or os.getppid() == _parent


def ensure_parent(what: str) -> None:
    """Raise ParentGone before `what` is published by a child whose parent is gone."""
    if not parent_alive():
        raise ParentGone(f"the parent process {_parent} is gone: not publishing {what}")


# --- starting children ------------------------------------------------------------------------

_starter: dict = {}  # pid -> the queue of this process's starter thread (none after a fork)
_starter_lock = threading.Lock()


def _starter_loop(jobs: queue.SimpleQueue) -> None:
    while True:
        proc, done = jobs.get()
        try:
            _start_here(proc)
            done.set_result(None)
        except BaseException as e:  # noqa: BLE001 (handed to the caller, which raises it)
            done.set_exception(e)


def _start_here(proc: mp.process.BaseProcess) -> None:
    # multiprocessing refuses children of a daemonic process (a DataLoader worker) because
    # nothing would end them when it is terminated; a child that calls die_with_parent ends
    # with it, so the flag is lifted for the start only.
    me = mp.current_process()
    daemonic = me.daemon
    if daemonic:
        me.daemon = False
    try:
        proc.start()
    finally:
        if daemonic:
            me.daemon = True


def start(proc: mp.process.BaseProcess) -> None:
    """Start `proc` (whose target calls `die_with_parent(os.getpid())` of this process) from a
    thread that lives as long as this process, so the child's parent-death signal fires on the
    death of the process, not of a short-lived thread (a prefetching thread pool)."""
    if threading.current_thread() is threading.main_thread():
        _start_here(proc)
        return
    with _starter_lock:
        jobs = _starter.get(os.getpid())
        if jobs is None:
            jobs = _starter[os.getpid()] = queue.SimpleQueue()
            threading.Thread(target=_starter_loop, args=(jobs,), daemon=True,
                             name="procmem-starter").start()
    done: Future = Future()
    jobs.put((proc, done))
    done.result()
