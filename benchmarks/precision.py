"""The training loop's speed under each train.precision x train.channels_last setting, and two
jobs in parallel (one thread each) against the same two jobs one after the other (two
threads each). Rows go into benchmarks/results.csv (the other rows are kept).

1. precision/<fp32|bf16>[+channels_last]: generator iterations per second of
   `wgan_repro.train.train` (P2 Algorithm 1, warm-up off), at 32x32 (cpu tier, ngf = ndf = 16)
   and 64x64x3 (the paper's DCGAN, ngf = ndf = 64). The fastest of REPEATS interleaved
   rounds counts (this machine's speed drifts by +-20% over minutes).
2. jobs/<basic|joblib>: wall seconds of `wgan-repro train --seeds 0,1` at the cpu tier
   (shortened), the two seeds one after another with 2 threads each (basic launcher), or
   in two processes with one thread each (joblib launcher); iters_per_s = generator
   iterations of both jobs per wall second.

    python benchmarks/precision.py
    python benchmarks/precision.py --only precision --sizes 32
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_speed  # noqa: E402  (compose + the loop timing, shared)

from wgan_repro.precision import cpu_runs_bf16_natively  # noqa: E402
from wgan_repro.results import read_csv, write_csv  # noqa: E402

OUT = Path(__file__).resolve().parent / "results.csv"
COLUMNS = ("benchmark", "image_size", "device", "iters_per_s", "bare_iters_per_s", "ratio",
           "peak_mib")
REPEATS = 3
ITERS = {32: 60, 64: 4}  # generator iterations per timing (the first 10% skipped)
VARIANTS = {  # name -> overrides
    "fp32": ["train.precision=fp32", "train.channels_last=false"],
    "fp32+channels_last": ["train.precision=fp32", "train.channels_last=true"],
    "bf16": ["train.precision=bf16", "train.channels_last=false"],
    "bf16+channels_last": ["train.precision=bf16", "train.channels_last=true"],
}
JOB_ITERS = 150  # generator iterations per job in the launcher comparison (warm-up off)


def precision_rows(sizes: list[int], device: str, results: str) -> list[dict]:
    best: dict[tuple[str, int], float] = {}
    for _ in range(REPEATS):
        for size in sizes:
            for name, overrides in VARIANTS.items():
                cfg = train_speed.compose(size, ITERS[size], results, device, tuple(overrides))
                seconds = train_speed.loop_seconds_per_iter(cfg)
                key = (name, size)
                best[key] = min(best.get(key, float("inf")), seconds)
                print(f"precision/{name} {size}: {1 / seconds:.3f} it/s", flush=True)
    return [{"benchmark": f"precision/{name}", "image_size": size, "device": device,
             "iters_per_s": round(1 / s, 3)} for (name, size), s in best.items()]


def launcher_rows(results: str) -> list[dict]:
    rows = []
    for launcher in ("basic", "joblib"):
        command = [sys.executable, "-m", "wgan_repro.cli", "train", "--seeds", "0,1",
                   "--launcher", launcher, "--results", f"{results}/{launcher}",
                   f"train.iterations={JOB_ITERS}", "objective.warmup=false", "progress=none"]
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        wall = time.perf_counter() - start
        print(f"jobs/{launcher}: {wall:.1f} s for 2 x {JOB_ITERS} iterations", flush=True)
        rows.append({"benchmark": f"jobs/{launcher}", "image_size": 32, "device": "cpu",
                     "iters_per_s": round(2 * JOB_ITERS / wall, 3)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="precision,jobs")
    parser.add_argument("--sizes", default="32,64")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    only = set(args.only.split(","))
    torch.set_num_threads(2 if args.device == "cpu" else torch.get_num_threads())
    print(f"CPU runs bf16 natively: {cpu_runs_bf16_natively()}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as results:
        if "precision" in only:
            rows += precision_rows([int(s) for s in args.sizes.split(",")], args.device, results)
        if "jobs" in only:
            rows += launcher_rows(results)
    kept = []
    if OUT.exists():
        new = {(r["benchmark"], r["image_size"], r["device"]) for r in rows}
        kept = [r for r in read_csv(OUT, COLUMNS).to_dict("records")
                if (r["benchmark"], r["image_size"], r["device"]) not in new]
    write_csv(OUT, kept + rows, COLUMNS)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
