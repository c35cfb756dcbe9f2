"""P2 Fig. 1-2: the low-dimensional examples.

Parallel lines (P2 Example 1): P0 is uniform on {0} x [0, 1], P_theta on {theta} x [0, 1].
W = |theta| while JS = log 2, KL = inf and TV = 1 for every theta != 0: only W is continuous
in theta. For each theta on a grid we train, on samples, a weight-clipped WGAN critic and a
GAN discriminator (small ReLU MLPs) and compare their estimates, and the exact sample EMD
(POT), with the closed forms. A clipped critic is K-Lipschitz for some unknown K (P2 Thm. 3
gives W up to that constant), so its estimate is divided by its measured Lipschitz constant
(largest input-gradient norm over real, fake and in-between points).

Two Gaussians (P2 Fig. 2): real and fake 1-D Gaussians far apart; a discriminator trained to
optimality saturates (no gradient on the fake samples), the critic is nearly linear.

Both are trained networks, so both figures are rerun for every seed of toy.seeds (one job per
seed, each writing toy/runs/s<seed>/); the aggregation concatenates the seeds, with a leading
seed column, into toy/parallel_lines.csv and toy/two_gaussians.csv.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig
from torch import Tensor, nn

from wgan_repro.errors import ConfigError
from wgan_repro.metrics import exact_emd
from wgan_repro.objectives import (
    LOG_2,
    clip_weights_,
    gan_discriminator_loss,
    js_estimate,
    wasserstein_estimate,
    wgan_critic_loss,
)
from wgan_repro.plans import Plan, validated, validated_jobs
from wgan_repro.results import (
    PARALLEL_LINES_COLUMNS,
    TWO_GAUSSIANS_COLUMNS,
    read_csv,
    write_csv,
    write_json,
)


# ---- closed forms ---------------------------------------------------------------------------------
def closed_forms(theta: float) -> dict[str, float]:
    """P2 Example 1: distances between P0 and P_theta."""
    moved = theta != 0
    return {"w_closed_form": abs(theta), "js_closed_form": LOG_2 if moved else 0.0,
            "kl_closed_form": math.inf if moved else 0.0, "tv_closed_form": 1.0 if moved else 0.0}


def parallel_lines(theta: float, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """n samples of P0 and of P_theta (independent heights)."""
    real = torch.stack([torch.zeros(n), torch.rand(n, generator=generator)], 1)
    fake = torch.stack([torch.full((n,), float(theta)), torch.rand(n, generator=generator)], 1)
    return real, fake


def small_mlp(n_in: int, hidden_units: int, hidden_layers: int) -> nn.Module:
    layers: list[nn.Module] = []
    width = n_in
    for _ in range(hidden_layers):
        layers += [nn.Linear(width, hidden_units), nn.ReLU()]
        width = hidden_units
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers, nn.Flatten(0))


# ---- training to (near) optimality on fixed distributions ------------------------------------------
def train_to_optimum(sample, cfg: DictConfig, n_in: int, steps: int, wasserstein: bool
                     ) -> nn.Module:
    """Train a critic (weight-clipped, RMSProp: maximise E f(real) - E f(fake)) or a GAN
    discriminator (logits, Adam: maximise E log D(real) + E log(1 - D(fake))) against fixed
    distributions."""
    model = small_mlp(n_in, cfg.toy.hidden_units, cfg.toy.hidden_layers)
    if wasserstein:
        optimizer = torch.optim.RMSprop(model.parameters(), lr=cfg.toy.critic_lr)
        loss_fn = wgan_critic_loss
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.toy.discriminator_lr)
        loss_fn = gan_discriminator_loss
    for _ in range(steps):
        real, fake = sample()
        loss = loss_fn(model(real), model(fake))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if wasserstein:
            clip_weights_(model.parameters(), cfg.toy.clip)
    return model


def input_gradients(model: nn.Module, x: Tensor) -> Tensor:
    """d model(x_i) / d x_i for every sample (the model maps each sample independently)."""
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(x).sum(), x)
    return grad


def lipschitz_estimate(critic: nn.Module, real: Tensor, fake: Tensor,
                       generator: torch.Generator) -> float:
    """Largest input-gradient norm over real, fake and random in-between points."""
    mix = torch.rand(len(real), 1, generator=generator)
    points = torch.cat([real, fake, mix * real + (1 - mix) * fake])
    return float(input_gradients(critic, points).norm(dim=1).max())


# ---- the two figures ------------------------------------------------------------------------------
def validate_toy(cfg: DictConfig) -> None:
    t = cfg.toy
    errors = [f"toy.{k} must be >= {m}, got {t[k]}" for k, m in
              (("thetas", 2), ("samples", 2), ("eval_samples", 2), ("hidden_units", 1),
               ("hidden_layers", 1), ("critic_steps", 1), ("discriminator_steps", 1),
               ("gaussian_steps", 1), ("grid_points", 3)) if t[k] < m]
    errors += [f"toy.{k} must be > 0, got {t[k]}" for k in
               ("critic_lr", "discriminator_lr", "clip", "gaussian_std") if t[k] <= 0]
    seeds = list(t.seeds)
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    errors += ["toy.seeds must name at least one seed"] if not seeds else []
    errors += [f"toy.seeds names seed {', '.join(map(str, repeated))} more than once (a repeat "
               "would count twice)"] if repeated else []
    if errors:
        raise ConfigError("; ".join(errors))


def run_parallel_lines(cfg: DictConfig) -> list[dict[str, float]]:
    torch.manual_seed(cfg.seed)
    t = cfg.toy
    rows = []
    for i, theta in enumerate(np.linspace(-1.0, 1.0, t.thetas)):
        theta = float(round(theta, 10))
        gen = torch.Generator().manual_seed(cfg.seed * 100_003 + i)

        def sample(theta=theta, gen=gen):
            return parallel_lines(theta, t.samples, gen)

        critic = train_to_optimum(sample, cfg, 2, t.critic_steps, wasserstein=True)
        discriminator = train_to_optimum(sample, cfg, 2, t.discriminator_steps,
                                         wasserstein=False)
        real, fake = parallel_lines(theta, t.eval_samples, gen)  # fresh samples
        with torch.no_grad():
            raw = float(wasserstein_estimate(critic(real), critic(fake)))
            js = float(js_estimate(discriminator(real), discriminator(fake)))
        lipschitz = lipschitz_estimate(critic, real, fake, gen)
        rows.append({"theta": theta, **closed_forms(theta),
                     "emd_samples": exact_emd(real, fake),
                     "critic_estimate": abs(raw) / lipschitz if lipschitz > 0 else math.nan,
                     "critic_estimate_raw": raw, "critic_lipschitz": lipschitz,
                     "js_estimate": js})
    return rows


def run_two_gaussians(cfg: DictConfig) -> list[dict[str, float]]:
    torch.manual_seed(cfg.seed)
    t = cfg.toy
    gen = torch.Generator().manual_seed(cfg.seed + 7)

    def sample():
        real = t.gaussian_real_mean + t.gaussian_std * torch.randn(t.samples, 1, generator=gen)
        fake = t.gaussian_fake_mean + t.gaussian_std * torch.randn(t.samples, 1, generator=gen)
        return real, fake

    critic = train_to_optimum(sample, cfg, 1, t.gaussian_steps, wasserstein=True)
    discriminator = train_to_optimum(sample, cfg, 1, t.gaussian_steps, wasserstein=False)
    lo = min(t.gaussian_real_mean, t.gaussian_fake_mean) - 4 * t.gaussian_std
    hi = max(t.gaussian_real_mean, t.gaussian_fake_mean) + 4 * t.gaussian_std
    x = torch.linspace(lo, hi, t.grid_points).unsqueeze(1)

    def density(mean):
        z = (x - mean) / t.gaussian_std
        return torch.exp(-0.5 * z ** 2) / (t.gaussian_std * math.sqrt(2 * math.pi))

    d_grad = input_gradients(lambda v: torch.sigmoid(discriminator(v)), x)[:, 0]
    with torch.no_grad():
        d_value, f_value = torch.sigmoid(discriminator(x)), critic(x)
    columns = {"x": x[:, 0], "density_real": density(t.gaussian_real_mean)[:, 0],
               "density_fake": density(t.gaussian_fake_mean)[:, 0], "discriminator": d_value,
               "discriminator_grad": d_grad, "critic": f_value}
    return [dict(zip(columns, map(float, values))) for values in zip(*columns.values())]


def expected_seconds(cfg: DictConfig, timer) -> float:
    """One seed (wgan_repro.eta): a critic and a discriminator trained at every theta, and
    both on the two Gaussians; a step of the small MLP timed on this machine."""
    t = cfg.toy
    key = {"hidden_units": t.hidden_units, "hidden_layers": t.hidden_layers, "samples": t.samples}

    def steps(n: int) -> None:
        def sample():
            return parallel_lines(0.5, t.samples, torch.Generator().manual_seed(0))
        train_to_optimum(sample, cfg, 2, n, wasserstein=True)

    per_step = timer.seconds("toy_critic_step", key, steps)
    return per_step * (t.thetas * (t.critic_steps + t.discriminator_steps) + 2 * t.gaussian_steps)


def plan(user: list[str]) -> Plan:
    """One job per seed of toy.seeds (the critics and discriminators are trained networks: the
    claims are judged on every seed)."""
    base = ["experiment=toy", *user]
    cfg = validated(base, validate_toy)
    jobs = [[*base, f"seed={s}"] for s in cfg.toy.seeds]
    return Plan("toy", cfg, jobs, list(cfg.toy.seeds), job_cfgs=validated_jobs(jobs, validate_toy))


def run_folder(results_dir, seed: int) -> Path:
    """Where one seed's job writes its two CSVs: toy/runs/s<seed>/."""
    return Path(results_dir) / "toy" / "runs" / f"s{int(seed)}"


