"""procmem.atomic: all-or-nothing writes with ordinary permissions."""

import os
import stat

import pytest

from procmem.core.atomic import atomic_open, atomic_write_json
from procmem.core.hashing import sha256_bytes, sha256_file


def test_written_file_has_the_mode_open_would_give(tmp_path):
    from procmem.core import atomic

    atomic_write_json(tmp_path / "a.json", {"b": 1, "a": 2})
    assert stat.S_IMODE(os.stat(tmp_path / "a.json").st_mode) == 0o666 & ~atomic._UMASK
    assert stat.S_IMODE(os.stat(tmp_path / "a.json").st_mode) != 0o600 or atomic._UMASK == 0o066
    assert (tmp_path / "a.json").read_text() == '{\n  "a": 2,\n  "b": 1\n}\n'
    assert sha256_file(tmp_path / "a.json") == sha256_bytes((tmp_path / "a.json").read_bytes())


def test_failure_leaves_target_untouched_and_no_temporary(tmp_path):
    target = tmp_path / "x.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as f:
            f.write(b"new, half written")
            raise RuntimeError("killed mid-write")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.bin"]
