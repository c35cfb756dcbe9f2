"""Two probes of claims the papers make in passing.

``probe adam`` (P2 section 4.2): "WGAN training becomes unstable at times when one uses a
momentum based optimizer such as Adam (with beta1 > 0) on the critic, or when one uses high
learning rates ... the cosine between the Adam step and the gradient usually turned negative
at times when this loss blew up". We train Algorithm 1 twice at the same high learning rate,
once with Adam (beta1 > 0) and once with RMSProp, and record for every critic update the
cosine between the optimiser's step (weights after minus before, before clipping) and the
negative gradient, with the critic's estimate E f(real) - E f(fake) on that update's batch.
RMSProp's step is the gradient divided element-wise by a positive scale, so its cosine is
positive by construction; Adam's carries momentum and can point against the gradient.

``probe noise`` (P1 section 3): the fig2 protocol (a discriminator trained from scratch
against frozen DCGAN snapshots) with and without instance noise on the discriminator's
inputs; without it the original-cost gradient norm vanishes, with it it should not.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

from wgan_repro.errors import ConfigError
from wgan_repro.results import (
    FIG2_COLUMNS,
    PROBE_ADAM_COLUMNS,
    PROBE_ADAM_STEP_COLUMNS,
    PROBE_NOISE_COLUMNS,
    read_csv,
    update_claims,
    write_csv,
    write_json,
)
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
    """A train.CriticStepProbe: per critic update, the step's cosine and the estimate.

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


# ---- probe adam -----------------------------------------------------------------------------------
# Verdict rules (issue #6), named here so a reader sees every rule in one place.
NEGATIVE_SHARE_MIN = 0.01  # Adam: >= 1% of critic updates climb the loss (cosine < 0) ...
RMSPROP_SHARE_FACTOR = 0.1  # ... and RMSProp <= a tenth of Adam's share ("not, or far less")
CLUSTER_ENRICHMENT = 2.0  # negative cosines >= 2x as frequent near blow-ups as overall


def validate_probe(cfg: DictConfig, arms: tuple[str, ...]) -> None:
    p = cfg.probe
    if set(p.arms) != set(arms):
        raise ConfigError(f"probe.arms must define exactly {', '.join(arms)}, got "
                          f"{', '.join(p.arms) or 'none'}")
    if not p.seeds:
        raise ConfigError("probe.seeds is empty")
    errors = [f"probe.{k} must be >= 1, got {p[k]}" for k in ("jump_window", "blow_up_radius")
              if p[k] < 1]
    if p.blow_up_threshold <= 0:
        errors.append(f"probe.blow_up_threshold must be > 0, got {p.blow_up_threshold}")
    if errors:
        raise ConfigError("; ".join(errors))


ADAM_ARMS = ("adam", "rmsprop")
NOISE_ARMS = ("without_noise", "with_noise")


def validate_probe_adam(cfg: DictConfig) -> None:
    validate_probe(cfg, ADAM_ARMS)
    if cfg.objective.loss != "wasserstein":
        raise ConfigError("probe adam trains a WGAN critic: use objective=wgan_clip")


def run_probe_adam(cfg: DictConfig) -> dict[str, Any]:
    """One arm (``probe.arm``), one seed: Algorithm 1 with every critic update recorded."""
    validate_probe_adam(cfg)
    run_dir = run_dir_for(cfg)
    steps_csv = run_dir / "critic_steps.csv"
    if not steps_csv.exists():
        # The per-update log lives in memory until the run ends, so a run interrupted before
        # it cannot resume: start it over (minutes at the cpu tier).
        if run_dir.exists():
            shutil.rmtree(run_dir)
        recorder = StepCosineRecorder()
        train(cfg, run_dir=run_dir, critic_step_probe=recorder)
        write_csv(steps_csv, recorder.rows(cfg.probe.arm, cfg), PROBE_ADAM_STEP_COLUMNS)
    run = json.loads((run_dir / "summary.json").read_text())
    return {"arm": cfg.probe.arm, "seed": cfg.seed, "csv": str(steps_csv),
            "run_dir": str(run_dir), "diverged_at": run["diverged_at"]}


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


