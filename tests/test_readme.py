"""The README's Python API block runs as written (at its toy sizes), so it cannot go stale."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image

README = Path(__file__).resolve().parents[1] / "README.md"


def _block(heading: str) -> str:
    text = README.read_text()
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_python_api_block_runs(tmp_path, monkeypatch, capsys):
    rng = np.random.default_rng(0)
    for c, colour in enumerate(("red", "blue")):
        (tmp_path / "photos" / colour).mkdir(parents=True)
        for i in range(4):
            img = rng.integers(0, 80, (24, 24, 3), dtype=np.uint8)
            img[..., 2 * c] += 170
            Image.fromarray(img).save(tmp_path / "photos" / colour / f"{i}.png")
    monkeypatch.chdir(tmp_path)
    exec(compile(_block("Python API"), str(README), "exec"), {})
    out = capsys.readouterr().out
    assert "True" in out  # the receipt passed
    assert (tmp_path / "encoders" / "tiny.safetensors").is_file()
    assert list((tmp_path / "mem" / "receipts").glob("*.json"))
