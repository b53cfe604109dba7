"""The `procmem` command itself: dispatch, version, the command list, `pretrain`'s two forms."""

import argparse
import subprocess
import sys

import pytest

from procmem import __version__
from procmem.cli import build_parser, main, with_implicit_subcommand


def test_version(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert __version__ in capsys.readouterr().out


def _registered(parser: argparse.ArgumentParser, prefix: str = ""):
    """(command path, one-line help) of every parser registered under `parser`."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield prefix + name, helps.get(name)
                yield from _registered(sub, prefix + name + " ")


def test_help_lists_every_command_with_its_one_line_help():
    parser = build_parser()
    lines = parser.format_help().splitlines()
    registered = list(_registered(parser))
    assert len(registered) > 30 and ("memory build" in dict(registered))
    assert {"pretrain train", "pretrain export", "eval knn", "shards verify"} <= dict(registered).keys()
    for path, text in registered:
        assert text, f"`procmem {path}` has no one-line help"
        rows = [ln for ln in lines if ln.split(text)[0].strip() == path]
        assert len(rows) == 1 and rows[0].rstrip().endswith(text), f"{path}: {text!r}"
        assert len(rows[0]) <= 110, f"`procmem {path}`'s line wraps on a normal terminal"


def test_module_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "procmem", "--help"],
                         capture_output=True, text=True, check=True)
    assert "usage: procmem" in out.stdout and "  memory classify  " in out.stdout


def test_bare_pretrain_means_pretrain_train():
    parser = build_parser()
    words = ["--preset", "tiny-cpu", "--data", "D", "--out", "R", "optim.lr=1e-3"]
    bare = with_implicit_subcommand(parser, ["pretrain", *words])
    assert bare == ["pretrain", "train", *words]
    assert vars(parser.parse_args(bare)) == vars(parser.parse_args(["pretrain", "train", *words]))
    for kept in (["pretrain", "export", "RUN"], ["pretrain", "--help"], ["pretrain"], ["memory"]):
        assert with_implicit_subcommand(parser, kept) == kept


def test_pretrain_export_is_a_subcommand_with_its_own_help(capsys):
    with pytest.raises(SystemExit) as e:
        main(["pretrain", "export", "--help"])
    text = capsys.readouterr().out
    assert e.value.code == 0 and "usage: procmem pretrain export [-h] --out NAME" in text
    assert "--readout {cls,grid2,grid4}" in text and "--fp16" in text
    assert "Encoder.load(NAME)" in text
    with pytest.raises(SystemExit) as e:
        main(["pretrain", "export", "RUN"])
    assert e.value.code == 2 and "--out" in capsys.readouterr().err


def test_export_of_a_missing_run_is_a_clear_error(tmp_path, capsys):
    assert main(["pretrain", "export", str(tmp_path / "nope"), "--out", str(tmp_path / "e")]) == 2
    assert "procmem pretrain --preset" in capsys.readouterr().err
