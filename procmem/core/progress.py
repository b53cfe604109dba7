"""Progress of long jobs: a tqdm bar on a terminal, plain lines everywhere else.

A Slurm job's log, a pipe or a file gets one line every `every` seconds (and at the end):
`DINO: 120/300 step (40%), 2.1 step/s, ETA 1m26s, loss=6.81`, so a job that runs for hours
says where it is without a terminal. With `log=PATH` the same lines are also appended to
that file, whatever stderr is. `PROCMEM_PROGRESS=plain|bar|off` overrides the choice, and
`PROCMEM_PROGRESS_EVERY=SECONDS` the interval of jobs that do not set their own.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Iterable

from procmem.core.errors import ProcmemError

DEFAULT_EVERY = 30.0  # seconds between plain lines


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def _every() -> float:
    text = os.environ.get("PROCMEM_PROGRESS_EVERY", "").strip()
    try:
        return float(text) if text else DEFAULT_EVERY
    except ValueError:
        raise ProcmemError(f"PROCMEM_PROGRESS_EVERY={text!r}: give seconds between progress "
                           "lines, e.g. 60") from None


def _mode(disable: bool) -> str:
    if disable:
        return "off"
    forced = os.environ.get("PROCMEM_PROGRESS", "").strip().lower()
    if forced in ("plain", "bar", "off"):
        return forced
    return "bar" if sys.stderr.isatty() else "plain"


class Progress:
    """`update(n)`, `set_postfix(**values)`, `close()`; iterate it to wrap an iterable."""

    def __init__(self, iterable: Iterable | None = None, total: int | None = None,
                 desc: str = "", unit: str = "it", initial: int = 0, disable: bool = False,
                 log: str | os.PathLike | None = None, every: float | None = None,
                 leave: bool = True):
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc, unit
        self.n = self.start_n = initial
        self.mode = _mode(disable)
        self.every = _every() if every is None else every
        self.log = Path(log) if log else None
        self.postfix: dict = {}
        self.t0 = self.t_last = time.monotonic()
        self.closed = False
        self.bar = None
        if self.mode == "bar":
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=initial, desc=desc, unit=unit,
                            dynamic_ncols=True, leave=leave)

    def __iter__(self):
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.bar is not None:
            self.bar.update(n)
        now = time.monotonic()
        if now - self.t_last >= self.every:
            self.t_last = now
            self._line()

    def set_postfix(self, **values) -> None:
        self.postfix = {k: v for k, v in values.items()}
        if self.bar is not None:
            self.bar.set_postfix(**values)

    def line(self) -> str:
        """The plain progress line as it stands now."""
        elapsed = max(time.monotonic() - self.t0, 1e-9)
        rate = (self.n - self.start_n) / elapsed
        done = f"{self.n}/{self.total}" if self.total else f"{self.n}"
        parts = [f"{done} {self.unit}"]
        if self.total:
            parts[0] += f" ({100 * self.n / self.total:.0f}%)"
        parts.append(f"{rate:.3g} {self.unit}/s")
        if self.total and rate > 0 and self.n < self.total:
            parts.append(f"ETA {_duration((self.total - self.n) / rate)}")
        else:
            parts.append(f"elapsed {_duration(elapsed)}")
        parts += [f"{k}={v}" for k, v in self.postfix.items()]
        return f"{self.desc or 'progress'}: " + ", ".join(parts)

    def _line(self) -> None:
        text = self.line()
        if self.mode == "plain":
            print(text, file=sys.stderr, flush=True)
        if self.log is not None:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            with open(self.log, "a", encoding="utf-8") as f:
                f.write(f"{stamp} {text}\n")

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.bar is not None:
            self.bar.close()
        if self.mode != "off" or self.log is not None:
            self._line()


def progress(iterable: Iterable | None = None, **kwargs) -> Progress:
    """A `Progress` (see the class); `progress(range(n), desc="embed", unit="batch")`."""
    return Progress(iterable, **kwargs)
