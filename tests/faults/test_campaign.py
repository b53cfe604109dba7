"""The fault campaign's own parts (`make faults`, tests/faults/campaign.py): its byte scan at
the issue's smallest memory and every removed share, its report, its choice of scenarios,
and a missing or foreign receipt answered with a clear error (once a traceback)."""

from __future__ import annotations

import pytest

from tests.faults import bad_inputs, byte_scans
from tests.faults.campaign import chosen
from tests.faults.report import Outcome, print_report


@pytest.mark.parametrize("fraction", byte_scans.FRACTIONS)
def test_a_removal_of_any_share_leaves_no_byte_of_a_removed_vector(tmp_path, fraction):
    """Issue 12, finding 1, at 2,000 items: `memory remove --ids @FILE` of 1%, 10%, 50% or 90%
    leaves no 64-byte piece of a removed vector in any file, and the scan finds the kept ones."""
    problem, row = byte_scans.scan(tmp_path / "m", 2_000, fraction)
    assert problem is None
    assert row[1] == f"{round(2_000 * fraction):,} ({fraction:.0%})" and row[-1] == 0


def test_the_report_counts_every_trial_and_fails_on_any_failure(capsys):
    ok, bad = Outcome("kills", "k"), Outcome("a|b", "ab")
    ok.record(None)
    bad.record(None)
    bad.record("lost 3 ids", "trial 1")
    assert print_report("t", [ok]) == 0
    assert print_report("t", [ok, bad]) == 1
    out = capsys.readouterr().out
    assert "| a\\|b | 2 | 1 | 1 |" in out and "failed: a|b: trial 1: lost 3 ids" in out
    assert print_report("t", [Outcome("ran nothing")]) == 1


def test_only_names_a_scenario_or_a_group():
    assert chosen(["memory-flush", "pretrain"]) == ["memory-flush", "pretrain"]
    assert chosen(["generate"]) == ["generate-parent-1", "generate-parent-2", "generate-worker"]
    assert chosen(["scan"]) == ["scan-2000", "scan-10000", "scan-100000"]
    with pytest.raises(SystemExit, match="no such scenario"):
        chosen(["memory-nope"])


def test_a_missing_or_foreign_receipt_is_a_clear_error():
    outcome, rows = bad_inputs.run(only="receipt")
    assert outcome.trials == 2 and outcome.failures == [], outcome.failures
