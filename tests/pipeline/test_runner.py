"""`pipeline.runner`: a pipeline killed mid-stage resumes from its one resume file, skipping
the finished stages; a stage whose key changed runs again, and so do the stages reading it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap

import pytest

from procmem.pipeline.runner import Runner, Stage

TOY = textwrap.dedent('''
    import os, signal, sys
    from pathlib import Path
    from procmem.pipeline.runner import Runner, Stage

    out, size = Path(sys.argv[1]), int(sys.argv[2])

    TEXT = {"a": lambda done: f"a:{size}", "b": lambda done: "b:" + done["a"]["text"],
            "c": lambda done: "c"}

    def make(name):
        def run(done, previous):
            if name == "b" and not (out / "b.killed").exists():
                (out / "b.killed").write_text("")
                os.kill(os.getpid(), signal.SIGKILL)  # killed in the middle of stage b
            text = TEXT[name](done)
            (out / f"{name}.txt").write_text(text)
            with open(out / "ran", "a") as f:
                f.write(name + "\\n")
            return {"file": str(out / f"{name}.txt"), "text": text}
        return run

    def output(s):
        return Path(s["file"]).is_file()

    Runner(out, "toy").run([
        Stage("a", {"size": size}, make("a"), output),
        Stage("b", lambda done: {"a": done["a"]["text"]}, make("b"), output),
        Stage("c", {"fixed": 1}, make("c"), output),
    ])
''')


def test_a_killed_pipeline_resumes_and_reruns_what_changed(tmp_path):
    script = tmp_path / "toy.py"
    script.write_text(TOY)
    out = tmp_path / "out"
    out.mkdir()

    def toy(size: int) -> list[str]:
        """Run the toy pipeline; the stages that ran, in order."""
        (out / "ran").unlink(missing_ok=True)
        p = subprocess.run([sys.executable, str(script), str(out), str(size)],
                           capture_output=True, text=True)
        assert p.returncode in (0, -signal.SIGKILL), p.stderr
        return (out / "ran").read_text().split() if (out / "ran").is_file() else []

    def recorded() -> dict:
        return json.loads((out / "toy-state.json").read_text())["stages"]

    assert toy(1) == ["a"]  # killed in b: a is recorded, b is not
    assert list(recorded()) == ["a"]
    assert toy(1) == ["b", "c"]  # resumed: a skipped
    assert toy(1) == []  # nothing left to do
    before = recorded()
    assert toy(2) == ["a", "b"]  # a's key changed, and b's key reads a's summary; c is unchanged
    after = recorded()
    assert after["c"] == before["c"] and after["b"]["summary"]["text"] == "b:a:2"
    (out / "c.txt").unlink()  # an output gone from disk: that stage alone runs again
    assert toy(2) == ["c"]
    assert sorted(p.name for p in out.iterdir() if p.suffix == ".json") == ["toy-state.json"]
    (out / "toy-state.json").write_text("{not json")  # a damaged resume file: recompute
    assert toy(2) == ["a", "b", "c"]


def test_a_stage_sees_its_last_summary_and_a_report_stage_always_runs(tmp_path, capsys):
    seen = []

    def count(done, previous):
        seen.append(previous)
        return {"runs": (previous or {"runs": 0})["runs"] + 1}

    def stages(key):
        return [Stage("count", key, count, title="counting", note=lambda s: f"{s['runs']} runs"),
                Stage("report", None, lambda done, previous: {"of": done["count"]["runs"]})]

    assert Runner(tmp_path, "p").run(stages(1))["report"] == {"of": 1}
    runner = Runner(tmp_path, "p")
    assert runner.run(stages(1))["report"] == {"of": 1} and runner.skipped == {"count"}
    assert "[1/2] counting\n  done already (1 runs); skipped" in capsys.readouterr().out
    assert Runner(tmp_path, "p").run(stages(2))["count"] == {"runs": 2}
    assert seen == [None, {"runs": 1}]  # the rerun under a new key saw the old summary
    assert set(json.loads((tmp_path / "p-state.json").read_text())["stages"]) == {"count"}
    with pytest.raises(ValueError, match="stage names repeat"):
        Runner(tmp_path, "p").run(stages(1) * 2)
