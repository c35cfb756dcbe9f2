"""``probe adam`` (P2 section 4.2): "WGAN training becomes unstable at times when one uses a
momentum based optimizer such as Adam (with beta1 > 0) on the critic, or when one uses high
learning rates ... the cosine between the Adam step and the gradient usually turned negative
at times when this loss blew up". We train Algorithm 1 twice at the same high learning rate,
once with Adam (beta1 > 0) and once with RMSProp, and record for every critic update the
cosine between the optimiser's step (weights after minus before, before clipping) and the
negative gradient, with the critic's estimate E f(real) - E f(fake) on that update's batch,
and every ``train.eval_every`` generator iterations the samples' quality (P2: "as the loss
blew up and samples got worse"). RMSProp's step is the gradient divided element-wise by a
positive scale, so its cosine is positive by construction; Adam's carries momentum and can
point against the gradient.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

from wgan_repro.aggregate import concatenated
from wgan_repro.errors import ConfigError
from wgan_repro.experiments.arms import plan_arms, validate_arms
from wgan_repro.experiments.quality import make_evaluator
from wgan_repro.plans import Plan, seeds_text
from wgan_repro.results import (
    PROBE_ADAM_COLUMNS,
    PROBE_ADAM_QUALITY_COLUMNS,
    PROBE_ADAM_STEP_COLUMNS,
    read_csv,
    write_csv,
    write_json,
)
from wgan_repro.schema import POINT_DATASETS
from wgan_repro.train import run_dir_for, train


# ---- the measurement ------------------------------------------------------------------------------
def step_cosine(step: list[torch.Tensor], grad: list[torch.Tensor]) -> torch.Tensor:
    """cos(step, -grad) over all tensors taken as one vector: 1 = plain gradient descent
    direction, < 0 = the update climbs the loss."""
    dot = torch.stack([(s * g).sum() for s, g in zip(step, grad)]).sum()
    norm_step = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(step)))
    norm_grad = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grad)))
    return -dot / (norm_step * norm_grad).clamp_min(torch.finfo(dot.dtype).tiny)


class StepCosineRecorder:
    """A train.CriticStepHook: per critic update, the step's cosine and the estimate.

    Values stay on the device as 0-d tensors and are read once at the end, so recording does
    not force a device sync per update.
    """

    def __init__(self) -> None:
        self.gen_iters: list[int] = []
        self.values: list[torch.Tensor] = []
        self._params: list[torch.Tensor] = []
        self._before: list[torch.Tensor] = []

    def before(self, critic: torch.nn.Module) -> None:
        self._params = [p for p in critic.parameters() if p.grad is not None]
        self._before = [p.detach().clone() for p in self._params]

    def after(self, critic: torch.nn.Module, gen_iter: int, critic_loss: torch.Tensor) -> None:
        with torch.no_grad():
            step = torch._foreach_sub([p.detach() for p in self._params], self._before)
            cosine = step_cosine(step, [p.grad for p in self._params])
            # the WGAN critic minimises -(E f(real) - E f(fake))
            self.values.append(torch.stack([cosine, -critic_loss.detach()]))
        self.gen_iters.append(gen_iter)

    def rows(self, arm: str, cfg: DictConfig) -> list[dict[str, Any]]:
        values = torch.stack(self.values).cpu().tolist() if self.values else []
        return [{"arm": arm, "optimizer": cfg.optim.name, "lr": cfg.optim.lr, "seed": cfg.seed,
                 "gen_iter": g, "critic_step": i + 1, "step_cosine": c,
                 "wasserstein_estimate": w}
                for i, (g, (c, w)) in enumerate(zip(self.gen_iters, values))]


ADAM_ARMS = ("adam", "rmsprop")
RUN_QUALITY_COLUMNS = ("gen_iter", "emd", "fcd")  # a run's quality.csv (train + make_evaluator)


def validate_probe_adam(cfg: DictConfig) -> None:
    validate_arms(cfg, ADAM_ARMS)
    if cfg.objective.loss != "wasserstein":
        raise ConfigError("probe adam trains a WGAN critic: use objective=wgan_clip")
    if cfg.data.name in (*POINT_DATASETS, "lsun"):  # LSUN streams: no held-out split
        raise ConfigError(f"probe adam measures sample quality against held-out images, which "
                          f"data={cfg.data.name} has not: use digits, mnist, cifar10 or "
                          "image_folder")
    if not cfg.train.eval_every:
        raise ConfigError("probe adam needs train.eval_every: a blow-up counts only when the "
                          "next sample-quality evaluation is worse")
    if cfg.probe.eval_samples < 2:
        raise ConfigError(f"probe.eval_samples must be >= 2, got {cfg.probe.eval_samples}")


def run(cfg: DictConfig) -> dict[str, Any]:
    """One arm (``probe.arm``), one seed: Algorithm 1 with every critic update recorded and
    the samples' quality every ``train.eval_every`` generator iterations. ``cfg`` was
    validated when the job was planned (validate_probe_adam)."""
    run_dir = run_dir_for(cfg)
    steps_csv, quality_csv = run_dir / "critic_steps.csv", run_dir / "quality.csv"
    if not (steps_csv.exists() and quality_csv.exists()):
        # The per-update log lives in memory until the run ends, so a run interrupted before
        # it cannot resume; and train() reuses a finished run without evaluating it, so one
        # made before the probe recorded quality would never get any: start either over
        # (minutes at the cpu tier).
        if run_dir.exists():
            shutil.rmtree(run_dir)
        recorder = StepCosineRecorder()
        evaluate, _ = make_evaluator(cfg, cfg.probe.eval_samples)  # vs every held-out image
        train(cfg, run_dir=run_dir, evaluate=evaluate, critic_step_hook=recorder)
        if not quality_csv.exists():  # diverged before its first evaluation: none to record
            write_csv(quality_csv, [], RUN_QUALITY_COLUMNS)
        write_csv(steps_csv, recorder.rows(cfg.probe.arm, cfg), PROBE_ADAM_STEP_COLUMNS)
    run = json.loads((run_dir / "summary.json").read_text())
    return {"arm": cfg.probe.arm, "seed": cfg.seed, "csv": str(steps_csv),
            "quality_csv": str(quality_csv), "run_dir": str(run_dir),
            "diverged_at": run["diverged_at"]}


def mark_blow_ups(frame, window: int, threshold: float, radius: int):
    """Per arm and seed: how far each update's estimate jumps from the median of the previous
    ``window`` updates, in units of their (normal-consistent) median absolute deviation; a
    jump above ``threshold`` is a blow-up, and updates within ``radius`` of one are near it."""
    import numpy as np
    import pandas as pd

    parts = []
    for _, group in frame.groupby(["arm", "seed"], sort=False):
        group = group.sort_values("critic_step").copy()
        w = group["wasserstein_estimate"]
        history = w.shift(1).rolling(window, min_periods=window)
        centre = history.median()
        mad = (w.shift(1) - centre).abs().rolling(window, min_periods=window).median() * 1.4826
        jump = (w - centre).abs() / mad.clip(lower=np.finfo(float).tiny)
        group["estimate_jump"] = jump
        blow = (jump > threshold).fillna(False).to_numpy()
        near = np.convolve(blow.astype(int), np.ones(2 * radius + 1, dtype=int), mode="same") > 0
        group["blow_up"], group["near_blow_up"] = blow, near
        parts.append(group)
    return pd.concat(parts, ignore_index=True)


def summarize_adam(frame) -> dict[str, Any]:
    arms: dict[str, Any] = {}
    for arm, group in frame.groupby("arm"):
        negative = group["step_cosine"] < 0
        near = group["near_blow_up"].astype(bool)
        arms[arm] = {
            "optimizer": str(group["optimizer"].iloc[0]), "lr": float(group["lr"].iloc[0]),
            "seeds": sorted(int(s) for s in group["seed"].unique()),
            "critic_updates": int(len(group)),
            "negative_share": float(negative.mean()),
            "negative_count": int(negative.sum()),
            "cosine_min": float(group["step_cosine"].min()),
            "cosine_median": float(group["step_cosine"].median()),
            "blow_ups": int(group["blow_up"].astype(bool).sum()),
            "near_share": float(near.mean()),
            # P(cosine < 0 | near a blow-up) / P(cosine < 0): > 1 when they cluster
            "negative_share_near_blow_ups": float(negative[near].mean()) if near.any() else None,
        }
        a = arms[arm]
        a["cluster_enrichment"] = (a["negative_share_near_blow_ups"] / a["negative_share"]
                                   if a["negative_share"] > 0 and near.any() else None)
    return {"arms": arms}


def aggregate(plan: Plan, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Every run's critic updates into adam_cosine.csv (blow-ups marked) and its quality.csv
    into adam_quality.csv, summarised into summary.json; returns the summary."""
    cfg = plan.cfg
    p = cfg.probe
    frame = concatenated((read_csv(Path(r["csv"]), PROBE_ADAM_STEP_COLUMNS) for r in runs),
                         PROBE_ADAM_STEP_COLUMNS)
    frame = mark_blow_ups(frame, p.jump_window, p.blow_up_threshold, p.blow_up_radius)
    quality = concatenated((read_csv(Path(r["quality_csv"]), RUN_QUALITY_COLUMNS).assign(
        arm=r["arm"], seed=r["seed"]) for r in runs), PROBE_ADAM_QUALITY_COLUMNS)
    out = plan.results_dir / "probe_adam"
    write_csv(out / "adam_cosine.csv", frame.to_dict("records"), PROBE_ADAM_COLUMNS)
    write_csv(out / "adam_quality.csv", quality.to_dict("records"), PROBE_ADAM_QUALITY_COLUMNS)
    summary = summarize_adam(frame)
    for arm, values in summary["arms"].items():  # a NaN ends a run early: say so
        values["diverged_at"] = {r["seed"]: r["diverged_at"] for r in runs if r["arm"] == arm}
    source = (f"probe_adam/adam_cosine.csv, probe_adam/adam_quality.csv (tier {cfg.tier}, "
              f"seeds {seeds_text(p.seeds)}, {cfg.train.iterations} generator iterations)")
    summary["source"] = source  # what wgan_repro.claims names as the claims' source
    write_json(out / "summary.json", summary)
    return summary




def plan(user: list[str]) -> Plan:
    """One job per arm (adam, rmsprop) and seed."""
    return plan_arms("probe_adam", user, ADAM_ARMS, False, validate_probe_adam)
