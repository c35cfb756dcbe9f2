"""``clip``: P2 section 3's own warning about weight clipping, measured with WGAN-GP's Fig. 1
protocol (Gulrajani et al. 2017, arXiv 1704.00028).

P2: "Weight clipping is a clearly terrible way to enforce a Lipschitz constraint. If the
clipping parameter is large, then it can take a long time for any weights to reach their
limit, thereby making it harder to train the critic till optimality. If the clipping is small,
this can easily lead to vanishing gradients when the number of layers is big, or batch
normalization is not used (such as in RNNs)."

Two parts, one job per (part, method or dataset, seed):

- **Fig. 1b** (part ``fig1b``): a WGAN on Swiss Roll whose generator and critic are deep ReLU
  MLPs without batch norm (``clip.methods``: clipping at each c, and the gradient penalty),
  trained with ``train``. Every ``clip.record_every`` critic updates a hook records the norm of
  the critic loss's gradient with respect to each linear layer's weights (layer 1 = the input
  layer), and, for a clipped critic, the share of its weights at +-c; at the end, a histogram
  of the critic's weights.
- **Fig. 1a** (part ``fig1a``): critics trained against a fixed "generator" (the real data plus
  N(0, ``clip.fake_noise_std``^2) noise, as WGAN-GP's gan_toy.py FIXED_GENERATOR) on each of
  ``clip.datasets``, with clipping at each of ``clip.surface_clips`` and with the penalty. Every
  ``clip.record_every`` steps: the share of weights at +-c and the critic's distance from
  optimal (its estimate E f(real) - E f(fake) divided by its measured Lipschitz constant, over
  the exact EMD between the two evaluation samples); at the end, the critic's value on a grid.

The aggregation concatenates the jobs' CSVs into clip/layer_grad_norms.csv, clip/weights.csv,
clip/critic_optimality.csv, clip/value_surface.csv and clip/points.csv; the claims and figures
read those.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig
from torch import nn

from wgan_repro.aggregate import concatenated
from wgan_repro.data import load_dataset
from wgan_repro.errors import ConfigError
from wgan_repro.experiments.toy import lipschitz_estimate
from wgan_repro.metrics import exact_emd
from wgan_repro.models import build_critic
from wgan_repro.objectives import (
    clip_weights_,
    critic_input_gradients,
    gradient_penalty,
    interpolates,
    wasserstein_estimate,
    wgan_critic_loss,
)
from wgan_repro.plans import Plan, validated, validated_jobs
from wgan_repro.results import (
    CLIP_LAYER_COLUMNS,
    CLIP_OPTIMALITY_COLUMNS,
    CLIP_PENALTY_METHOD,
    CLIP_POINTS_COLUMNS,
    CLIP_SURFACE_COLUMNS,
    CLIP_WEIGHTS_COLUMNS,
    read_csv,
    write_csv,
    write_json,
)
from wgan_repro.schema import POINT_DATASETS

PARTS = ("fig1b", "fig1a")
FLOAT_FORMAT = "%.6g"  # 6 significant digits: the surfaces alone would be 8 MB at full precision
GP = CLIP_PENALTY_METHOD  # results.py declares it with the columns
AT_BOUND = 1e-6  # ||w| - c| <= this * c counts as at the bound (clamped weights are exactly +-c)
OUTPUTS = {"layer_grad_norms": CLIP_LAYER_COLUMNS, "weights": CLIP_WEIGHTS_COLUMNS,
           "critic_optimality": CLIP_OPTIMALITY_COLUMNS, "value_surface": CLIP_SURFACE_COLUMNS,
           "points": CLIP_POINTS_COLUMNS}


# ---- what is measured on a critic ----------------------------------------------------------------
def linear_weights(critic: nn.Module) -> list[torch.Tensor]:
    """The weight matrices of the critic's linear layers, input layer first (biases left out:
    the histograms and the bounds are about the weights)."""
    return [m.weight for m in critic.modules() if isinstance(m, nn.Linear)]


def share_at_bound(weights: list[torch.Tensor], clip: float) -> torch.Tensor:
    """Share of all the weights sitting at +-clip (a 0-d tensor, read later); weights beyond
    it (not yet clipped) are not at it."""
    at = sum(((w.detach().abs() - clip).abs() <= AT_BOUND * clip).sum() for w in weights)
    return at / sum(w.numel() for w in weights)


def weight_histogram(weights: list[torch.Tensor], bound: float, bins: int) -> np.ndarray:
    """Counts of every weight / ``bound`` in ``bins`` equal bins over [-1, 1] (the last bin
    holds +1: clamped weights sit exactly on the bound)."""
    values = torch.cat([w.detach().flatten() for w in weights]).cpu().numpy() / bound
    counts, _ = np.histogram(np.clip(values, -1, 1), bins=bins, range=(-1.0, 1.0))
    return counts


def histogram_rows(weights: list[torch.Tensor], clip: float | None, bins: int,
                   key: dict[str, Any]) -> list[dict[str, Any]]:
    """weights.csv rows: the bound is c for a clipped critic, the largest |w| otherwise."""
    bound = clip if clip is not None else float(max(w.detach().abs().max() for w in weights))
    edges = np.linspace(-1.0, 1.0, bins + 1)
    return [{**key, "bound": bound, "bin_low": float(lo), "bin_high": float(hi), "count": int(n)}
            for lo, hi, n in zip(edges[:-1], edges[1:], weight_histogram(weights, bound, bins))]


class LayerGradRecorder:
    """A train.CriticStepHook: every ``every``-th critic update, for each linear layer, the norm
    of the gradient of E f(real) - E f(fake) with respect to the layer's output on that update's
    real and fake batches (what backpropagation carries down the critic, WGAN-GP Fig. 1b's
    profile: it starts from the same value at the output layer for every method), the norm of
    the critic loss's gradient with respect to the layer's weights (penalty included: what the
    optimiser steps on), and the share of weights at +-c. Norms are taken in float64: at
    c = 0.001 the gradients reach 1e-28, whose squares float32 flushes to zero."""

    def __init__(self, every: int, clip: float | None, penalised: bool = False) -> None:
        self.every, self.clip = every, clip
        # the update's real and fake batches: its last two critic inputs, or the two before the
        # interpolates when a penalty is taken (a generator step's input may come first)
        self.batches = slice(-3, -1) if penalised else slice(-2, None)
        self.step = 0
        self.inputs: list[torch.Tensor] = []  # this update's critic inputs: real, fake, ...
        self.hooked: nn.Module | None = None
        self.pending: torch.Tensor | None = None
        self.records: list[tuple[int, int, torch.Tensor]] = []

    def _grab(self, module: nn.Module, args: tuple) -> None:
        self.inputs.append(args[0].detach().float())  # bf16 under autocast: measured in fp32

    def before(self, critic: nn.Module) -> None:
        if self.hooked is not critic:  # from the first update on: its inputs are not seen
            critic.register_forward_pre_hook(self._grab)
            self.hooked = critic
        self.step += 1
        inputs, self.inputs = self.inputs, []
        if self.step % self.every or len(inputs[self.batches]) < 2:
            return
        weights = linear_weights(critic)
        output_norms = layer_output_grad_norms(critic, *inputs[self.batches])
        weight_norms = torch.stack([torch.linalg.vector_norm(w.grad.double()) for w in weights])
        share = (share_at_bound(weights, self.clip).double() if self.clip is not None
                 else weight_norms.new_full((), math.nan))
        self.pending = torch.cat([output_norms, weight_norms, share.view(1)])

    def after(self, critic: nn.Module, gen_iter: int, critic_loss: torch.Tensor) -> None:
        if self.pending is not None:
            self.records.append((self.step, gen_iter, self.pending))
            self.pending = None

    def rows(self, key: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for step, gen_iter, values in self.records:
            values = values.cpu().tolist()
            n = (len(values) - 1) // 2
            out += [{**key, "critic_step": step, "gen_iter": gen_iter, "layer": i + 1,
                     "grad_norm": values[i], "weight_grad_norm": values[n + i],
                     "share_at_bound": values[-1]} for i in range(n)]
        return out


def layer_output_grad_norms(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor
                            ) -> torch.Tensor:
    """||d (E f(real) - E f(fake)) / d output of layer l||_2 over both batches, per linear layer
    (float64), the critic's weights untouched (its .grad too)."""
    outputs: list[torch.Tensor] = []

    def keep(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
        outputs.append(output)
        return output.clone()  # the in-place ReLU after it must not overwrite what we differentiate

    linears = [m for m in critic.modules() if isinstance(m, nn.Linear)]
    handles = [m.register_forward_hook(keep) for m in linears]
    try:
        with torch.enable_grad():
            estimate = wasserstein_estimate(critic(real).float(), critic(fake).float())
            grads = torch.autograd.grad(estimate, outputs)
    finally:
        for handle in handles:
            handle.remove()
    n = len(linears)
    squares = [g.double().square().sum() for g in grads]
    return torch.stack([(squares[i] + squares[n + i]).sqrt() for i in range(n)])


# ---- checks and the plan -------------------------------------------------------------------------
def method_clip(cfg: DictConfig) -> float | None:
    """The c of a job's objective (None: the penalty, no clipping)."""
    return None if cfg.objective.clip is None else float(cfg.objective.clip)


def validate_clip(cfg: DictConfig) -> None:
    c = cfg.clip
    errors = []
    if cfg.data.name not in POINT_DATASETS:
        errors.append(f"clip trains on 2-D points: use data=swiss_roll, ring8 or grid25, not "
                      f"data={cfg.data.name}")
    if cfg.generator.arch != "mlp" or cfg.critic.arch != "mlp":
        errors.append("clip uses MLP networks: generator=mlp critic=mlp")
    if not c.methods or not c.datasets:
        errors.append("clip.methods and clip.datasets must each name at least one entry")
    if c.method and c.method not in (c.surface_methods if c.part == "fig1a" else c.methods):
        errors.append(f"clip.method {c.method!r} is not in clip."
                      f"{'surface_methods' if c.part == 'fig1a' else 'methods'}")
    if not c.seeds:
        errors.append("clip.seeds is empty")
    errors += [f"clip.{k} must be >= 1, got {c[k]}" for k in
               ("record_every", "surface_steps", "eval_samples", "grid_points", "weight_bins",
                "plot_points") if c[k] < 1]
    errors += [f"clip.{k} must be > 0, got {c[k]}" for k in ("fake_noise_std", "grid_range")
               if c[k] <= 0]
    if not c.surface_methods:
        errors.append("clip.surface_methods must name at least one critic")
    if cfg.objective.loss != "wasserstein":
        errors.append("clip trains WGAN critics: every method needs objective.loss=wasserstein")
    if c.part and c.part not in PARTS:
        errors.append(f"clip.part must be one of {', '.join(PARTS)}, got {c.part!r}")
    if errors:
        raise ConfigError("; ".join(errors))


def plan(user: list[str]) -> Plan:
    """Fig. 1b: one ``train`` run per method of clip.methods and seed; Fig. 1a: one critic per
    dataset of clip.datasets, critic of clip.surface_methods and seed. The method's and the
    dataset's own overrides come first, so what the user typed wins."""
    base = ["experiment=clip"]
    cfg = validated([*base, *user], validate_clip)
    c = cfg.clip
    jobs = [[*base, *c.methods[m], *user, "clip.part=fig1b", f"clip.method={m}", f"seed={s}"]
            for m in c.methods for s in c.seeds]
    jobs += [[*base, *c.datasets[d], *c.surface_methods[m], *c.surface_critic, *user,
              "clip.part=fig1a",
              f"clip.dataset={d}", f"clip.method={m}", f"seed={s}"]
             for d in c.datasets for m in c.surface_methods for s in c.seeds]
    return Plan("clip", cfg, jobs, list(c.seeds), job_cfgs=validated_jobs(jobs, validate_clip))


def run_folder(cfg: DictConfig) -> Path:
    """Where a job writes its CSVs: clip/runs/fig1b-<method>-s<seed>/ or
    clip/runs/fig1a-<dataset>-<method>-s<seed>/."""
    names = [cfg.clip.part] + ([cfg.clip.dataset] if cfg.clip.part == "fig1a" else [])
    return (Path(cfg.results_dir) / "clip" / "runs"
            / "-".join([*names, cfg.clip.method, f"s{int(cfg.seed)}"]))


def run(cfg: DictConfig) -> dict[str, Any]:
    """One job (``cfg`` was validated when planned): its CSVs, in its run folder."""
    out = run_folder(cfg)
    done = out / "done.json"
    if not done.exists():  # a job's CSVs are written together at its end: all or none
        tables = run_fig1b(cfg) if cfg.clip.part == "fig1b" else run_fig1a(cfg)
        for name, rows in tables.items():
            write_csv(out / f"{name}.csv", rows, OUTPUTS[name], FLOAT_FORMAT)
        write_json(done, {"tables": sorted(tables)})
    return {"folder": str(out)}


def method_key(cfg: DictConfig) -> dict[str, Any]:
    """The method and c columns of a job's rows."""
    clip = method_clip(cfg)
    return {"method": "clip" if clip is not None else GP, "c": clip}


# ---- Fig. 1b: a deep WGAN on Swiss Roll ----------------------------------------------------------
def run_fig1b(cfg: DictConfig) -> dict[str, list[dict]]:
    """A ``train`` run with the layer recorder; the per-update log lives in memory, so a job
    interrupted before its end starts over (a minute or two at the cpu tier)."""
    import shutil

    from wgan_repro.checkpoint import load_checkpoint
    from wgan_repro.train import run_dir_for, semantic_config, train

    clip = method_clip(cfg)
    key = {**method_key(cfg), "seed": int(cfg.seed)}
    run_dir = run_dir_for(cfg)
    if run_dir.exists():
        shutil.rmtree(run_dir)
    recorder = LayerGradRecorder(cfg.clip.record_every, clip, cfg.objective.gradient_penalty > 0)
    train(cfg, run_dir=run_dir, critic_step_hook=recorder)
    state = load_checkpoint(run_dir / "checkpoints" / "last.pt", semantic_config(cfg))
    critic = build_critic(cfg.critic, (2,))
    critic.load_state_dict(state["critic"])
    return {"layer_grad_norms": recorder.rows(key),
            "weights": histogram_rows(linear_weights(critic), clip, cfg.clip.weight_bins,
                                      {**key, "part": "fig1b", "dataset": cfg.data.name})}


# ---- Fig. 1a: critics against a fixed "generator" -------------------------------------------------
def train_fixed_critic(cfg: DictConfig, data: torch.Tensor, generator: torch.Generator,
                       evaluation: tuple, key: dict[str, Any]
                       ) -> tuple[nn.Module, list[dict[str, Any]]]:
    """One critic, with the job's objective and optimiser, against real + noise: clipped
    (P2 Algorithm 1) or penalised (WGAN-GP Algorithm 1); rows of critic_optimality.csv every
    clip.record_every steps. Its initial weights come from the global RNG (seeded by the
    caller), its batches and interpolation weights from ``generator``."""
    from wgan_repro.runtime import make_optimizer

    c, clip, weight = cfg.clip, method_clip(cfg), cfg.objective.gradient_penalty
    critic = build_critic(cfg.critic, (2,))
    optimizer = make_optimizer(cfg.optim, critic.parameters())
    real_eval, fake_eval, emd = evaluation
    rows = []
    for step in range(c.surface_steps + 1):
        if step % c.record_every == 0 or step == c.surface_steps:
            rows.append({**key, "step": step,
                         "share_at_bound": (float(share_at_bound(linear_weights(critic), clip))
                                            if clip is not None else math.nan),
                         **optimality(critic, real_eval, fake_eval, emd, generator)})
        if step == c.surface_steps:
            break
        real = data[torch.randint(len(data), (cfg.train.batch_size,), generator=generator)]
        fake = real + c.fake_noise_std * torch.randn(real.shape, generator=generator)
        loss = wgan_critic_loss(critic(real), critic(fake))
        if weight > 0:
            eps = torch.rand(len(real), generator=generator)
            loss = loss + gradient_penalty(
                critic_input_gradients(critic, interpolates(real, fake, eps)), weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if clip is not None:
            clip_weights_(critic.parameters(), clip)
    return critic, rows


def optimality(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, emd: float,
               generator: torch.Generator) -> dict[str, float]:
    """The critic's estimate, its measured Lipschitz constant, and the estimate divided by
    that constant over the exact EMD (1 = an optimal 1-Lipschitz critic)."""
    with torch.no_grad():
        estimate = float(wasserstein_estimate(critic(real), critic(fake)))
    lipschitz = lipschitz_estimate(critic, real, fake, generator)
    normalised = estimate / lipschitz if lipschitz > 0 else math.nan
    return {"estimate": estimate, "lipschitz": lipschitz, "emd": emd,
            "optimality": normalised / emd if emd > 0 else math.nan}


def surface_grid(cfg: DictConfig) -> torch.Tensor:
    """The points of the value-surface grid: grid_points^2 over [-range, range]^2."""
    axis = torch.linspace(-cfg.clip.grid_range, cfg.clip.grid_range, cfg.clip.grid_points)
    gx, gy = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)


def run_fig1a(cfg: DictConfig) -> dict[str, list[dict]]:
    """One critic of Fig. 1a: its optimality over training, its value surface, its weights;
    and the samples the figure shows (the same for every method of a dataset and seed)."""
    c, seed = cfg.clip, int(cfg.seed)
    data = load_dataset(cfg.data, cache_dir=Path(cfg.results_dir) / ".cache").train
    generator = torch.Generator().manual_seed(seed)
    real_eval = data[torch.randint(len(data), (c.eval_samples,), generator=generator)]
    fake_eval = data[torch.randint(len(data), (c.eval_samples,), generator=generator)]
    fake_eval = fake_eval + c.fake_noise_std * torch.randn(fake_eval.shape, generator=generator)
    key = {"dataset": c.dataset, **method_key(cfg), "seed": seed}
    torch.manual_seed(seed)  # every method's critic of this seed starts from the same weights
    critic, rows = train_fixed_critic(cfg, data, generator,
                                      (real_eval, fake_eval, exact_emd(real_eval, fake_eval)), key)
    grid = surface_grid(cfg)
    with torch.no_grad():
        values = critic(grid).tolist()
    shown = {"real": real_eval[:c.plot_points], "fake": fake_eval[:c.plot_points]}
    return {"critic_optimality": rows,
            "value_surface": [{**key, "x": x, "y": y, "value": v}
                              for (x, y), v in zip(grid.tolist(), values)],
            "weights": histogram_rows(linear_weights(critic), method_clip(cfg), c.weight_bins,
                                      {**key, "part": "fig1a"}),
            "points": [{"dataset": c.dataset, "seed": seed, "kind": kind, "x": x, "y": y}
                       for kind, points in shown.items() for x, y in points.tolist()]}


# ---- time and aggregation ------------------------------------------------------------------------
def expected_seconds(cfg: DictConfig, timer) -> float:
    """One job on this machine: a train run (Fig. 1b), or one critic's steps (Fig. 1a)."""
    if cfg.clip.part == "fig1b":
        from wgan_repro.eta import train_loop_seconds

        return train_loop_seconds(cfg, timer)
    c = cfg.clip
    data = torch.randn(4 * cfg.train.batch_size, 2)
    key = {"units": cfg.critic.hidden_units, "layers": cfg.critic.hidden_layers,
           "batch": cfg.train.batch_size, "penalty": cfg.objective.gradient_penalty > 0,
           "optim": cfg.optim.name}

    def steps(n: int) -> None:
        probe = cfg.copy()
        probe.clip.surface_steps, probe.clip.record_every = n, n + 1
        train_fixed_critic(probe, data, torch.Generator().manual_seed(0),
                           (data[:8], data[8:16], 1.0), {})

    return timer.seconds("clip_surface_step", key, steps) * c.surface_steps


def aggregate(plan: Plan, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The jobs' CSVs concatenated into clip/<table>.csv; summary.json names the source."""
    import pandas as pd

    cfg = plan.cfg
    out = plan.results_dir / "clip"
    for name, columns in OUTPUTS.items():
        tables = [read_csv(Path(r["folder"]) / f"{name}.csv", columns) for r in runs
                  if (Path(r["folder"]) / f"{name}.csv").exists()]
        frame = concatenated(tables, columns) if tables else pd.DataFrame(columns=columns)
        if name == "points":  # every critic of a dataset and seed wrote the same samples
            frame = frame.drop_duplicates(ignore_index=True)
        write_csv(out / f"{name}.csv", frame.to_dict("records"), columns, FLOAT_FORMAT)
    seeds = ", ".join(map(str, cfg.clip.seeds))
    summary = {"source": (f"clip/*.csv (tier {cfg.tier}, seeds {seeds}; Fig. 1b: "
                          f"{cfg.train.iterations} generator iterations, "
                          f"{cfg.critic.hidden_layers + 1}-layer critic of "
                          f"{cfg.critic.hidden_units} units; Fig. 1a: {cfg.clip.surface_steps} "
                          f"critic steps)"),
               "methods": list(cfg.clip.methods), "datasets": list(cfg.clip.datasets)}
    write_json(out / "summary.json", summary)
    return summary
