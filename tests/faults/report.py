"""The fault campaigns' one report: `scenario | trials | survived | failed`, then what failed.

Every campaign (generate, memory, pretrain, byte scans, make faults as a whole) counts its
trials in `Outcome`s and prints them with `print_report`, so their tables read alike and
docs/reliability.md can take them as they are.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field


@dataclass
class Outcome:
    """One scenario's trials: how many, how many survived, what went wrong in the others."""

    scenario: str
    key: str = ""  # its name in `make faults ARGS="--only KEY"`
    trials: int = 0
    survived: int = 0
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def record(self, problem: str | None, trial: str = "") -> None:
        """Count one trial: `problem` None when it survived, else what went wrong."""
        self.trials += 1
        if problem:
            self.failures.append(f"{trial}: {problem}" if trial else problem)
        else:
            self.survived += 1

    @property
    def failed(self) -> int:
        return self.trials - self.survived


def log(message: str) -> None:
    """A progress line on stderr (a campaign's stdout is its report)."""
    print(message, file=sys.stderr, flush=True)


def machine() -> str:
    """The date, the CPU count and the load: what a recorded run must say it ran under."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, load average {load}"


def markdown(header: tuple[str, ...], rows: list[tuple]) -> str:
    """A markdown table (`|` inside a cell escaped), as docs/reliability.md holds them."""
    def line(cells):
        return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

    return "\n".join([line(header), "|" + "---|" * len(header), *map(line, rows)])


def table(outcomes: list[Outcome]) -> str:
    """The markdown table of `outcomes`: scenario | trials | survived | failed."""
    return markdown(("scenario", "trials", "survived", "failed"),
                    [(o.scenario, o.trials, o.survived, o.failed) for o in outcomes])


def print_report(title: str, outcomes: list[Outcome]) -> int:
    """Print the title (with date and load), the table, every failure and the distinct notes
    with their counts; return the exit status: 1 if any trial failed (or none ran), else 0."""
    print(f"{title}, {machine()}")
    print(table(outcomes))
    for o in outcomes:
        for f in o.failures:
            print(f"failed: {o.scenario}: {f}")
    for o in outcomes:
        for n in sorted(set(o.notes)):
            count = o.notes.count(n)
            print(f"note{f' ({count} trials)' if count > 1 else ''}: {o.key or o.scenario}: {n}")
    if any(o.seconds for o in outcomes):
        print("seconds: " + ", ".join(f"{o.key or o.scenario} {o.seconds:.0f}" for o in outcomes))
    return 1 if any(o.failed or not o.trials for o in outcomes) else 0
