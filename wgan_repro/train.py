"""The training loop: counted in generator iterations, the critic's inner loop inside.

    for each generator iteration:
        for each critic iteration (n_critic, or the warm-up count):
            real batch, fake batch (no generator graph) -> critic loss -> critic step -> clip
        fresh noise -> generator loss through the (frozen) critic -> generator step
        log one row; now and then: sample grid, checkpoint, metrics.csv

Everything around the compute (logging, checkpoints, samples) is kept off the hot path, so
the loop runs within a few percent of the bare forward/backward/step calls
(benchmarks/train_speed.py).
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import torch
from omegaconf import DictConfig, OmegaConf

from wgan_repro import precision
from wgan_repro.checkpoint import load_checkpoint, save_checkpoint
from wgan_repro.data import load_dataset, make_batches
from wgan_repro.models import build_critic, build_generator, count_parameters
from wgan_repro.objectives import (
    add_instance_noise,
    build_objective,
    clip_weights_,
    discriminator_accuracy,
    js_estimate,
    wasserstein_estimate,
)
from wgan_repro.results import (
    TRAIN_METRICS_COLUMNS,
    check_writable,
    config_hash,
    locked,
    remove_stale_temporaries,
    write_csv,
    write_json,
    write_text,
    write_with,
)
from wgan_repro.schema import RUN_IDENTITY_SECTIONS, RUN_LENGTH_KEYS, validate

MEDIAN_FILTER_WIDTH = 101  # P2 Fig. 3 median-filters the critic's estimate over 101 iterations


# ---- set-up helpers ----------------------------------------------------------------------------
def select_device(name: str) -> torch.device:
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def setup_runtime(cfg: DictConfig) -> torch.device:
    """Thread count from config (joblib/submitit workers must not oversubscribe), device."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    return select_device(cfg.device)


def semantic_config(cfg: DictConfig) -> dict:
    """What a run's numbers depend on: the resolved identity sections, without run length.
    ``train.precision: auto`` is recorded as what it resolves to here (bf16 and fp32 runs
    are different runs)."""
    container = OmegaConf.to_container(cfg, resolve=True)
    identity = {k: container[k] for k in RUN_IDENTITY_SECTIONS}
    identity["train"] = {k: v for k, v in identity["train"].items() if k not in RUN_LENGTH_KEYS}
    identity["train"]["precision"] = run_precision(cfg)
    return identity


def run_precision(cfg: DictConfig) -> str:
    """train.precision resolved for the device this config runs on."""
    return precision.resolve(cfg.train.precision, select_device(cfg.device))


def run_dir_for(cfg: DictConfig) -> Path:
    """results/<experiment>/<run_name>, the name defaulting to a content address of the config."""
    name = cfg.run_name or (
        f"{cfg.objective.name}-{cfg.generator.arch}-s{cfg.seed}-{config_hash(semantic_config(cfg))}"
    )
    return Path(cfg.results_dir) / cfg.experiment_name / name


def make_optimizer(cfg, params) -> torch.optim.Optimizer:
    if cfg.name == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, betas=tuple(cfg.betas), eps=cfg.eps)
    return torch.optim.RMSprop(params, lr=cfg.lr, alpha=cfg.alpha, eps=cfg.eps)


def rng_state(device: torch.device) -> dict:
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict, device: torch.device) -> None:
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


@contextmanager
def preserved_buffers(module: torch.nn.Module):
    """Sampling keeps batch norm in training mode (batch statistics), as in training and in
    the reference code; restoring the running statistics afterwards means sampling or
    evaluating never changes a run."""
    saved = {k: v.clone() for k, v in module.named_buffers()}
    try:
        yield module
    finally:
        module.load_state_dict(saved, strict=False)


def median_filtered(values, width: int = MEDIAN_FILTER_WIDTH):
    """Centred running median (P2 Fig. 3's filter); a pandas Series in, a Series out (a list
    in, a list out)."""
    import pandas as pd

    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=float)
    filtered = series.rolling(width, center=True, min_periods=1).median()
    return filtered if isinstance(values, pd.Series) else filtered.tolist()


