"""Did a change move any number? Runs `wgan-repro all --scale smoke` with the code of a git
revision (default: HEAD) and with the working tree, then compares every CSV the two runs
wrote (pandas.testing.assert_frame_equal, exact), times excluded. For refactors: a pure
refactor passes; any changed number, column, row or file fails, and is named.

    python tools/smoke_compare.py                 # HEAD vs the working tree
    python tools/smoke_compare.py --base main~3   # an older revision
    python tools/smoke_compare.py --compare A B   # two results folders made already
    make smoke-compare BASE=main~3

Both runs use this interpreter and its installed packages; only wgan_repro and conf/ differ.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
TIMING_FILES = {"timings.csv"}  # wall-clock times only
# Columns that hold times or speeds, which differ between any two runs.
TIMING_COLUMNS = {"seconds", "minutes", "wall_seconds", "elapsed_s", "it_per_s", "started",
                  "finished", "timestamp", "duration_s"}


def run_smoke_all(code: Path, results: Path) -> None:
    """`wgan-repro all --scale smoke` with the package and configs found under ``code``."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    command = [sys.executable, "-m", "wgan_repro", "all", "--scale", "smoke", "--results",
               str(results), "progress=none"]
    print(f"$ PYTHONPATH={code} {' '.join(command)}", flush=True)
    subprocess.run(command, check=True, env=env, cwd=code, stdout=subprocess.DEVNULL)


def csv_files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*.csv")
            if p.name not in TIMING_FILES and "/." not in f"/{p.relative_to(folder)}"}


def compare(before: Path, after: Path) -> list[str]:
    """Every difference between the CSVs of two results folders, one line each."""
    problems = []
    old, new = csv_files(before), csv_files(after)
    problems += [f"only before: {name}" for name in sorted(old - new)]
    problems += [f"only after: {name}" for name in sorted(new - old)]
    for name in sorted(old & new):
        a, b = pd.read_csv(before / name), pd.read_csv(after / name)
        a = a.drop(columns=[c for c in a.columns if c in TIMING_COLUMNS])
        b = b.drop(columns=[c for c in b.columns if c in TIMING_COLUMNS])
        try:
            pd.testing.assert_frame_equal(a, b, check_exact=True)
        except AssertionError as err:
            problems.append(f"{name}: {' '.join(str(err).split())[:400]}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD", help="git revision to compare against")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"),
                        help="compare two results folders; run nothing")
    args = parser.parse_args(argv)
    if args.compare:
        before, after = args.compare
        problems = compare(before, after)
    else:
        with tempfile.TemporaryDirectory(prefix="smoke-compare-") as scratch:
            base = Path(scratch) / "base"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q",
                            str(base), args.base], check=True)
            try:
                run_smoke_all(base, Path(scratch) / "before")
                run_smoke_all(ROOT, Path(scratch) / "after")
                problems = compare(Path(scratch) / "before", Path(scratch) / "after")
                count = len(csv_files(Path(scratch) / "after"))
            finally:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                                str(base)], check=False)
        print(f"{count} CSV files compared ({args.base} vs the working tree)")
    for line in problems:
        print(line)
    print("no number changed" if not problems else f"{len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
