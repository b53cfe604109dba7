"""One pipeline runner: a pipeline is a list of stages with one resume file per run directory.

A stage is (name, key, run): `key` is the data its output depends on (options, and the
summaries of the stages it reads), `run` makes the output and returns its summary (JSON
data). `<out>/<pipeline>-state.json` holds each finished stage's key and summary, written
atomically as the stage ends. Rerunning a pipeline skips every stage whose key is unchanged
and whose output is still complete on disk, and reruns a stage whose key changed (and so
every stage whose key reads its summary). A kill therefore loses at most the stage it hit,
and less where that stage resumes itself (shards per shard, training from its checkpoint).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TextIO


def _always(summary: dict) -> bool:
    return True


@dataclass(frozen=True)
class Stage:
    """One step of a pipeline.

    `key`: plain data, or a function of the summaries of the stages before (by name) that
    returns it; None means the stage always runs and nothing of it is recorded (a report).
    `run(done, previous)`: make the output from `done` (the summaries so far); `previous` is
    this stage's last recorded summary, whatever its key (None the first time).
    `complete(summary)`: whether that summary's output is still on disk.
    `title` is printed as the stage starts, `note(summary)` when it is skipped.
    """

    name: str
    key: Any
    run: Callable[[dict, dict | None], dict]
    complete: Callable[[dict], bool] = _always
    title: str = ""
    note: Callable[[dict], str] = lambda summary: "output complete"


def plain(obj):
    """JSON round trip: what is compared with the resume file is what was written to it."""
    return json.loads(json.dumps(obj, sort_keys=True, default=str))


class Runner:
    """Runs stages in order against `<out>/<pipeline>-state.json`; `skipped` names the
    stages the last `run` found done."""

    def __init__(self, out: str | Path, pipeline: str, stream: TextIO | None = None):
        self.path = Path(out) / f"{pipeline}-state.json"
        self.stream = stream
        self.stages: dict = {}
        self.skipped: set[str] = set()
        if self.path.is_file():
            try:
                self.stages = dict(json.loads(self.path.read_text())["stages"])
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                self.stages = {}  # a damaged resume file only costs recomputation

    def run(self, stages: list[Stage]) -> dict[str, dict]:
        """Every stage's summary by name, each either recorded or made now."""
        names = [s.name for s in stages]
        if len(set(names)) != len(names):
            raise ValueError(f"pipeline {self.path.name}: stage names repeat in {names}")
        done: dict[str, dict] = {}
        for n, stage in enumerate(stages, 1):
            self._say(f"\n[{n}/{len(stages)}] {stage.title}" if stage.title else None)
            done[stage.name] = self._stage(stage, done)
        return done

    def _stage(self, stage: Stage, done: dict) -> dict:
        key = stage.key(done) if callable(stage.key) else stage.key
        entry = self.stages.get(stage.name) or {}
        if key is None:
            return stage.run(done, entry.get("summary"))
        key = plain(key)
        if entry.get("key") == key and stage.complete(entry["summary"]):
            self.skipped.add(stage.name)
            self._say(f"  done already ({stage.note(entry['summary'])}); skipped")
            return entry["summary"]
        summary = plain(stage.run(done, entry.get("summary")))
        self.stages[stage.name] = {"key": key, "summary": summary}
        from procmem.core.atomic import atomic_write_json

        atomic_write_json(self.path, {"stages": self.stages})
        return summary

    def _say(self, text: str | None) -> None:
        if text is not None:
            print(text, file=self.stream or sys.stdout, flush=True)
