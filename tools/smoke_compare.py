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


# Renames a refactor made on purpose, applied to the BEFORE folder so that a pure rename
# compares equal and every number is still compared exactly. Each is a no-op on a folder that
# already has the new names. Issue #22: one folder per probe, ablate's arm column, the
# update-quality key.
RENAMED_PATHS = (  # (old prefix, new prefix), first match wins
    ("probe/adam/", "probe_adam/"), ("probe/adam_", "probe_adam/adam_"),
    ("probe/instance_noise", "probe_noise/instance_noise"),
)
RENAMED_COLUMNS = {"ablate/metrics.csv": {"objective": "arm"}}
RENAMED_TEXT = (("fig2.probe_steps", "fig2.update_steps"), ("probe/adam_", "probe_adam/adam_"),
                ("probe/instance_noise", "probe_noise/instance_noise"),
                ("probe/config_adam.yaml", "probe_adam/config.yaml"))


def new_name(before: Path, name: str) -> str:
    """Where a file of the BEFORE folder lives under today's names. fig2's discriminator runs
    with instance noise moved to probe_noise/runs/."""
    for old, new in RENAMED_PATHS:
        if name.startswith(old):
            return new + name[len(old):]
    if name.startswith("fig2/runs/") and Path(name).name.startswith("epoch_"):
        frame = pd.read_csv(before / name)
        if "instance_noise_std" in frame and (frame["instance_noise_std"] > 0).any():
            return "probe_noise/" + name[len("fig2/"):]
    return name


def renamed(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    frame = frame.rename(columns=RENAMED_COLUMNS.get(name, {}))
    for column in frame.columns:
        if pd.api.types.is_string_dtype(frame[column]):
            for old, new in RENAMED_TEXT:
                frame[column] = frame[column].str.replace(old, new, regex=False)
    return frame


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
    """Every difference between the CSVs of two results folders, one line each (the BEFORE
    folder's files read under today's names: RENAMED_*)."""
    problems = []
    old = {new_name(before, name): name for name in csv_files(before)}
    new = csv_files(after)
    problems += [f"only before: {old[name]}" for name in sorted(set(old) - new)]
    problems += [f"only after: {name}" for name in sorted(new - set(old))]
    for name in sorted(set(old) & new):
        a, b = renamed(pd.read_csv(before / old[name]), name), pd.read_csv(after / name)
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
