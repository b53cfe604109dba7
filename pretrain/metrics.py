"""A run's scalars, twice: TensorBoard event files and a JSON-lines file (metrics.jsonl).

The JSON lines are for scripts and tests; on resume, lines from steps after the
checkpoint (work the kill threw away) are dropped so the file reads as one clean run.
"""

from __future__ import annotations

import json
from pathlib import Path

from procmem.core.atomic import atomic_write_text

METRICS_NAME = "metrics.jsonl"


class MetricsLog:
    def __init__(self, run_dir: str | Path, resume_step: int, tensorboard: bool = True):
        self.path = Path(run_dir) / METRICS_NAME
        self._truncate_after(resume_step)
        self._file = open(self.path, "a", encoding="utf-8")
        self._tb = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(log_dir=str(Path(run_dir) / "tensorboard"), purge_step=resume_step)

    def _truncate_after(self, step: int) -> None:
        if not self.path.exists():
            return
        keep = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a kill
            if row.get("step", 0) <= step:
                keep.append(line)
        atomic_write_text(self.path, "".join(x + "\n" for x in keep))

    def log(self, step: int, values: dict) -> None:
        row = {"step": step, **{k: (round(v, 8) if isinstance(v, float) else v)
                                for k, v in values.items()}}
        self._file.write(json.dumps(row) + "\n")
        self._file.flush()
        if self._tb is not None:
            for k, v in values.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    self._tb.add_scalar(k, v, step)

    def flush(self) -> None:
        self._file.flush()
        if self._tb is not None:
            self._tb.flush()

    def close(self) -> None:
        self._file.close()
        if self._tb is not None:
            self._tb.close()


def read_metrics(run_dir: str | Path) -> list[dict]:
    """Every row of a run's metrics.jsonl (an empty list when there is none)."""
    path = Path(run_dir) / METRICS_NAME
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
