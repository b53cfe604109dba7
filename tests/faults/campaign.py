"""`make faults`: issue 12's whole fault campaign in one run that anyone can repeat.

Run: .venv/bin/python -m tests.faults.campaign [--trials N] [--quick] [--only SCENARIO ...]
(`make faults ARGS="--quick"`). SIGKILL trials of `generate` (the parent with 1 and 2 pool
workers, one pool worker), of memory adds and removals (at random moments in a loop, and
through the real commands at the named points: after the records are written, just after the
commit, during the IVF-PQ index flush, ...), of `pretrain` (then resumed); byte scans after
uninterrupted removals of 1/10/50/90% of memories of 2,000 to 100,000 items; and every bad
input issue 12 names, through the real commands. Prints scenario | trials | survived |
failed, what failed, the scans and the bad-input answers; exits 1 on any failure. Not part
of `make test` (the deterministic cases are); docs/reliability.md records a run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from tests.faults import bad_inputs, byte_scans, generate_campaign, memory_points, pretrain_kills
from tests.faults.proctree import REPO
from tests.faults.report import machine, markdown, print_report
from tests.memory import kill_campaign

SCENARIOS = {
    "generate-parent-1": "SIGKILL of `generate --workers 1` at a random moment, then the rerun",
    "generate-parent-2": "SIGKILL of only the parent of `generate --workers 2`, then the rerun",
    "generate-worker": "SIGKILL of one pool worker of `generate --workers 2`, then the rerun",
    "memory-loop-flat": "SIGKILL of an add/remove loop at a random moment (flat index)",
    "memory-loop-ivfpq": "the same on an IVF-PQ memory",
    **{k: v[0] for k, v in memory_points.SCENARIOS.items()},
    "pretrain": pretrain_kills.NAME,
    "scan-2000": "byte scans after removals from 2,000-item memories",
    "scan-10000": "the same at 10,000 items, flat and ivfpq",
    "scan-100000": "the same at 100,000 items (left out by --quick)",
    "bad-input": "every bad input of issue 12 through the real commands",
}


def chosen(only: list[str] | None) -> list[str]:
    """The scenario keys `--only` names: a key, or a group such as `generate` or `memory`."""
    if not only:
        return list(SCENARIOS)
    keys = [k for k in SCENARIOS if any(k == o or k.startswith(o + "-") for o in only)]
    if not keys:
        raise SystemExit(f"--only {' '.join(only)}: no such scenario; choose from "
                         f"{', '.join(SCENARIOS)} or a group before a '-' (generate, memory, scan)")
    return keys


def commit() -> str:
    res = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True,
                         text=True)
    return res.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="scenarios: " + "; ".join(f"{k}: {v}" for k, v in SCENARIOS.items()))
    ap.add_argument("--trials", type=int, default=None,
                    help="SIGKILL trials per scenario (default 20; 3 with --quick)")
    ap.add_argument("--quick", action="store_true",
                    help="3 trials per scenario and no 100,000-item scans: a few minutes, a smoke test")
    ap.add_argument("--only", nargs="+", metavar="SCENARIO",
                    help="run only these scenarios (keys below, or a group: generate, memory, scan)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the kill moments")
    args = ap.parse_args(argv)
    trials = args.trials or (3 if args.quick else 20)
    keys = chosen(args.only)
    if args.quick:
        keys = [k for k in keys if k != "scan-100000"]
    t0 = time.perf_counter()
    print(f"started {machine()}", flush=True)
    outcomes, scans, answers = [], [], []

    def wanted(prefix: str) -> list[str]:
        return [k.removeprefix(prefix) for k in keys if k.startswith(prefix)]

    if wanted("generate-"):
        outcomes += generate_campaign.run(trials, args.seed, wanted("generate-"))
    if wanted("memory-loop-"):
        outcomes += kill_campaign.run(trials, wanted("memory-loop-"))
    if any(k in memory_points.SCENARIOS for k in keys):
        outcomes += memory_points.run(trials, [k for k in keys if k in memory_points.SCENARIOS])
    if "pretrain" in keys:
        outcomes += pretrain_kills.run(trials, args.seed)
    if wanted("scan-"):
        got, scans = byte_scans.run(sizes=[int(n) for n in wanted("scan-")])
        outcomes += got
    if "bad-input" in keys:
        got, answers = bad_inputs.run()
        outcomes.append(got)
    given = " ".join(sys.argv[1:] if argv is None else argv)
    status = print_report(f"make faults ({given or 'all scenarios'}; commit {commit()}; "
                          f"{time.perf_counter() - t0:.0f} s); ended", outcomes)
    if scans:
        print("\nbyte scans after uninterrupted removals (every file of the directory, temporaries "
              "included, searched for every 64-byte piece of every removed vector):")
        print(markdown(byte_scans.DETAIL, scans))
    if answers:
        print("\nbad inputs, each through the real command:")
        print(markdown(("input", "command", "exit", "answer"), answers))
    return status


if __name__ == "__main__":
    raise SystemExit(main())