def run(cfg: DictConfig) -> dict[str, Any]:
    """One seed's data of both figures: toy/runs/s<seed>/parallel_lines.csv and
    two_gaussians.csv (the seed in their first column). ``cfg`` was validated when the job was
    planned (validate_toy)."""
    out = run_folder(cfg.results_dir, cfg.seed)
    seed = {"seed": int(cfg.seed)}
    write_csv(out / "parallel_lines.csv", [{**seed, **r} for r in run_parallel_lines(cfg)],
              PARALLEL_LINES_COLUMNS)
    write_csv(out / "two_gaussians.csv", [{**seed, **r} for r in run_two_gaussians(cfg)],
              TWO_GAUSSIANS_COLUMNS)
    return {"seed": int(cfg.seed), "parallel_lines": str(out / "parallel_lines.csv"),
            "two_gaussians": str(out / "two_gaussians.csv")}


def aggregate(plan: Plan, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The seeds' CSVs concatenated (by seed) into toy/parallel_lines.csv and
    toy/two_gaussians.csv, where the judge and the figures read them, and summary.json with each
    seed's descriptive numbers; returns the summary.

    The claims' statistics are not in these numbers: the judge computes them once, from the two
    CSVs, and writes them into results/claims_seeds.csv and this summary's "claims_seeds"."""
    import pandas as pd

    cfg = plan.cfg
    runs = sorted(runs, key=lambda r: r["seed"])
    out = plan.results_dir / "toy"
    tables = {}
    for name, columns in (("parallel_lines", PARALLEL_LINES_COLUMNS),
                          ("two_gaussians", TWO_GAUSSIANS_COLUMNS)):
        frame = pd.concat([read_csv(Path(r[name]), columns) for r in runs], ignore_index=True)
        write_csv(out / f"{name}.csv", frame.to_dict("records"), columns)
        tables[name] = frame
    seeds = [int(r["seed"]) for r in runs]
    summary = {"seeds": {str(seed): describe_seed(tables["parallel_lines"], tables["two_gaussians"],
                                                  seed, cfg) for seed in seeds},
               "source": (f"toy/parallel_lines.csv, toy/two_gaussians.csv (tier {cfg.tier}, seeds "
                          f"{', '.join(map(str, seeds))}, {cfg.toy.thetas} thetas)")}
    write_json(out / "summary.json", summary)
    return summary


def describe_seed(lines, gaussians, seed: int, cfg: DictConfig) -> dict[str, Any]:
    """One seed's descriptive numbers (none of them a claim's statistic): the clipped critic's
    measured Lipschitz constant over the theta grid (what its estimate is divided by) and the
    trained discriminator's D(x) and the critic's f(x) at the two Gaussians' means."""
    t = cfg.toy
    lines, gaussians = lines[lines["seed"] == seed], gaussians[gaussians["seed"] == seed]
    lipschitz = lines["critic_lipschitz"]

    def at(column: str, x: float) -> float:
        return float(gaussians.loc[(gaussians["x"] - x).abs().idxmin(), column])

    return {"thetas": int(len(lines)),
            "critic_lipschitz_median": float(lipschitz.median()),
            "critic_lipschitz_min": float(lipschitz.min()),
            "critic_lipschitz_max": float(lipschitz.max()),
            "discriminator_at_real_mean": at("discriminator", t.gaussian_real_mean),
            "discriminator_at_fake_mean": at("discriminator", t.gaussian_fake_mean),
            "critic_at_real_mean": at("critic", t.gaussian_real_mean),
            "critic_at_fake_mean": at("critic", t.gaussian_fake_mean)}
