"""P1 Figures 1-3: a discriminator trained from scratch against a frozen generator.

Protocol (P1 section 2.2): train a DCGAN (non-saturating cost, Adam, the DCGAN recipe),
keep a generator snapshot after each requested epoch, then for each snapshot freeze the
generator and train a fresh discriminator. Every ``measure_every`` discriminator
iterations, on one batch of noise z, record the discriminator's loss and accuracy and the
L2 norm (over all generator parameters) of the gradient of both generator costs:

    grad_norm_original = || d/dtheta E log(1 - D(G(z))) ||   (P1 Fig. 2: vanishes)
    grad_norm_logd     = || d/dtheta E -log D(G(z)) ||       (P1 Fig. 3: does not)

With instance noise on (``objective.instance_noise_std > 0``, P1 section 3; what
``wgan-repro probe noise`` does), the from-scratch discriminator sees real and generated
images with N(0, std^2) added, in training and in the measurement, so the norms are those of
the noisy game. The snapshots themselves always come from the plain DCGAN recipe, so runs
with and without noise share them.

The frozen generator keeps batch norm in training mode (batch statistics), the mode it was
trained in and the one the reference code samples with; its weights never change.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from wgan_repro.checkpoint import verified_load
from wgan_repro.data import load_dataset, make_batches
from wgan_repro.errors import ConfigError
from wgan_repro.models import build_critic, build_generator
from wgan_repro.objectives import (
    add_instance_noise,
    build_objective,
    discriminator_accuracy,
    gan_discriminator_loss,
    gan_minimax_generator_loss,
    gan_nonsaturating_generator_loss,
)
from wgan_repro.results import (
    FIG2_COLUMNS,
    config_hash,
    locked,
    read_csv,
    remove_stale_temporaries,
    update_claims,
    write_csv,
    write_json,
    write_text,
)
from wgan_repro.train import make_optimizer, semantic_config, setup_runtime, train

INSTANCE_NOISE_KEYS = ("instance_noise_std", "instance_noise_final_std",
                       "instance_noise_anneal_iters")  # objective keys of P1 section 3's noise
EDGE_FRACTION = 0.05  # "first and last 5% of D iterations" (issue #3's claim definition)


def validate_fig2(cfg: DictConfig) -> None:
    epochs = list(cfg.fig2.epochs)
    if not epochs or any(e < 1 for e in epochs):
        raise ConfigError(f"fig2.epochs must all be >= 1, got {epochs}")
    if any(b <= a for a, b in zip(epochs, epochs[1:])):
        raise ConfigError(f"fig2.epochs must be strictly increasing, got {epochs}")
    if cfg.fig2.d_iters < 1 or cfg.fig2.measure_every < 1:
        raise ConfigError("fig2.d_iters and fig2.measure_every must be >= 1")
    if cfg.objective.loss == "wasserstein":
        raise ConfigError("fig2 trains a standard GAN: use objective=gan_nonsaturating or gan_minimax")


# ---- the measurement ----------------------------------------------------------------------------
def flat_grad_norm(grads: list[torch.Tensor]) -> torch.Tensor:
    """L2 norm of all gradients taken as one vector."""
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


def generator_grad_norms(generator: torch.nn.Module, logits_fake: torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """Norms of the gradients of both generator costs w.r.t. all generator parameters, from
    the discriminator's logits on G(z) (built with a graph through the generator)."""
    params = [p for p in generator.parameters()]
    original = torch.autograd.grad(gan_minimax_generator_loss(logits_fake), params,
                                   retain_graph=True)
    logd = torch.autograd.grad(gan_nonsaturating_generator_loss(logits_fake), params)
    return flat_grad_norm(list(original)), flat_grad_norm(list(logd))


