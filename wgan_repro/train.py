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
from dataclasses import dataclass
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
    critic_input_gradients,
    discriminator_accuracy,
    gradient_penalty,
    interpolates,
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
from wgan_repro.runtime import (
    make_optimizer,
    preserved_buffers,
    rng_state,
    run_precision,
    set_rng_state,
    setup_runtime,
)
from wgan_repro.schema import RUN_IDENTITY_SECTIONS, RUN_LENGTH_KEYS
from wgan_repro.stats import median_filtered


# ---- a run's identity ----------------------------------------------------------------------------
def semantic_config(cfg: DictConfig) -> dict:
    """What a run's numbers depend on: the resolved identity sections, without run length.
    ``train.precision: auto`` is recorded as what it resolves to here (bf16 and fp32 runs
    are different runs)."""
    container = OmegaConf.to_container(cfg, resolve=True)
    identity = {k: container[k] for k in RUN_IDENTITY_SECTIONS}
    identity["train"] = {k: v for k, v in identity["train"].items() if k not in RUN_LENGTH_KEYS}
    identity["train"]["precision"] = run_precision(cfg)
    for (section, key), neutral in ADDED_KEYS.items():
        if identity[section].get(key, neutral) == neutral:
            identity[section].pop(key, None)
    return identity


# Keys added after runs were made, with the value that does what runs did before them: left out
# of the identity at that value, so existing run folders keep their names and checkpoints.
ADDED_KEYS = {("objective", "gradient_penalty"): 0.0, ("data", "scale"): 1.0,
              ("generator", "init"): "torch", ("critic", "init"): "torch"}


def is_finished(cfg: DictConfig) -> bool:
    """Whether this config's run has finished before, so ``train`` reuses it as it is: its
    summary (written last) reaches train.iterations or says it diverged, and its last
    checkpoint is there (a committed reference run has none: it is trained again)."""
    run_dir = run_dir_for(cfg)
    summary_path = run_dir / "summary.json"
    if not (summary_path.exists() and (run_dir / "checkpoints" / "last.pt").exists()):
        return False
    summary = json.loads(summary_path.read_text())
    return bool(summary.get("diverged")) or summary.get("gen_iters", 0) >= cfg.train.iterations


def run_dir_for(cfg: DictConfig) -> Path:
    """results/<experiment>/<run_name>, the name defaulting to a content address of the config."""
    name = cfg.run_name or (
        f"{cfg.objective.name}-{cfg.generator.arch}-s{cfg.seed}-{config_hash(semantic_config(cfg))}"
    )
    return Path(cfg.results_dir) / cfg.experiment_name / name


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
            left = (self.total - gen_iter) / max(rate, 1e-9)
            print(f"[{self.title}] gen_iter {gen_iter}/{self.total}  {text}  ({rate:.1f} it/s, "
                  f"{left / 60:.1f} min left)", flush=True)


# ---- the loop ------------------------------------------------------------------------------------
class CriticStepHook(Protocol):
    """Watches every critic update (``wgan-repro probe adam``): called with the critic after
    ``backward`` and before the optimiser's step, then after the step (before clipping)."""

    def before(self, critic: torch.nn.Module) -> None: ...

    def after(self, critic: torch.nn.Module, gen_iter: int, critic_loss: torch.Tensor) -> None: ...


def train(cfg: DictConfig, run_dir: Path | None = None,
          evaluate: Callable[[torch.nn.Module], dict[str, float]] | None = None,
          critic_step_hook: CriticStepHook | None = None) -> dict[str, Any]:
    """Train one GAN/WGAN as configured; return (and write) the run's summary.

    A finished run with the same config is reused; an unfinished one (or a shorter one,
    when more iterations are asked for) resumes from its last checkpoint and ends with the
    same numbers as an uninterrupted run. A run that already went further is reused as is.

    ``evaluate(generator)``, if given, is called every ``train.eval_every`` generator
    iterations (and at the end); its metrics go to the run's ``quality.csv``. It must draw
    its noise from its own torch.Generator so that evaluating never changes training.

    ``critic_step_hook``, if given, sees every critic update of this call (a resumed run
    only the updates after its checkpoint); it must not change the critic.

    Two processes asking for the same run folder at once do not both train it: the second
    waits for the first (a lock on the folder), then reuses or resumes what it left.

    ``cfg`` is not checked here: every job's config is validated once, when it is planned
    (plans._validated), and the configs the experiments derive from one stay valid.
    """
    check_writable(Path(cfg.results_dir))
    run_dir = Path(run_dir) if run_dir is not None else run_dir_for(cfg)
    with locked(run_dir / ".lock", f"run folder {run_dir}"):
        remove_stale_temporaries(run_dir)  # what a killed writer left; nobody else writes here
        return _train_in(run_dir, cfg, evaluate, critic_step_hook)