# ---- progress display ----------------------------------------------------------------------------
class Progress:
    """A rich bar with live losses on a terminal; plain lines every `log_every` otherwise."""

    def __init__(self, mode: str, total: int, start: int, log_every: int, title: str) -> None:
        if mode == "auto":
            mode = "rich" if sys.stdout.isatty() else "plain"
        self.mode, self.total, self.log_every, self.title = mode, total, log_every, title
        self.started, self.start_iter = time.perf_counter(), start
        self.bar = None
        if mode == "rich":
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self.bar = RichProgress(TextColumn("[bold]{task.description}"), BarColumn(),
                                    MofNCompleteColumn(), TimeElapsedColumn(),
                                    TimeRemainingColumn(), TextColumn("{task.fields[losses]}"))
            self.task = self.bar.add_task(title, total=total, completed=start, losses="")

    def __enter__(self) -> Progress:
        if self.bar is not None:
            self.bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def update(self, gen_iter: int, row: dict) -> None:
        if self.mode == "none":
            return
        labels = {"wasserstein_estimate": "W", "js_estimate": "JS", "critic_loss": "critic",
                  "generator_loss": "gen"}  # short: the line must fit next to the bar
        text = "  ".join(f"{label} {row[k]:.3g}" for k, label in labels.items()
                         if row.get(k) is not None)
        if self.bar is not None:
            self.bar.update(self.task, completed=gen_iter, losses=text)
        elif gen_iter % self.log_every == 0 or gen_iter == self.total:
            rate = (gen_iter - self.start_iter) / max(time.perf_counter() - self.started, 1e-9)
            print(f"[{self.title}] gen_iter {gen_iter}/{self.total}  {text}  ({rate:.1f} it/s)",
                  flush=True)


# ---- the loop ------------------------------------------------------------------------------------
class CriticStepProbe(Protocol):
    """Watches every critic update (``wgan-repro probe adam``): called with the critic after
    ``backward`` and before the optimiser's step, then after the step (before clipping)."""

    def before(self, critic: torch.nn.Module) -> None: ...

    def after(self, critic: torch.nn.Module, gen_iter: int, critic_loss: torch.Tensor) -> None: ...


def train(cfg: DictConfig, run_dir: Path | None = None,
          evaluate: Callable[[torch.nn.Module], dict[str, float]] | None = None,
          critic_step_probe: CriticStepProbe | None = None) -> dict[str, Any]:
    """Train one GAN/WGAN as configured; return (and write) the run's summary.

    A finished run with the same config is reused; an unfinished one (or a shorter one,
    when more iterations are asked for) resumes from its last checkpoint and ends with the
    same numbers as an uninterrupted run. A run that already went further is reused as is.

    ``evaluate(generator)``, if given, is called every ``train.eval_every`` generator
    iterations (and at the end); its metrics go to the run's ``quality.csv``. It must draw
    its noise from its own torch.Generator so that evaluating never changes training.

    ``critic_step_probe``, if given, sees every critic update of this call (a resumed run
    only the updates after its checkpoint); it must not change the critic.

    Two processes asking for the same run folder at once do not both train it: the second
    waits for the first (a lock on the folder), then reuses or resumes what it left.
    """
    validate(cfg)
    check_writable(Path(cfg.results_dir))
    run_dir = Path(run_dir) if run_dir is not None else run_dir_for(cfg)
    with locked(run_dir / ".lock", f"run folder {run_dir}"):
        remove_stale_temporaries(run_dir)  # what a killed writer left; nobody else writes here
        return _train_in(run_dir, cfg, evaluate, critic_step_probe)


