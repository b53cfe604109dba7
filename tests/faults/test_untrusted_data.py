"""Data never becomes a command or a path outside its folder, and bad data ends a run cleanly.

Issue 12 items 5 and 7: a manifest whose shard name is `pipe:CMD` made `procmem pretrain`
run CMD through WebDataset; `/abs` or `../x` made readers open files outside the set; a set
whose every sample is corrupt made pretraining spin forever with no step and no error.
"""

from __future__ import annotations

import json
import time

import pytest

from procmem.cli import main
from procmem.generators import shards as sh
from procmem.pretrain.config import load_config
from procmem.pretrain.data import DataError, worker_message
from procmem.pretrain.train import pretrain
from tests.faults.baddata import corrupt_every_sample, rename_first_shard
from tests.pretrain.tinydata import TINY_OVERRIDES, write_tiny_shards


@pytest.mark.parametrize("name", ["pipe:touch {canary}", "/etc/passwd", "../outside.tar",
                                  "sub/x.tar", "file:x.tar", "..", ".hidden.tar", ""])
def test_a_manifest_naming_anything_but_a_plain_file_is_refused_by_every_reader(
        tmp_path, name, capsys):
    d = write_tiny_shards(tmp_path / "set", shards=2, per_shard=4)
    canary = tmp_path / "canary"
    (tmp_path / "outside.tar").write_bytes((d / "shaders-000000.tar").read_bytes())
    rename_first_shard(d, name.format(canary=canary))
    with pytest.raises(sh.ShardError, match="shard name .* is not a plain file name"):
        sh.read_manifest(d)
    with pytest.raises(sh.ShardError, match="not a plain file name"):
        list(sh.iter_images(d, 2))
    cfg = load_config(None, TINY_OVERRIDES + ["schedule.max_steps=1"])
    with pytest.raises(sh.ShardError, match="not a plain file name"):
        pretrain(cfg, str(d), tmp_path / "run", progress=False)
    assert main(["shards", "verify", str(d)]) == 2
    assert "not a plain file name" in capsys.readouterr().err
    time.sleep(0.2)
    assert not canary.exists(), "a command named by the manifest ran"
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


@pytest.mark.parametrize("field", ["sha256", "name", "count", "index"])
def test_a_manifest_entry_without_a_field_is_a_clear_error(tmp_path, field):
    d = write_tiny_shards(tmp_path / "set", shards=1, per_shard=2)
    m = json.loads((d / "manifest.json").read_text())
    del m["shards"][0][field]
    (d / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(sh.ShardError, match=f"no valid '{field}'.*rerun the generate command"):
        sh.read_manifest(d)


def test_a_set_whose_every_sample_is_corrupt_stops_training_with_an_error(tmp_path):
    d = corrupt_every_sample(write_tiny_shards(tmp_path / "set", shards=3, per_shard=4))
    cfg = load_config(None, TINY_OVERRIDES + ["schedule.max_steps=2", "data.max_bad_samples=40"])
    t0 = time.monotonic()
    with pytest.warns(UserWarning), pytest.raises(DataError, match=r"40 samples in a row could "
                                                   r"not be read.*procmem shards verify"):
        pretrain(cfg, str(d), tmp_path / "run", progress=False)
    assert time.monotonic() - t0 < 60


def test_a_worker_error_keeps_its_message_without_the_traceback_text():
    wrapped = DataError("Caught DataError in DataLoader worker process 0.\nOriginal Traceback "
                        "(most recent call last):\n  File \"x.py\", line 1\n"
                        "procmem.pretrain.data.DataError: --data /d: 40 samples in a row")
    assert worker_message(wrapped) == "--data /d: 40 samples in a row"
    assert worker_message(DataError("--data /d: plain")) == "--data /d: plain"