@dataclass
class Nets:
    """The two networks, their optimisers and the batch stream: what a checkpoint restores."""

    generator: torch.nn.Module
    critic: torch.nn.Module
    opt_generator: torch.optim.Optimizer
    opt_critic: torch.optim.Optimizer
    batches: Any


@dataclass(frozen=True)
class StepSetup:
    """What every step of one run shares: how to draw noise and how to run a forward pass."""

    objective: Any
    forward_pass: Callable[[], Any]  # bf16 autocast, or nothing
    batch_size: int
    nz: int
    device: torch.device

    def noise(self) -> torch.Tensor:
        return torch.randn(self.batch_size, self.nz, device=self.device)


def _train_in(run_dir: Path, cfg: DictConfig, evaluate, critic_step_hook) -> dict[str, Any]:
    """The body of ``train``, run holding the run folder's lock: set up or resume, loop,
    finish. Reads top to bottom; the helpers below do one thing each."""
    identity = semantic_config(cfg)
    digest = config_hash(identity)
    ckpt_path, summary_path = run_dir / "checkpoints" / "last.pt", run_dir / "summary.json"
    device = setup_runtime(cfg)
    tc, objective = cfg.train, build_objective(cfg.objective)

    state = load_checkpoint(ckpt_path, identity) if ckpt_path.exists() else None
    done_before = state is not None and (state["gen_iter"] >= tc.iterations or state["diverged_at"])
    if done_before and summary_path.exists():
        # Same config, already done: reuse. The folder is where it is now (a results folder
        # may have been moved or copied since the summary was written).
        return {**json.loads(summary_path.read_text()), "run_dir": str(run_dir)}

    torch.manual_seed(cfg.seed)
    data = load_dataset(cfg.data, cache_dir=Path(cfg.results_dir) / ".cache")
    nets = build_nets(cfg, data, device)
    step = StepSetup(objective, precision.autocast(run_precision(cfg), device), tc.batch_size,
                     cfg.generator.nz, device)
    # Fixed noise for sample grids, from its own generator so it never shifts the training RNG.
    fixed_noise = torch.randn(tc.grid_size, cfg.generator.nz,
                              generator=torch.Generator().manual_seed(cfg.seed)).to(device)
    rows, quality, start, elapsed_before = restore(nets, state, device)

    started = time.perf_counter()
    diverged_at = None
    nets.generator.train()
    nets.critic.train()
    progress = Progress(cfg.progress, tc.iterations, start, tc.log_every,
                        f"{cfg.experiment_name} {cfg.objective.name}")
    with progress:
        for gen_iter in range(start, tc.iterations):
            # -- critic: n_critic updates (more during the reference warm-up) --
            n_critic = objective.critic_iters(gen_iter)
            noise_std = objective.instance_noise(gen_iter)  # P1 section 3; 0 = off
            nets.critic.requires_grad_(True)
            for _ in range(n_critic):
                critic_loss, critic_real, critic_fake = critic_step(
                    nets, step, noise_std, critic_step_hook, gen_iter + 1)
            # -- generator: one update through the frozen critic --
            nets.critic.requires_grad_(False)  # no critic weight gradients in the generator step
            generator_loss = generator_step(nets, step, noise_std)

            done = gen_iter + 1
            row = metrics_row(objective, done, n_critic, critic_loss, generator_loss,
                              critic_real, critic_fake, elapsed_before + time.perf_counter() - started)
            rows.append(row)
            progress.update(done, row)
            if not all(math.isfinite(v) for v in row.values() if v is not None):
                diverged_at = done  # a result, not a crash: stop and record it
                break
            if done % tc.sample_every == 0:
                save_samples(run_dir, nets.generator, fixed_noise, data.sample_shape, done)
            if tc.eval_every and done % tc.eval_every == 0:
                evaluate_into(quality, evaluate, nets.generator, done)
            if tc.snapshot_every and done % tc.snapshot_every == 0:
                write_with(run_dir / "snapshots" / f"gen_iter_{done:06d}.pt",
                           lambda tmp: torch.save(nets.generator.state_dict(), tmp))
            if done % tc.checkpoint_every == 0 and done < tc.iterations:
                checkpoint(run_dir, ckpt_path, cfg, digest, nets, device, rows, quality,
                           elapsed_before + time.perf_counter() - started, finished=False)

    gen_iters = len(rows)
    if diverged_at is None and gen_iters % tc.sample_every != 0:
        save_samples(run_dir, nets.generator, fixed_noise, data.sample_shape, gen_iters)
    if diverged_at is None and gen_iters > 0:
        evaluate_into(quality, evaluate, nets.generator, gen_iters)
    checkpoint(run_dir, ckpt_path, cfg, digest, nets, device, rows, quality,
               elapsed_before + time.perf_counter() - started, finished=True,
               diverged_at=diverged_at)
    summary = summarize(cfg, rows, run_dir, digest, diverged_at,
                        count_parameters(nets.generator), count_parameters(nets.critic), device)
    write_json(summary_path, summary)
    return summary


