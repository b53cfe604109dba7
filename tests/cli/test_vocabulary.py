"""One name per idea: every renamed option still works for one release, with a note naming
the new one; `key=value` overrides are given the same way in every command that takes them."""

import argparse

import numpy as np
import pytest
from PIL import Image

from procmem.cli import build_parser, main, with_implicit_subcommand
from procmem.cli.options import deprecation, parse_args
from procmem.shaders import registry

# (command, the words it needs, old words, the same with the new name, old name, what to use)
RENAMED = [
    ("shaders render", ["lib/a/b", "--out", "a.png"], ["--size", "48"], ["--res", "48"], "--size",
     "--res"),
    ("shaders sheet", ["--out", "s.png"], ["--size", "24"], ["--res", "24"], "--size", "--res"),
    ("shaders sheet", ["--out", "s.png"], ["--n", "3"], ["--frames", "3"], "--n", "--frames"),
    ("generate", ["--out", "o"], ["--num-images", "7"], ["--images", "7"], "--num-images",
     "--images"),
    ("generate", ["--out", "o"], ["--k", "3"], ["--clusters", "3"], "--k", "--clusters"),
    ("shards sheet", ["d", "--out", "s.png"], ["--n", "6"], ["--images", "6"], "--n", "--images"),
    ("shards explain", ["d", "--out", "e.png"], ["--n", "2"], ["--images", "2"], "--n",
     "--images"),
    ("pretrain train", ["--data", "D", "--out", "R"], ["--config", "tiny-cpu"],
     ["--preset", "tiny-cpu"], "--config", "--preset"),
    ("pretrain train", ["--data", "D", "--out", "R"], ["--no-progress"], ["--quiet"],
     "--no-progress", "--quiet"),
    ("eval knn", [], ["--k", "1", "--k", "10"], ["-k", "1", "-k", "10"], "--k", "-k"),
    ("eval privacy", [], ["--k", "5"], ["-k", "5"], "--k", "-k"),
    ("eval segment", [], ["--k", "5"], ["-k", "5"], "--k", "-k"),
    ("eval segment", [], ["--images", "test"], ["--image-dir", "test"], "--images", "--image-dir"),
    ("eval segment", [], ["--masks", "testannot"], ["--mask-dir", "testannot"], "--masks",
     "--mask-dir"),
    ("eval segment", [], ["--size", "224"], ["--res", "224"], "--size", "--res"),
    ("eval compartment", [], ["--run", "R"], ["--out", "R"], "--run", "--out"),
    ("eval orderings", ["--out", "O"], ["--processes", "shaders", "kml"],
     ["--process", "shaders", "--process", "kml"], "--processes", "--process once per value"),
    ("eval orderings", ["--out", "O"], ["--seeds", "0", "1", "a=1"],
     ["--seed", "0", "--seed", "1", "a=1"], "--seeds", "--seed once per value"),
    ("eval orderings", ["--out", "O"], ["--datasets", "cifar10", "nights", "--", "a=1"],
     ["--dataset", "cifar10", "--dataset", "nights", "a=1"], "--datasets",
     "--dataset once per value"),
    ("eval orderings", ["--out", "O"], ["--resolution", "32"], ["--res", "32"], "--resolution",
     "--res"),
    ("eval orderings", ["--out", "O"], ["--max-per-class", "8"], ["--per-class", "8"],
     "--max-per-class", "--per-class"),
    ("demo", [], ["--k", "3"], ["-k", "3"], "--k", "-k"),
    ("demo", [], ["--size", "16"], ["--sheet-res", "16"], "--size", "--sheet-res"),
    ("demo", [], ["--set", "optim.lr=1", "--set", "a=2"], ["optim.lr=1", "a=2"], "--set",
     "a bare key=value argument"),
]
# the options every eval command shares (procmem.cli.eval._common)
for _cmd in ("knn", "linear", "nights", "segment", "privacy", "scaling", "unlearn", "add-classes",
             "paper"):
    RENAMED.append((f"eval {_cmd}", [], ["--run", "R"], ["--out", "R"], "--run", "--out"))
    if _cmd not in ("nights", "segment", "paper"):
        RENAMED += [(f"eval {_cmd}", [], ["--limit-per-class", "20"], ["--per-class", "20"],
                     "--limit-per-class", "--per-class"),
                    (f"eval {_cmd}", [], ["--size", "32"], ["--res", "32"], "--size", "--res")]


def _parse(argv):
    parser = build_parser()
    return vars(parse_args(parser, with_implicit_subcommand(parser, argv)))


@pytest.mark.parametrize("command,needed,old_words,new_words,old,use", RENAMED,
                         ids=[f"{r[0]} {r[4]}" for r in RENAMED])
def test_old_name_warns_and_does_what_the_new_name_does(command, needed, old_words, new_words,
                                                        old, use, capsys):
    argv = command.split() + needed
    new = _parse(argv + new_words)
    assert capsys.readouterr().err == ""
    assert _parse(argv + old_words) == new
    assert capsys.readouterr().err.splitlines() == [deprecation(old, use)] * old_words.count(old)


def test_the_note_names_the_new_option():
    assert deprecation("--config", "--preset") == ("procmem: --config is deprecated, use --preset "
                                                   "(the old name goes in the next release)")


def _aliases(parser, prefix=""):
    """(command, old name) of every hidden option: the deprecated aliases."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _aliases(sub, f"{prefix} {name}".strip())
        elif action.help is argparse.SUPPRESS and action.option_strings:
            yield prefix, action.option_strings[0]


def test_every_deprecated_name_is_tested_above():
    assert set(_aliases(build_parser())) == {(r[0], r[4]) for r in RENAMED}


def test_old_name_behaves_the_same_end_to_end(tmp_path, capsys):
    program = registry.select(None)[0].id
    old, new = tmp_path / "old.png", tmp_path / "new.png"
    assert main(["shaders", "render", program, "--out", str(new), "--res", "40"]) == 0
    assert main(["shaders", "render", program, "--out", str(old), "--size", "40"]) == 0
    assert deprecation("--size", "--res") in capsys.readouterr().err
    assert np.array_equal(np.asarray(Image.open(old)), np.asarray(Image.open(new)))
    assert Image.open(new).size == (40, 40)


@pytest.mark.parametrize("command,options", [
    (["pretrain"], ["--data", "D", "--out", "R"]),
    (["demo"], ["--out", "X"]),
    (["eval", "orderings"], ["--out", "O", "--seed", "0"]),
])
def test_overrides_are_bare_key_value_words_everywhere(command, options):
    trailing = _parse(command + options + ["optim.lr=1e-3", "run.seed=4"])
    assert trailing["overrides"] == ["optim.lr=1e-3", "run.seed=4"]
    assert _parse(command + ["optim.lr=1e-3"] + options + ["run.seed=4"]) == trailing
    assert _parse(command + options + ["--", "optim.lr=1e-3", "run.seed=4"]) == trailing


def test_overrides_between_options_keep_their_order():
    args = _parse(["eval", "orderings", "--out", "O", "--seed", "0", "a=1", "--dataset",
                   "cifar10", "b=2", "--quiet", "c=3"])
    assert args["overrides"] == ["a=1", "b=2", "c=3"] and args["datasets"] == ["cifar10"]
    assert args["seeds"] == ["0"] and args["quiet"]


def test_a_stray_word_is_still_an_error(capsys):
    with pytest.raises(SystemExit) as e:
        _parse(["eval", "knn", "optim.lr=1"])  # eval knn takes no overrides
    assert e.value.code == 2 and "unrecognized arguments: optim.lr=1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _parse(["demo", "--bogus=1"])