def train_discriminator_from_scratch(cfg: DictConfig, generator: torch.nn.Module, batches,
                                     sample_shape, device: torch.device, epoch: int,
                                     progress=None) -> list[list[float]]:
    """Train a fresh discriminator against the frozen ``generator``; rows of FIG2_COLUMNS."""
    torch.manual_seed(cfg.seed)  # the same initial D for every snapshot of a seed
    discriminator = build_critic(cfg.critic, sample_shape).to(device)
    optimizer = make_optimizer(cfg.optim, discriminator.parameters())
    batch_size, nz = cfg.train.batch_size, cfg.generator.nz
    every, d_iters = cfg.fig2.measure_every, cfg.fig2.d_iters
    noise = build_objective(cfg.objective).instance_noise  # std per D iteration; 0 = off
    generator.train()  # batch statistics, as the generator was trained (see module doc)
    rows: list[list[float]] = []

    def measure(d_iter: int, real: torch.Tensor) -> None:
        std = noise(max(d_iter - 1, 0))  # the level of the update just made
        discriminator.requires_grad_(False)  # gradients for G's parameters only
        fake_images = generator(torch.randn(batch_size, nz, device=device))
        logits_fake = discriminator(add_instance_noise(fake_images, std))
        norm_original, norm_logd = generator_grad_norms(generator, logits_fake)
        with torch.no_grad():
            logits_real = discriminator(add_instance_noise(real, std))
            fake = logits_fake.detach()
            values = torch.stack([gan_discriminator_loss(logits_real, fake),
                                  discriminator_accuracy(logits_real, fake),
                                  norm_original, norm_logd]).tolist()
        discriminator.requires_grad_(True)
        rows.append([epoch, cfg.seed, d_iter, *values, std])

    real = batches.next()
    measure(0, real)  # the untrained discriminator's starting point
    for d_iter in range(1, d_iters + 1):
        real = batches.next()
        with torch.no_grad():  # the discriminator step needs no graph through G
            fake = generator(torch.randn(batch_size, nz, device=device))
        std = noise(d_iter - 1)
        loss = gan_discriminator_loss(discriminator(add_instance_noise(real, std)),
                                      discriminator(add_instance_noise(fake, std)))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if d_iter % every == 0 or d_iter == d_iters:
            measure(d_iter, real)
            if progress is not None:
                progress(d_iter, rows[-1])
    return rows


# ---- one seed: snapshots, then a discriminator per snapshot -------------------------------------
def snapshot_run_config(cfg: DictConfig, batches_per_epoch: int) -> DictConfig:
    """The DCGAN training run behind the snapshots: one snapshot per epoch, so any later
    request for other epochs is served from the same run (continued if need be)."""
    snap = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
    snap.train.iterations = max(cfg.fig2.epochs) * batches_per_epoch
    snap.train.snapshot_every = batches_per_epoch
    snap.train.sample_every = batches_per_epoch
    snap.train.checkpoint_every = batches_per_epoch
    snap.experiment_name = "fig2/dcgan"
    # The snapshots are the plain DCGAN recipe's: instance noise is for the D from scratch.
    for key in INSTANCE_NOISE_KEYS:
        snap.objective[key] = type(snap.objective[key])(0)  # 0.0 or 0: the hash keeps its types
    return snap


def run_fig2(cfg: DictConfig) -> dict[str, Any]:
    """One seed of the protocol; returns the path of its grad_norms.csv and timings."""
    validate_fig2(cfg)
    device = setup_runtime(cfg)
    started = time.perf_counter()
    data = load_dataset(cfg.data, cache_dir=Path(cfg.results_dir) / ".cache")
    batches_per_epoch = data.n_train // cfg.train.batch_size
    if batches_per_epoch < 1:
        raise ConfigError(f"train.batch_size={cfg.train.batch_size} is larger than the training "
                          f"set ({data.n_train} examples): no full batch per epoch")
    snap_cfg = snapshot_run_config(cfg, batches_per_epoch)
    dcgan = train(snap_cfg)
    dcgan_dir = Path(dcgan["run_dir"])
    if dcgan["diverged"]:  # a result: this seed has no snapshots, the other seeds go on
        return {"seed": cfg.seed, "files": [], "dcgan_run": str(dcgan_dir),
                "diverged_at": dcgan["diverged_at"], "seconds": time.perf_counter() - started}

    # Each (snapshot, seed) discriminator run is cached by everything it depends on.
    identity = {"dcgan": semantic_config(snap_cfg), "fig2": {
        "d_iters": cfg.fig2.d_iters, "measure_every": cfg.fig2.measure_every}}
    noise = {key: cfg.objective[key] for key in INSTANCE_NOISE_KEYS}
    if noise["instance_noise_std"] > 0 or noise["instance_noise_final_std"] > 0:
        identity["instance_noise"] = noise  # absent when off: plain fig2 runs keep their cache
    seed_dir = Path(cfg.results_dir) / "fig2" / "runs" / f"s{cfg.seed}-{config_hash(identity)}"
    generator = build_generator(cfg.generator, data.sample_shape).to(device)
    timings = {"dcgan_seconds": time.perf_counter() - started}
    # fig2 and probe noise share these runs: a second process waits, then reuses them.
    with locked(seed_dir / ".lock", f"fig2 runs {seed_dir}"):
        remove_stale_temporaries(seed_dir)
        files = _discriminator_runs(cfg, data, generator, dcgan_dir, batches_per_epoch, seed_dir,
                                    device, timings)
    return {"seed": cfg.seed, "files": files, "dcgan_run": str(dcgan_dir),
            "seconds": time.perf_counter() - started, **timings}


