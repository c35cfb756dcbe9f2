"""P2 Fig. 3-4: the WGAN critic's estimate is a training curve that tracks sample quality;
the standard GAN's JS estimate is not.

Each run of ``curve.runs`` is one training run (``train``) with an evaluation hook: every
``train.eval_every`` generator iterations, ``curve.eval_samples`` generated images are
compared with as many held-out real ones by the exact pixel-space EMD (POT) and by the
Fréchet distance in the features of a small digits classifier (FCD). The aggregate step
reads every run's CSVs, median-filters the estimates as P2 does (width 101), correlates
them with the EMD at the evaluation points (Spearman); the claims and figures come from the
CSVs it writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from wgan_repro import stats
from wgan_repro.aggregate import concatenated, diverged_note
from wgan_repro.errors import ConfigError
from wgan_repro.experiments.quality import make_evaluator
from wgan_repro.plans import Plan, seeds_text, validated, validated_jobs
from wgan_repro.results import (
    CURVE_COLUMNS,
    QUALITY_COLUMNS,
    read_csv,
    write_csv,
    write_json,
)
from wgan_repro.schema import POINT_DATASETS
from wgan_repro.train import train


def validate_curve(cfg: DictConfig) -> None:
    if cfg.data.name in POINT_DATASETS:
        raise ConfigError("curve measures image quality: use an image dataset, not data="
                          + cfg.data.name)
    if not cfg.curve.runs:
        raise ConfigError("curve.runs is empty: nothing to train")
    if cfg.curve.eval_samples < 2:
        raise ConfigError("curve.eval_samples must be >= 2")


def plan(user: list[str]) -> Plan:
    """One job per run of curve.runs and seed."""
    cfg = validated(["experiment=curve", *user], validate_curve)
    # Each run's own overrides come first, so what the user typed wins over them.
    jobs = [["experiment=curve", *run_overrides, *user, f"curve.run={name}", f"seed={s}"]
            for name, run_overrides in cfg.curve.runs.items() for s in cfg.curve.seeds]
    return Plan("curve", cfg, jobs, list(cfg.curve.seeds),
                job_cfgs=validated_jobs(jobs, validate_curve))


def run(cfg: DictConfig) -> dict[str, Any]:
    """One run of the figure (``curve.run`` names it): train with evaluations. ``cfg`` was
    validated when the job was planned (validate_curve)."""
    evaluate, classifier = make_evaluator(cfg, cfg.curve.eval_samples, cfg.curve.eval_samples)
    summary = train(cfg, evaluate=evaluate)
    return {"run": cfg.curve.run, "seed": cfg.seed, "run_dir": summary["run_dir"],
            "objective": cfg.objective.name, "generator": cfg.generator.arch,
            "critic": cfg.critic.arch, "status": summary["status"],
            "diverged_at": summary["diverged_at"],
            "classifier_accuracy": classifier.heldout_accuracy}


# ---- aggregation ----------------------------------------------------------------------------------
def aggregate(plan: Plan, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Every run's metrics.csv and quality.csv into curve.csv and quality.csv, summarised into
    summary.json (each run's status and folder, whose sample grids the figures show); returns
    the summary."""
    import pandas as pd

    cfg = plan.cfg
    source = (f"curve/curve.csv, curve/quality.csv (tier {cfg.tier}, seeds "
              f"{seeds_text(cfg.curve.seeds)}, {cfg.train.iterations} generator iterations)")
    out = plan.results_dir / "curve"
    curves, qualities = [], []
    for r in runs:
        run_dir = Path(r["run_dir"])
        curves.append(pd.read_csv(run_dir / "metrics.csv").assign(
            run=r["run"], objective=r["objective"], generator=r["generator"],
            critic=r["critic"], seed=r["seed"]))
        if (run_dir / "quality.csv").exists():
            qualities.append(pd.read_csv(run_dir / "quality.csv").assign(run=r["run"],
                                                                         seed=r["seed"]))
    write_csv(out / "curve.csv", concatenated(curves, CURVE_COLUMNS).to_dict("records"),
              CURVE_COLUMNS)
    write_csv(out / "quality.csv", concatenated(qualities, QUALITY_COLUMNS).to_dict("records"),
              QUALITY_COLUMNS)
    curve = read_csv(out / "curve.csv", CURVE_COLUMNS)
    quality = read_csv(out / "quality.csv", QUALITY_COLUMNS)
    summary = summarize(curve, quality)
    # A run that hit NaN/Inf ends there (its last row holds the NaN): recorded, and it makes
    # the claims it takes part in inconclusive rather than stopping the experiment.
    for r in runs:
        entry = summary["runs"].setdefault(f"{r['run']}/s{r['seed']}", {})
        entry.update(status=r["status"], diverged_at=r.get("diverged_at"), run_dir=r["run_dir"])
    diverged = {f"{r['run']}/s{r['seed']}": r["diverged_at"] for r in runs if r.get("diverged_at")}
    summary["classifier_heldout_accuracy"] = runs[0]["classifier_accuracy"] if runs else None
    summary["source"] = source + diverged_note(diverged, "diverged")
    write_json(out / "summary.json", summary)
    return summary


def summarize(curve, quality) -> dict[str, Any]:
    """Per run: the filtered estimate's first, last and median values and, at the evaluation
    points, the first and last estimate, EMD and FCD (descriptive only: the claims, rank
    correlations included, are judged once in wgan_repro.claims and reach summary.json as its
    "claims_seeds")."""
    runs: dict[str, Any] = {}
    for key, entry in stats.curve_runs(curve, quality).items():
        filtered, at_eval, emd, fcd = entry["filtered"], entry["at_eval"], entry["emd"], entry["fcd"]
        runs[key] = {"estimate": entry["estimate"], "gen_iters": int(filtered.index.max()),
                     "estimate_filtered_first": float(filtered.iloc[0]),
                     "estimate_filtered_last": float(filtered.iloc[-1]),
                     "estimate_filtered_median": float(filtered.median()),
                     "eval_points": len(emd)}
        if len(emd) >= 2:
            runs[key].update(
                emd_first=float(emd[0]), emd_last=float(emd[-1]), fcd_first=float(fcd[0]),
                fcd_last=float(fcd[-1]), estimate_at_eval_first=float(at_eval[0]),
                estimate_at_eval_last=float(at_eval[-1]))
    return {"runs": runs}