# ---- the loop's helpers --------------------------------------------------------------------------
def build_nets(cfg: DictConfig, data, device: torch.device) -> Nets:
    """Fresh networks (in the configured memory layout), optimisers and batch stream."""
    batches = make_batches(data, cfg.train.batch_size, cfg.seed, device, cfg.data.num_workers)
    return build_nets_from(cfg, data.sample_shape, batches, device)


def build_nets_from(cfg: DictConfig, sample_shape, batches, device: torch.device) -> Nets:
    """``build_nets`` with a given batch stream (wgan_repro.eta times steps on a fixed batch)."""
    layout = cfg.train.channels_last
    generator = precision.laid_out(build_generator(cfg.generator, sample_shape).to(device),
                                   layout)
    critic = precision.laid_out(build_critic(cfg.critic, sample_shape).to(device), layout)
    return Nets(generator, critic, make_optimizer(cfg.optim, generator.parameters()),
                make_optimizer(cfg.optim, critic.parameters()), batches)


def restore(nets: Nets, state: dict | None, device: torch.device
            ) -> tuple[list[dict], list[dict], int, float]:
    """Load a checkpoint into ``nets`` and the RNG; (metric rows, quality rows, generator
    iterations done, seconds spent) so far, or an empty start without a checkpoint."""
    if state is None:
        return [], [], 0, 0.0
    for name in ("generator", "critic", "opt_generator", "opt_critic", "batches"):
        getattr(nets, name).load_state_dict(state[name])
    set_rng_state(state["rng"], device)
    # rows are keyed by column; checkpoints of earlier versions stored positional lists
    rows = [row if isinstance(row, dict) else dict(zip(TRAIN_METRICS_COLUMNS, row))
            for row in state["rows"]]
    return rows, state.get("quality", []), state["gen_iter"], state["elapsed"]


def critic_step(nets: Nets, step: StepSetup, noise_std: float,
                hook: CriticStepHook | None, gen_iter: int):
    """One critic update on a real batch and a fake one (no graph through the generator);
    returns the loss and the critic's fp32 outputs on both batches."""
    real = nets.batches.next()
    with torch.no_grad(), step.forward_pass():  # the critic step needs no graph through G
        fake = nets.generator(step.noise())
    real, fake = add_instance_noise(real, noise_std), add_instance_noise(fake, noise_std)
    with step.forward_pass():  # outputs back to fp32: losses never sum bf16 numbers
        critic_real = nets.critic(real).float()
        critic_fake = nets.critic(fake).float()
    critic_loss = step.objective.critic_loss(critic_real, critic_fake)
    if step.objective.penalty_weight > 0:  # WGAN-GP: on interpolates of what the critic saw
        # eps from the run's RNG, like the noise: a resumed run draws the same ones
        eps = torch.rand(real.shape[0], device=real.device)
        with step.forward_pass():
            grad = critic_input_gradients(nets.critic, interpolates(real, fake.to(real.dtype), eps))
        critic_loss = critic_loss + gradient_penalty(grad, step.objective.penalty_weight)
    nets.opt_critic.zero_grad(set_to_none=True)
    critic_loss.backward()
    if hook is not None:
        hook.before(nets.critic)
    nets.opt_critic.step()
    if hook is not None:
        hook.after(nets.critic, gen_iter, critic_loss)
    if step.objective.clip is not None:
        clip_weights_(nets.critic.parameters(), step.objective.clip)
    return critic_loss, critic_real, critic_fake