def claims_adam(summary: dict, source: str) -> list[dict[str, str]]:
    adam, rms = summary["arms"]["adam"], summary["arms"]["rmsprop"]
    verdict = lambda ok: "reproduced" if ok else "not reproduced"  # noqa: E731
    negative_ok = (adam["negative_share"] >= NEGATIVE_SHARE_MIN
                   and rms["negative_share"] <= RMSPROP_SHARE_FACTOR * adam["negative_share"])
    enrichment = adam["cluster_enrichment"]
    if adam["negative_count"] == 0 or adam["blow_ups"] == 0:
        cluster = "not reproduced"  # nothing to cluster: no negative cosines or no blow-ups
    else:
        cluster = verdict(enrichment is not None and enrichment >= CLUSTER_ENRICHMENT
                          and adam["blow_ups"] > rms["blow_ups"])
    lr = f"lr {adam['lr']:g}"
    return [
        {"claim": "with Adam (beta1 > 0) on the WGAN critic the step's cosine with the "
                  f"negative gradient turns negative (>= {NEGATIVE_SHARE_MIN:.0%} of critic "
                  f"updates), with RMSProp not or far less (<= {RMSPROP_SHARE_FACTOR:g}x Adam's "
                  f"share); same {lr} (P2 section 4.2)",
         "paper_value": "Adam's step cosine turns negative at times; RMSProp is stable",
         "measured_value": (f"cosine < 0 on {adam['negative_share']:.2%} of Adam's "
                            f"{adam['critic_updates']} updates (min {adam['cosine_min']:.3f}), "
                            f"{rms['negative_share']:.2%} of RMSProp's (min "
                            f"{rms['cosine_min']:.3f})"),
         "verdict": verdict(negative_ok), "source": source},
        {"claim": "Adam's critic loss blows up more often than RMSProp's, and its negative "
                  f"cosines cluster around the blow-ups (>= {CLUSTER_ENRICHMENT:g}x their overall "
                  "rate) (P2 section 4.2)",
         "paper_value": "the cosine turned negative when the loss blew up",
         "measured_value": (f"blow-ups: Adam {adam['blow_ups']}, RMSProp {rms['blow_ups']}; "
                            "negative cosines near blow-ups / overall: "
                            + ("n/a" if enrichment is None else f"{enrichment:.2f}x")),
         "verdict": cluster, "source": source},
    ]


def aggregate_adam(results_dir: Path, runs: list[dict[str, Any]], cfg: DictConfig
                   ) -> dict[str, Any]:
    import pandas as pd

    from wgan_repro import plots

    frame = pd.concat([read_csv(Path(r["csv"]), PROBE_ADAM_STEP_COLUMNS) for r in runs],
                      ignore_index=True)
    p = cfg.probe
    frame = mark_blow_ups(frame, p.jump_window, p.blow_up_threshold, p.blow_up_radius)
    out = Path(results_dir) / "probe"
    write_csv(out / "adam_cosine.csv", frame.to_dict("records"), PROBE_ADAM_COLUMNS)
    summary = summarize_adam(frame)
    for arm, values in summary["arms"].items():  # a NaN ends a run early: say so
        values["diverged_at"] = {r["seed"]: r["diverged_at"] for r in runs if r["arm"] == arm}
    source = (f"probe/adam_cosine.csv (tier {cfg.tier}, seeds "
              f"{','.join(str(s) for s in p.seeds)}, {cfg.train.iterations} generator iterations)")
    summary["claims"] = claims_adam(summary, source)
    write_json(out / "adam_summary.json", summary)
    update_claims(Path(results_dir), "probe_adam", summary["claims"])
    plots.plot_probe_adam(out / "adam_cosine.csv", out / "adam_cosine.pdf")
    return summary


# ---- probe noise ----------------------------------------------------------------------------------
NOISE_MAX_DECAY_ORDERS = 1.0  # with noise: the original-cost norm falls < 1 order of magnitude
CONTROL_MIN_DECAY_ORDERS = 1.0  # without: it falls >= 1 order (fig2's claim, the control)


def run_probe_noise(cfg: DictConfig) -> dict[str, Any]:
    """One arm (``probe.arm``), one seed: the fig2 protocol (its snapshots are shared)."""
    from wgan_repro.experiments.fig2 import run_fig2

    validate_probe_noise(cfg)
    result = run_fig2(cfg)
    return {"arm": cfg.probe.arm, "seed": cfg.seed, "files": result["files"],
            "diverged_at": result.get("diverged_at")}


def summarize_noise(frame) -> dict[str, Any]:
    from wgan_repro.experiments.fig2 import edge_medians

    arms: dict[str, Any] = {}
    for (arm, epoch), group in frame.groupby(["arm", "epoch"]):
        first, last = edge_medians(group, "grad_norm_original")
        arms.setdefault(arm, {})[str(int(epoch))] = {
            "grad_norm_original_first": first, "grad_norm_original_last": last,
            "orders_decayed_original": math.log10(first / last),
            "d_accuracy_last": edge_medians(group, "d_accuracy")[1],
            "noise_std_last": float(group.loc[group["d_iter"].idxmax(), "instance_noise_std"]),
        }
    return {"arms": arms}


