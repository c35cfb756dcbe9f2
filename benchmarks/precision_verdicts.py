"""Do the verdicts depend on train.precision? Runs one verb (or `all`) at one scale tier with
train.precision=fp32 and with bf16, each into a folder of its own, and compares the two
claims.csv files claim by claim. Rows go into benchmarks/precision_verdicts.csv (rows of the
same scale and verb are replaced; the others kept). Exit 1 when a verdict differs.

    python benchmarks/precision_verdicts.py --scale smoke --verb all
    python benchmarks/precision_verdicts.py --scale cpu --verb "fig2 --epochs 1,20,25" \
        --bf16-results results/reference-cpu     # reuse a bf16 run made already

A folder given with --fp32-results/--bf16-results is read as it is when it holds the verb's
claims (runs resume, so the verb is rerun there otherwise: a no-op for finished runs).
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

OUT = Path(__file__).resolve().parent / "precision_verdicts.csv"
COLUMNS = ["scale", "verb", "experiment", "claim_id", "verdict_fp32", "verdict_bf16",
           "measured_fp32", "measured_bf16", "same_verdict", "seconds_fp32", "seconds_bf16"]
PRECISIONS = ("fp32", "bf16")


def run_verb(verb: str, scale: str, precision: str, results: Path) -> float:
    """Wall seconds of `wgan-repro <verb> --scale <scale> --results <results>` at <precision>."""
    command = [sys.executable, "-m", "wgan_repro", *shlex.split(verb), "--scale", scale,
               "--results", str(results), f"train.precision={precision}", "progress=none"]
    print("$", " ".join(command), flush=True)
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - start


def compare(fp32: pd.DataFrame, bf16: pd.DataFrame) -> pd.DataFrame:
    """One row per claim present in either table; a claim missing on one side differs."""
    keep = ["experiment", "claim_id", "verdict", "measured_value"]
    merged = fp32[keep].merge(bf16[keep], on=["experiment", "claim_id"], how="outer",
                              suffixes=("_fp32", "_bf16"))
    merged = merged.rename(columns={"measured_value_fp32": "measured_fp32",
                                    "measured_value_bf16": "measured_bf16"})
    merged["same_verdict"] = merged["verdict_fp32"] == merged["verdict_bf16"]
    return merged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="smoke", help="scale tier (smoke, quick, cpu, paper)")
    parser.add_argument("--verb", default="all", help='the verb and its options, e.g. "fig2 '
                        '--epochs 1,20,25" (default: all)')
    for precision in PRECISIONS:
        parser.add_argument(f"--{precision}-results", type=Path, default=None,
                            help=f"results folder for the {precision} run (default: a fresh "
                            "temporary folder)")
    args = parser.parse_args(argv)

    tables, seconds = {}, {}
    with tempfile.TemporaryDirectory(prefix="precision-verdicts-") as scratch:
        for precision in PRECISIONS:
            folder = getattr(args, f"{precision}_results") or Path(scratch) / precision
            seconds[precision] = run_verb(args.verb, args.scale, precision, folder)
            tables[precision] = pd.read_csv(folder / "claims.csv")
    experiment = shlex.split(args.verb)[0]
    if experiment != "all":  # compare only the claims this verb judged
        name = experiment if experiment != "probe" else f"probe_{shlex.split(args.verb)[1]}"
        tables = {p: t[t["experiment"] == name] for p, t in tables.items()}
    rows = compare(tables["fp32"], tables["bf16"])
    rows.insert(0, "verb", args.verb)
    rows.insert(0, "scale", args.scale)
    rows["seconds_fp32"] = round(seconds["fp32"], 1)
    rows["seconds_bf16"] = round(seconds["bf16"], 1)

    kept = pd.read_csv(OUT) if OUT.exists() else pd.DataFrame(columns=COLUMNS)
    kept = kept[~((kept["scale"] == args.scale) & (kept["verb"] == args.verb))]
    pd.concat([kept, rows[COLUMNS]], ignore_index=True).to_csv(OUT, index=False)

    with pd.option_context("display.width", 160, "display.max_colwidth", 60):
        print(rows[["experiment", "claim_id", "verdict_fp32", "verdict_bf16"]].to_string(index=False))
    differing = int((~rows["same_verdict"]).sum())
    print(f"{len(rows) - differing}/{len(rows)} verdicts equal between fp32 and bf16 "
          f"({args.scale}, {args.verb}); fp32 {seconds['fp32']:.0f} s, bf16 {seconds['bf16']:.0f} s")
    return 1 if differing else 0


if __name__ == "__main__":
    raise SystemExit(main())
