"""The `procmem` command itself: dispatch, version, error reporting."""

import subprocess
import sys

import pytest

from procmem import __version__
from procmem.cli import build_parser, main


def test_version_and_help_list_every_stage(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert __version__ in capsys.readouterr().out
    helptext = build_parser().format_help()
    assert "procmem" in helptext


def test_module_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "procmem", "--help"],
                         capture_output=True, text=True, check=True)
    assert "usage: procmem" in out.stdout