def generator_step(nets: Nets, step: StepSetup, noise_std: float) -> torch.Tensor:
    """One generator update through the (frozen) critic; returns its loss."""
    with step.forward_pass():
        fake = nets.generator(step.noise())
        critic_on_fake = nets.critic(add_instance_noise(fake, noise_std)).float()
    generator_loss = step.objective.generator_loss(critic_on_fake)
    nets.opt_generator.zero_grad(set_to_none=True)
    generator_loss.backward()
    nets.opt_generator.step()
    return generator_loss


def metrics_row(objective, gen_iter: int, n_critic: int, critic_loss, generator_loss,
                critic_real, critic_fake, seconds: float) -> dict[str, float | int | None]:
    """One metrics.csv row (TRAIN_METRICS_COLUMNS), read from the device in one sync; the
    other objective's columns stay None."""
    with torch.no_grad():
        real_out, fake_out = critic_real.detach(), critic_fake.detach()
        if objective.is_wasserstein:
            extra = {"wasserstein_estimate": wasserstein_estimate(real_out, fake_out)}
        else:
            extra = {"discriminator_accuracy": discriminator_accuracy(real_out, fake_out),
                     "js_estimate": js_estimate(real_out, fake_out)}
        losses = {"critic_loss": critic_loss.detach(), "generator_loss": generator_loss.detach()}
        values = torch.stack([*losses.values(), *extra.values()]).tolist()
    row = dict.fromkeys(TRAIN_METRICS_COLUMNS)
    row.update(zip([*losses, *extra], values))
    row.update(gen_iter=gen_iter, critic_iters=n_critic, seconds=seconds)
    return row


def evaluate_into(quality: list[dict], evaluate, generator: torch.nn.Module,
                  gen_iter: int) -> None:
    """Append ``evaluate(generator)`` at ``gen_iter`` to ``quality`` (once per iteration)."""
    if evaluate is None or (quality and quality[-1]["gen_iter"] == gen_iter):
        return
    with preserved_buffers(generator):
        quality.append({"gen_iter": gen_iter, **evaluate(generator)})


def save_samples(run_dir: Path, generator: torch.nn.Module, fixed_noise: torch.Tensor,
                 sample_shape: tuple, gen_iter: int) -> None:
    """The sample grid of the fixed noise as samples/gen_iter_<n>.png (images only)."""
    if len(sample_shape) != 3:
        return  # 2-D points have no image grid
    from torchvision.utils import save_image

    with preserved_buffers(generator), torch.no_grad():
        images = generator(fixed_noise).cpu()
    write_with(run_dir / "samples" / f"gen_iter_{gen_iter:06d}.png",
               lambda tmp: save_image(images, tmp, format="png", normalize=True,
                                      value_range=(-1, 1), nrow=int(math.sqrt(len(images)))))


def checkpoint(run_dir: Path, path: Path, cfg: DictConfig, digest: str, nets: Nets,
               device: torch.device, rows: list[dict], quality: list[dict], elapsed: float,
               finished: bool, diverged_at: int | None = None) -> None:
    """The checkpoint, then config.yaml, metrics.csv and quality.csv, each written atomically:
    when the checkpoint cannot be written (a full disk), the files beside it still describe
    the checkpoint before it, which a rerun resumes from."""
    save_checkpoint(path, {
        "config": semantic_config(cfg), "config_hash": digest, "gen_iter": len(rows),
        "finished": finished, "diverged_at": diverged_at,
        **{name: getattr(nets, name).state_dict()
           for name in ("generator", "critic", "opt_generator", "opt_critic", "batches")},
        "rng": rng_state(device), "rows": rows, "quality": quality, "elapsed": elapsed,
    })
    write_text(run_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    write_csv(run_dir / "metrics.csv", rows, TRAIN_METRICS_COLUMNS)
    if quality:
        write_csv(run_dir / "quality.csv", quality, list(quality[0]))


def summarize(cfg, rows, run_dir, digest, diverged_at, params_generator, params_critic,
              device) -> dict[str, Any]:
    columns = {name: [r[name] for r in rows] for name in TRAIN_METRICS_COLUMNS}
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