def _discriminator_runs(cfg, data, generator, dcgan_dir, batches_per_epoch, seed_dir, device,
                        timings) -> list[str]:
    """One discriminator from scratch per requested snapshot, each CSV reused when present."""
    files = []
    for epoch in cfg.fig2.epochs:
        out = seed_dir / f"epoch_{epoch:03d}.csv"
        files.append(str(out))
        if out.exists():
            continue  # finished before: reuse
        snapshot = dcgan_dir / "snapshots" / f"gen_iter_{epoch * batches_per_epoch:06d}.pt"
        generator.load_state_dict(verified_load(snapshot, "generator snapshot", device))
        batches = make_batches(data, cfg.train.batch_size, cfg.seed, device)
        t0 = time.perf_counter()
        rows = train_discriminator_from_scratch(
            cfg, generator, batches, data.sample_shape, device, epoch,
            progress=_progress_printer(cfg, epoch))
        timings[f"epoch_{epoch}_seconds"] = time.perf_counter() - t0
        write_csv(out, [dict(zip(FIG2_COLUMNS, r)) for r in rows], FIG2_COLUMNS)
    write_text(seed_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    return files


def _progress_printer(cfg, epoch):
    if cfg.progress == "none":
        return None
    step = max(cfg.fig2.d_iters // 4, 1)

    def show(d_iter, row):
        if d_iter % step == 0 or d_iter == cfg.fig2.d_iters:
            print(f"[fig2 seed {cfg.seed} epoch {epoch}] D iter {d_iter}/{cfg.fig2.d_iters}  "
                  f"acc {row[4]:.3f}  |grad original| {row[5]:.3g}  |grad -log D| {row[6]:.3g}",
                  flush=True)

    return show


# ---- all seeds: the figure data, the summary, the claims ----------------------------------------
def aggregate(results_dir: Path, files: list[str], source: str,
              diverged: dict[int, int] | None = None) -> dict[str, Any]:
    """Concatenate every seed's CSVs, summarise per epoch, compute the claims, plot.

    ``diverged`` maps the seeds whose DCGAN hit NaN/Inf to that generator iteration: they
    have no snapshots, are left out and said so in summary.json and in the claims' source.
    """
    import pandas as pd

    from wgan_repro import plots

    diverged = dict(sorted((diverged or {}).items()))
    source += diverged_note(diverged)
    out_dir = Path(results_dir) / "fig2"
    frames = [read_csv(Path(f), FIG2_COLUMNS) for f in files]
    frame = (pd.concat(frames, ignore_index=True) if frames
             else pd.DataFrame(columns=list(FIG2_COLUMNS)))
    frame = frame.sort_values(["epoch", "seed", "d_iter"]).reset_index(drop=True)
    write_csv(out_dir / "grad_norms.csv", frame.to_dict("records"), FIG2_COLUMNS)
    summary = summarize(frame)
    summary["diverged_dcgan"] = {str(s): i for s, i in diverged.items()}
    claims = (claims_from_summary(summary, source) if summary["epochs"]
              else no_data_claims("every seed's DCGAN diverged: no snapshots", source))
    summary["claims"] = claims
    write_json(out_dir / "summary.json", summary)
    update_claims(Path(results_dir), "fig2", claims)
    if summary["epochs"]:
        plots.plot_fig2(out_dir / "grad_norms.csv", out_dir)
    return summary


def diverged_note(diverged: dict[int, int]) -> str:
    """What a claim's source says about seeds left out because their DCGAN diverged."""
    if not diverged:
        return ""
    return "; left out, DCGAN diverged: " + ", ".join(
        f"seed {s} at generator iteration {i}" for s, i in sorted(diverged.items()))


def edge_medians(group, column):
    """Medians of `column` over the first and last EDGE_FRACTION of D iterations, all seeds."""
    d_max = group["d_iter"].max()
    width = max(EDGE_FRACTION * d_max, 1)
    first = group.loc[group["d_iter"] <= width, column].median()
    last = group.loc[group["d_iter"] >= d_max - width, column].median()
    return float(first), float(last)


def summarize(frame) -> dict[str, Any]:
    import numpy as np

    epochs: dict[str, Any] = {}
    for epoch, group in frame.groupby("epoch"):
        first_o, last_o = edge_medians(group, "grad_norm_original")
        first_l, last_l = edge_medians(group, "grad_norm_logd")
        second_half = group[group["d_iter"] >= group["d_iter"].max() / 2]
        spread = {c: float(second_half.groupby("seed")[c].apply(lambda v: np.log10(v).std()).median())
                  for c in ("grad_norm_original", "grad_norm_logd")}
        epochs[str(int(epoch))] = {
            "seeds": sorted(int(s) for s in group["seed"].unique()),
            "d_iters": int(group["d_iter"].max()),
            "grad_norm_original_first": first_o, "grad_norm_original_last": last_o,
            "grad_norm_logd_first": first_l, "grad_norm_logd_last": last_l,
            "orders_decayed_original": math.log10(first_o / last_o),
            # Context, not the verdict: from the untrained discriminator's norm (d_iter 0),
            # which is how P1 counts "5 orders of magnitude after 4000 iterations".
            "orders_decayed_original_from_start": math.log10(
                group.loc[group["d_iter"] == 0, "grad_norm_original"].median() / last_o),
            "logd_over_original_last": last_l / last_o,
            "log10_spread_second_half_original": spread["grad_norm_original"],
            "log10_spread_second_half_logd": spread["grad_norm_logd"],
            "d_accuracy_last": edge_medians(group, "d_accuracy")[1],
            "d_accuracy_max": float(group["d_accuracy"].max()),
        }
    return {"epochs": epochs}


# The claims, as (claim, what the paper reports); their order is claims.csv's.
CLAIMS = (
    ("original-cost gradient norm vanishes as D is trained (P1 Fig. 2): >= 1 order of magnitude "
     "for every snapshot, >= 3 for the best",
     "up to 5 orders of magnitude after 4000 D iterations"),
    ("-log D cost gradient does not vanish (P1 Fig. 3): at the end >= 100x the original-cost "
     "norm, and noisier",
     "grows and fluctuates while the original-cost norm vanishes"),
    ("the discriminator trained from scratch becomes near perfect (P1 Fig. 1): accuracy >= 0.99",
     "accuracy 1.0, error -> 0"),
)


def no_data_claims(reason: str, source: str) -> list[dict[str, str]]:
    """Every claim inconclusive, for ``reason``."""
    return [{"claim": claim, "paper_value": paper, "measured_value": reason,
             "verdict": "inconclusive", "source": source} for claim, paper in CLAIMS]


def claims_from_summary(summary: dict, source: str) -> list[dict[str, str]]:
    ep = summary["epochs"]
    orders = {e: v["orders_decayed_original"] for e, v in ep.items()}
    from_start = {e: v["orders_decayed_original_from_start"] for e, v in ep.items()}
    ratio = {e: v["logd_over_original_last"] for e, v in ep.items()}
    noisier = {e: v["log10_spread_second_half_logd"] > v["log10_spread_second_half_original"]
               for e, v in ep.items()}
    accuracy = {e: v["d_accuracy_last"] for e, v in ep.items()}
    fmt = lambda d, f: ", ".join(f"epoch {e}: {f(v)}" for e, v in d.items())  # noqa: E731

    decays = all(o >= 1 for o in orders.values()) and max(orders.values()) >= 3
    not_vanishing = all(r >= 100 for r in ratio.values()) and all(noisier.values())
    accurate = all(a >= 0.99 for a in accuracy.values())
    verdict = lambda ok: "reproduced" if ok else "not reproduced"  # noqa: E731
    measured = [
        ("orders decayed (first/last 5% medians): " + fmt(orders, lambda v: f"{v:.2f}")
         + "; from the untrained D: " + fmt(from_start, lambda v: f"{v:.2f}"), decays),
        ("last-5% ratio: " + fmt(ratio, lambda v: f"{v:.3g}") + "; noisier: "
         + fmt(noisier, lambda v: "yes" if v else "no"), not_vanishing),
        ("last-5% accuracy: " + fmt(accuracy, lambda v: f"{v:.3f}"), accurate),
    ]
    return [{"claim": claim, "paper_value": paper, "measured_value": value,
             "verdict": verdict(ok), "source": source}
            for (claim, paper), (value, ok) in zip(CLAIMS, measured, strict=True)]
