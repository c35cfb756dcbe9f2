"""Jobs per hour on this machine: one process running the jobs one after another with every
core (`--launcher basic`, torch's threads = the cores) against one process per job with one
thread each (`--launcher joblib`, as many workers as cores), on shortened fig2 and ablate jobs
of the cpu tier (issue #23 item 3: the faster becomes the cpu tier's default for multi-job
verbs). Each job set runs in a fresh results folder, so nothing is reused; appends to
benchmarks/launcher_throughput.csv with the CPU model.

    python benchmarks/launcher_throughput.py            # both verbs, both launchers
    python benchmarks/launcher_throughput.py --verb fig2
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "launcher_throughput.csv"
COLUMNS = ("verb", "launcher", "jobs", "wall_s", "jobs_per_hour", "cpu_model", "finished_utc")
# Shortened cpu-tier jobs: long enough that start-up is a small share, short enough that the
# four timings fit ~10 minutes on 2 cores. Four jobs each, so two workers stay busy.
VERBS = {
    "fig2": ["fig2", "--epochs", "1,2", "--seeds", "0,1,2,3", "fig2.d_iters=400",
             "fig2.update_steps=0"],
    "ablate": ["ablate", "--dcgan", "--seeds", "0,1", "train.iterations=150",
               "train.eval_every=150", "ablate.eval_samples=500"],
}
LAUNCHERS = ("basic", "joblib")


def time_jobs(verb: str, launcher: str) -> float:
    with tempfile.TemporaryDirectory(prefix="throughput-") as results:
        command = [sys.executable, "-m", "wgan_repro", *VERBS[verb], "--launcher", launcher,
                   "--results", results, "progress=none"]
        started = time.perf_counter()
        subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        return time.perf_counter() - started


def jobs_of(verb: str) -> int:
    args = VERBS[verb]
    seeds = len(args[args.index("--seeds") + 1].split(","))
    return seeds * (2 if verb == "ablate" else 1)  # ablate: a WGAN and a GAN job per seed


def main(argv: list[str] | None = None) -> int:
    from wgan_repro.runtime import cpu_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verb", choices=sorted(VERBS), action="append",
                        help="verb to time (repeatable; default: all)")
    args = parser.parse_args(argv)
    rows = []
    for verb in args.verb or list(VERBS):
        for launcher in LAUNCHERS:
            wall = time_jobs(verb, launcher)
            n = jobs_of(verb)
            rows.append({"verb": verb, "launcher": launcher, "jobs": n, "wall_s": round(wall, 1),
                         "jobs_per_hour": round(3600 * n / wall, 1), "cpu_model": cpu_model(),
                         "finished_utc": datetime.now(UTC).isoformat(timespec="seconds")})
            print(f"{verb} {launcher}: {n} jobs in {wall:.1f} s ({3600 * n / wall:.1f} jobs/h)",
                  flush=True)
    kept = pd.read_csv(OUT) if OUT.exists() else pd.DataFrame(columns=COLUMNS)
    pd.concat([kept, pd.DataFrame(rows, columns=COLUMNS)], ignore_index=True).to_csv(OUT,
                                                                                   index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