def _train_in(run_dir: Path, cfg: DictConfig, evaluate, critic_step_probe) -> dict[str, Any]:
    """The body of ``train``, run holding the run folder's lock."""
    config = semantic_config(cfg)
    digest = config_hash(config)
    ckpt_path = run_dir / "checkpoints" / "last.pt"
    summary_path = run_dir / "summary.json"

    device = setup_runtime(cfg)
    tc, objective = cfg.train, build_objective(cfg.objective)

    state = load_checkpoint(ckpt_path, config) if ckpt_path.exists() else None
    done_before = state is not None and (state["gen_iter"] >= tc.iterations or state["diverged_at"])
    if done_before and summary_path.exists():
        return json.loads(summary_path.read_text())  # same config, already done: reuse

    torch.manual_seed(cfg.seed)
    data = load_dataset(cfg.data, cache_dir=Path(cfg.results_dir) / ".cache")
    layout = tc.channels_last
    generator = precision.laid_out(build_generator(cfg.generator, data.sample_shape).to(device), layout)
    critic = precision.laid_out(build_critic(cfg.critic, data.sample_shape).to(device), layout)
    forward_pass = precision.autocast(run_precision(cfg), device)  # bf16 compute, or nothing
    opt_generator = make_optimizer(cfg.optim, generator.parameters())
    opt_critic = make_optimizer(cfg.optim, critic.parameters())
    batches = make_batches(data, tc.batch_size, cfg.seed, device, cfg.data.num_workers)
    nz, batch_size = cfg.generator.nz, tc.batch_size
    # Fixed noise for sample grids, from its own generator so it never shifts the training RNG.
    fixed_noise = torch.randn(tc.grid_size, nz, generator=torch.Generator().manual_seed(cfg.seed))
    fixed_noise = fixed_noise.to(device)

    rows: list[list[float | None]] = []
    quality: list[dict[str, float]] = []
    start, elapsed_before = 0, 0.0
    if state is not None:
        generator.load_state_dict(state["generator"])
        critic.load_state_dict(state["critic"])
        opt_generator.load_state_dict(state["opt_generator"])
        opt_critic.load_state_dict(state["opt_critic"])
        batches.load_state_dict(state["batches"])
        set_rng_state(state["rng"], device)
        rows, start, elapsed_before = state["rows"], state["gen_iter"], state["elapsed"]
        quality = state.get("quality", [])
    write_text(run_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))

    def checkpoint(gen_iter: int, finished: bool, diverged_at: int | None = None) -> None:
        write_csv(run_dir / "metrics.csv", [dict(zip(TRAIN_METRICS_COLUMNS, r)) for r in rows],
                  TRAIN_METRICS_COLUMNS)
        if quality:
            write_csv(run_dir / "quality.csv", quality, list(quality[0]))
        save_checkpoint(ckpt_path, {
            "config": config, "config_hash": digest, "gen_iter": gen_iter, "finished": finished,
            "diverged_at": diverged_at,
            "generator": generator.state_dict(), "critic": critic.state_dict(),
            "opt_generator": opt_generator.state_dict(), "opt_critic": opt_critic.state_dict(),
            "batches": batches.state_dict(), "rng": rng_state(device), "rows": rows,
            "quality": quality, "elapsed": elapsed_before + time.perf_counter() - started,
        })

    def run_evaluation(gen_iter: int) -> None:
        if evaluate is None or (quality and quality[-1]["gen_iter"] == gen_iter):
            return
        with preserved_buffers(generator):
            quality.append({"gen_iter": gen_iter, **evaluate(generator)})

    def save_samples(gen_iter: int) -> None:
        if len(data.sample_shape) != 3:
            return  # 2-D points have no image grid
        from torchvision.utils import save_image

        with preserved_buffers(generator), torch.no_grad():
            images = generator(fixed_noise).cpu()
        write_with(run_dir / "samples" / f"gen_iter_{gen_iter:06d}.png",
                   lambda tmp: save_image(images, tmp, format="png", normalize=True,
                                          value_range=(-1, 1), nrow=int(math.sqrt(len(images)))))

    started = time.perf_counter()
    diverged_at = None
    generator.train()
    critic.train()
    title = f"{cfg.experiment_name} {cfg.objective.name}"
    progress = Progress(cfg.progress, tc.iterations, start, tc.log_every, title)
    with progress:
        for gen_iter in range(start, tc.iterations):
            # -- critic: n_critic updates (more during the reference warm-up) --
            critic.requires_grad_(True)
            n_critic = objective.critic_iters(gen_iter)
            noise_std = objective.instance_noise(gen_iter)  # P1 section 3; 0 = off
            for _ in range(n_critic):
                real = batches.next()
                with torch.no_grad(), forward_pass():  # the critic step needs no graph through G
                    fake = generator(torch.randn(batch_size, nz, device=device))
                with forward_pass():  # outputs back to fp32: losses never sum bf16 numbers
                    critic_real = critic(add_instance_noise(real, noise_std)).float()
                    critic_fake = critic(add_instance_noise(fake, noise_std)).float()
                critic_loss = objective.critic_loss(critic_real, critic_fake)
                opt_critic.zero_grad(set_to_none=True)
                critic_loss.backward()
                if critic_step_probe is not None:
                    critic_step_probe.before(critic)
                opt_critic.step()
                if critic_step_probe is not None:
                    critic_step_probe.after(critic, gen_iter + 1, critic_loss)
                if objective.clip is not None:
                    clip_weights_(critic.parameters(), objective.clip)

            # -- generator: one update through the frozen critic --
            critic.requires_grad_(False)  # no critic weight gradients in the generator step
            with forward_pass():
                fake = generator(torch.randn(batch_size, nz, device=device))
                critic_on_fake = critic(add_instance_noise(fake, noise_std)).float()
            generator_loss = objective.generator_loss(critic_on_fake)
            opt_generator.zero_grad(set_to_none=True)
            generator_loss.backward()
            opt_generator.step()

            # -- log the iteration (one device sync) --
            with torch.no_grad():
                real_out, fake_out = critic_real.detach(), critic_fake.detach()
                if objective.is_wasserstein:
                    extra = torch.stack([wasserstein_estimate(real_out, fake_out)])
                else:
                    extra = torch.stack([discriminator_accuracy(real_out, fake_out),
                                         js_estimate(real_out, fake_out)])
                values = torch.cat([torch.stack([critic_loss.detach(), generator_loss.detach()]),
                                    extra]).tolist()
            done = gen_iter + 1
            seconds = elapsed_before + time.perf_counter() - started
            if objective.is_wasserstein:
                row = [done, n_critic, values[0], values[1], values[2], None, None, seconds]
            else:
                row = [done, n_critic, values[0], values[1], None, values[2], values[3], seconds]
            rows.append(row)
            progress.update(done, dict(zip(TRAIN_METRICS_COLUMNS, row)))

            if not all(math.isfinite(v) for v in values):
                diverged_at = done  # a result, not a crash: stop and record it
                break
            if done % tc.sample_every == 0:
                save_samples(done)
            if tc.eval_every and done % tc.eval_every == 0:
                run_evaluation(done)
            if tc.snapshot_every and done % tc.snapshot_every == 0:
                write_with(run_dir / "snapshots" / f"gen_iter_{done:06d}.pt",
                           lambda tmp: torch.save(generator.state_dict(), tmp))
            if done % tc.checkpoint_every == 0 and done < tc.iterations:
                checkpoint(done, finished=False)

    gen_iters = len(rows)
    if diverged_at is None and gen_iters % tc.sample_every != 0:
        save_samples(gen_iters)
    if diverged_at is None and gen_iters > 0:
        run_evaluation(gen_iters)
    checkpoint(gen_iters, finished=True, diverged_at=diverged_at)
    summary = summarize(cfg, rows, run_dir, digest, diverged_at,
                        count_parameters(generator), count_parameters(critic), device)
    write_json(summary_path, summary)
    return summary


def summarize(cfg, rows, run_dir, digest, diverged_at, params_generator, params_critic,
              device) -> dict[str, Any]:
    columns = {name: [r[i] for r in rows] for i, name in enumerate(TRAIN_METRICS_COLUMNS)}
    summary: dict[str, Any] = {
        "run_dir": str(run_dir),
        "config_hash": digest,
        "status": "diverged" if diverged_at is not None else "finished",
        "diverged": diverged_at is not None,
        "diverged_at": diverged_at,
        "gen_iters": len(rows),
        "critic_iters_total": int(sum(columns["critic_iters"])),
        "seconds": columns["seconds"][-1] if rows else 0.0,
        "params_generator": params_generator,
        "params_critic": params_critic,
        "device": str(device),
    }
    key = "wasserstein_estimate" if cfg.objective.loss == "wasserstein" else "js_estimate"
    finite = [v for v in columns[key] if v is not None and math.isfinite(v)]
    if finite:
        filtered = median_filtered(finite)
        summary[f"{key}_filtered_first"] = filtered[0]
        summary[f"{key}_filtered_last"] = filtered[-1]
    return summary