def claims_noise(summary: dict, source: str) -> list[dict[str, str]]:
    arms = summary["arms"]
    with_noise, without = arms["with_noise"], arms["without_noise"]
    epochs = sorted(with_noise, key=int)
    fmt = lambda d: ", ".join(f"epoch {e}: {d[e]['orders_decayed_original']:.2f}" for e in epochs)  # noqa: E731
    kept = all(with_noise[e]["orders_decayed_original"] < NOISE_MAX_DECAY_ORDERS for e in epochs)
    control = all(without[e]["orders_decayed_original"] >= CONTROL_MIN_DECAY_ORDERS
                  for e in epochs)
    last = {e: with_noise[e]["grad_norm_original_last"] / without[e]["grad_norm_original_last"]
            for e in epochs}
    ratio = ", ".join(f"epoch {e}: {last[e]:.3g}x" for e in epochs)
    if not control:
        verdict = "inconclusive"  # the gradient did not vanish without noise either
    else:
        verdict = "reproduced" if kept else "not reproduced"
    return [{**NOISE_CLAIM,
             "measured_value": (f"orders decayed with noise: {fmt(with_noise)}; without: "
                                f"{fmt(without)}; last-5% norm with / without: {ratio}"),
             "verdict": verdict, "source": source}]


NOISE_CLAIM = {
    "claim": "instance noise on the discriminator's inputs keeps the original-cost gradient "
             f"from vanishing (P1 section 3): with noise it falls < {NOISE_MAX_DECAY_ORDERS:g} "
             f"order of magnitude for every snapshot, without >= {CONTROL_MIN_DECAY_ORDERS:g}",
    "paper_value": "noise makes the distributions overlap; D's gradients stay informative",
}


def aggregate_noise(results_dir: Path, runs: list[dict[str, Any]], cfg: DictConfig
                    ) -> dict[str, Any]:
    import pandas as pd

    from wgan_repro import plots
    from wgan_repro.experiments.fig2 import diverged_note

    # A seed whose DCGAN diverged has no snapshots in either arm: it is left out, and said so.
    diverged = {run["seed"]: run["diverged_at"] for run in runs if run.get("diverged_at")}
    usable = [run for run in runs if run["seed"] not in diverged]
    parts = []
    for run in usable:
        for f in run["files"]:
            part = read_csv(Path(f), FIG2_COLUMNS)
            part.insert(0, "arm", run["arm"])
            parts.append(part)
    frame = (pd.concat(parts, ignore_index=True) if parts
             else pd.DataFrame(columns=list(PROBE_NOISE_COLUMNS)))
    frame = frame.sort_values(["arm", "epoch", "seed", "d_iter"])
    out = Path(results_dir) / "probe"
    write_csv(out / "instance_noise.csv", frame.to_dict("records"), PROBE_NOISE_COLUMNS)
    summary = summarize_noise(frame)
    summary["diverged_dcgan"] = {str(s): i for s, i in sorted(diverged.items())}
    o = cfg.probe.arms.with_noise
    source = (f"probe/instance_noise.csv (tier {cfg.tier}, seeds "
              f"{','.join(str(s) for s in cfg.probe.seeds)}, {cfg.fig2.d_iters} D iterations; "
              f"noise: {' '.join(o)})")
    source += diverged_note(diverged)
    if parts:
        summary["claims"] = claims_noise(summary, source)
    else:
        summary["claims"] = [{**NOISE_CLAIM, "verdict": "inconclusive", "source": source,
                              "measured_value": "every seed's DCGAN diverged: no snapshots"}]
    write_json(out / "noise_summary.json", summary)
    update_claims(Path(results_dir), "probe_noise", summary["claims"])
    if parts:
        plots.plot_probe_noise(out / "instance_noise.csv", out / "instance_noise.pdf")
    return summary


def validate_probe_noise(cfg: DictConfig) -> None:
    from wgan_repro.experiments.fig2 import validate_fig2

    validate_probe(cfg, NOISE_ARMS)
    validate_fig2(cfg)


@dataclass(frozen=True)
class Probe:
    """What the `probe` verb needs of each probe: its arms, and the task functions."""
    arms: tuple[str, ...]
    validate: Callable[[DictConfig], None]  # one composed job
    run: Callable[[DictConfig], dict[str, Any]]  # one job: an arm and a seed
    aggregate: Callable[[Path, list[dict[str, Any]], DictConfig], dict[str, Any]]


PROBES = {
    "adam": Probe(ADAM_ARMS, validate_probe_adam, run_probe_adam, aggregate_adam),
    "noise": Probe(NOISE_ARMS, validate_probe_noise, run_probe_noise, aggregate_noise),
}
