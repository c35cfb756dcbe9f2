"""P1 Figures 1-3: a discriminator trained from scratch against a frozen generator.

Protocol (P1 section 2.2): train a DCGAN (non-saturating cost, Adam, the DCGAN recipe),
keep a generator snapshot after each requested epoch, then for each snapshot freeze the
generator and train a fresh discriminator. Every ``measure_every`` discriminator
iterations, record the discriminator's loss and accuracy (on the real batch of its last
update and one batch of G(z)) and, on K = ``fig2.grad_batches`` independent noise batches
z_1..z_K (each a training-sized batch), the gradient g_k of both generator costs with
respect to all generator parameters, with g_bar their mean:

    grad_norm_original = || g_bar ||,  g_k = d/dtheta E log(1 - D(G(z_k)))   (P1 Fig. 2: vanishes)
    grad_norm_logd     = || g_bar ||,  g_k = d/dtheta E -log D(G(z_k))       (P1 Fig. 3: does not)
    grad_var_original, grad_var_logd = mean_k || g_k - g_bar ||^2            (P1 Fig. 3: grows)

The measurement draws its noise from a random stream of its own, so measuring (and K, and
``measure_every``) never moves the global stream that trains the discriminator.

Then the update-quality probe (P1 Fig. 3: "all these gradients lead to updates that lower
sample quality notoriously"): a copy of the snapshot takes ``fig2.update_steps`` generator
steps (Adam, the DCGAN recipe) against the trained, frozen discriminator with each cost, and
sample quality (FCD, pixel EMD against the held-out images) is measured before and after.
The trained discriminators are saved next to their CSVs, so the probe never retrains them.

With instance noise on (``objective.instance_noise_std > 0``, P1 section 3; what
``wgan-repro probe noise`` does), the from-scratch discriminator sees real and generated
images with N(0, std^2) added, in training, in the measurement and in the probe, so the
numbers are those of the noisy game. The snapshots themselves always come from the plain
DCGAN recipe, so runs with and without noise share them.

The frozen generator keeps batch norm in training mode (batch statistics), the mode it was
trained in and the one the reference code samples with; its weights never change.
"""

from __future__ import annotations

import copy
import sys
import time
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from wgan_repro import precision
from wgan_repro.aggregate import concatenated, dcgan_left_out_note, diverged_seeds
from wgan_repro.checkpoint import verified_load
from wgan_repro.data import load_dataset, make_batches
from wgan_repro.errors import ConfigError
from wgan_repro.experiments.quality import make_evaluator
from wgan_repro.models import build_critic, build_generator
from wgan_repro.objectives import (
    add_instance_noise,
    build_objective,
    discriminator_accuracy,
    gan_discriminator_loss,
    gan_minimax_generator_loss,
    gan_nonsaturating_generator_loss,
)
from wgan_repro.plans import Plan, seeds_text, validated, validated_jobs
from wgan_repro.results import (
    FIG2_COLUMNS,
    FIG2_UPDATE_QUALITY_COLUMNS,
    config_hash,
    locked,
    read_csv,
    remove_stale_temporaries,
    write_csv,
    write_json,
    write_text,
    write_with,
)
from wgan_repro.runtime import make_optimizer, preserved_buffers, run_precision, setup_runtime
from wgan_repro.stats import edge_medians
from wgan_repro.train import semantic_config, train

INSTANCE_NOISE_KEYS = ("instance_noise_std", "instance_noise_final_std",
                       "instance_noise_anneal_iters")  # objective keys of P1 section 3's noise
# Part of every per-seed folder's identity: raise it whenever the discriminator runs' CSVs or
# what they measure change, so CSVs of an older measurement are never reused.
MEASUREMENT_VERSION = 2  # 2: K noise batches, gradient variance, measurement noise of its own
# The probe's generator costs, as named in FIG2_UPDATE_QUALITY_COLUMNS's "cost".
UPDATE_QUALITY_COSTS = {"logd": gan_nonsaturating_generator_loss,
                        "original": gan_minimax_generator_loss}


def validate_fig2(cfg: DictConfig) -> None:
    epochs = list(cfg.fig2.epochs)
    if not epochs or any(e < 1 for e in epochs):
        raise ConfigError(f"fig2.epochs must all be >= 1, got {epochs}")
    if any(b <= a for a, b in zip(epochs, epochs[1:])):
        raise ConfigError(f"fig2.epochs must be strictly increasing, got {epochs}")
    if cfg.fig2.d_iters < 1 or cfg.fig2.measure_every < 1:
        raise ConfigError("fig2.d_iters and fig2.measure_every must be >= 1")
    if cfg.fig2.grad_batches < 1:
        raise ConfigError(f"fig2.grad_batches must be >= 1, got {cfg.fig2.grad_batches}")
    if cfg.fig2.update_steps < 0:
        raise ConfigError(f"fig2.update_steps must be >= 0 (0 = no update-quality probe), "
                          f"got {cfg.fig2.update_steps}")
    if cfg.fig2.eval_samples < 2:
        raise ConfigError(f"fig2.eval_samples must be >= 2, got {cfg.fig2.eval_samples}")
    if cfg.objective.loss == "wasserstein":
        raise ConfigError("fig2 trains a standard GAN: use objective=gan_nonsaturating or gan_minimax")


# ---- the measurement ----------------------------------------------------------------------------
def noise_stream(device: torch.device, **key: Any) -> torch.Generator:
    """A random stream of its own, seeded by ``key`` (purpose, seed, snapshot, ...): drawing
    from it never moves the global stream that trains the discriminator, and no two keys
    share numbers."""
    return torch.Generator(device=device).manual_seed(int(config_hash(key), 16))


def with_instance_noise(x: torch.Tensor, std: float, stream: torch.Generator) -> torch.Tensor:
    """``objectives.add_instance_noise``, its noise drawn from ``stream`` (0 draws nothing)."""
    if std <= 0:
        return x
    return x + std * torch.randn(x.shape, generator=stream, device=x.device, dtype=x.dtype)


def generator_gradients(generator: torch.nn.Module, logits_fake: torch.Tensor
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradients of both generator costs (original, -log D) w.r.t. all generator parameters,
    each flattened into one vector, from the discriminator's logits on G(z) (built with a
    graph through the generator)."""
    params = [p for p in generator.parameters()]
    original = torch.autograd.grad(gan_minimax_generator_loss(logits_fake), params,
                                   retain_graph=True)
    logd = torch.autograd.grad(gan_nonsaturating_generator_loss(logits_fake), params)
    flat = lambda grads: torch.cat([g.reshape(-1) for g in grads])  # noqa: E731
    return flat(original), flat(logd)


def generator_grad_norms(generator: torch.nn.Module, logits_fake: torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """L2 norms of both costs' gradients on one batch (benchmarks/run.py times this)."""
    original, logd = generator_gradients(generator, logits_fake)
    return torch.linalg.vector_norm(original), torch.linalg.vector_norm(logd)


def minibatch_gradient_stats(gradients: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(||g_bar||, mean_k ||g_k - g_bar||^2) of K flattened gradients g_k, one per row.

    The variance is the mean of squared distances to the mean (K = 1 gives 0), computed from
    the differences, never as E||g||^2 - ||g_bar||^2, which cancels catastrophically in fp32.
    """
    mean = gradients.mean(dim=0)
    variance = (gradients - mean).square().sum(dim=1).mean()
    return torch.linalg.vector_norm(mean), variance


def measure(cfg: DictConfig, generator: torch.nn.Module, discriminator: torch.nn.Module,
            real: torch.Tensor, std: float, stream: torch.Generator) -> dict[str, float]:
    """One row's numbers (FIG2_COLUMNS): the discriminator's loss and accuracy on ``real`` and
    the first fake batch, and both costs' gradient norm and minibatch variance over
    ``fig2.grad_batches`` noise batches, all noise drawn from ``stream``.

    The real batch's noise is drawn first and each fake batch's right after its z, so a
    larger K only appends batches: the loss, the accuracy and z_1 stay as they were."""
    discriminator.requires_grad_(False)  # gradients for G's parameters only
    noisy_real = with_instance_noise(real, std, stream)
    grads_original, grads_logd = [], []
    for k in range(cfg.fig2.grad_batches):
        z = torch.randn(cfg.train.batch_size, cfg.generator.nz, device=real.device,
                        dtype=real.dtype, generator=stream)
        logits = discriminator(with_instance_noise(generator(z), std, stream))
        original, logd = generator_gradients(generator, logits)
        grads_original.append(original)
        grads_logd.append(logd)
        if k == 0:
            logits_fake = logits.detach()
    norm_original, var_original = minibatch_gradient_stats(torch.stack(grads_original))
    norm_logd, var_logd = minibatch_gradient_stats(torch.stack(grads_logd))
    with torch.no_grad():
        logits_real = discriminator(noisy_real)
        values = torch.stack([gan_discriminator_loss(logits_real, logits_fake),
                              discriminator_accuracy(logits_real, logits_fake),
                              norm_original, norm_logd, var_original, var_logd]).tolist()
    discriminator.requires_grad_(True)
    names = ("d_loss", "d_accuracy", "grad_norm_original", "grad_norm_logd",
             "grad_var_original", "grad_var_logd")
    return dict(zip(names, values, strict=True))


def train_discriminator_from_scratch(cfg: DictConfig, generator: torch.nn.Module, batches,
                                     sample_shape, device: torch.device, epoch: int,
                                     progress=None) -> tuple[list[dict], torch.nn.Module]:
    """Train a fresh discriminator against the frozen ``generator``; returns the rows (dicts
    keyed by FIG2_COLUMNS) and the trained discriminator."""
    torch.manual_seed(cfg.seed)  # the same initial D for every snapshot of a seed
    discriminator = precision.laid_out(build_critic(cfg.critic, sample_shape).to(device),
                                       cfg.train.channels_last)
    optimizer = make_optimizer(cfg.optim, discriminator.parameters())
    # D's training steps may run in bf16 (train.precision); its measurement never does.
    forward_pass = precision.autocast(run_precision(cfg), device)
    batch_size, nz = cfg.train.batch_size, cfg.generator.nz
    every, d_iters = cfg.fig2.measure_every, cfg.fig2.d_iters
    noise = build_objective(cfg.objective).instance_noise  # std per D iteration; 0 = off
    generator.train()  # batch statistics, as the generator was trained (see module doc)
    rows: list[dict] = []

    def record(d_iter: int, real: torch.Tensor) -> None:
        std = noise(max(d_iter - 1, 0))  # the level of the update just made
        # One stream per measured iteration: its numbers do not depend on K or measure_every.
        stream = noise_stream(device, purpose="measurement", seed=cfg.seed, epoch=epoch,
                              d_iter=d_iter)
        with preserved_buffers(discriminator):  # measuring leaves D's running statistics be
            values = measure(cfg, generator, discriminator, real, std, stream)
        rows.append({"epoch": epoch, "seed": cfg.seed, "d_iter": d_iter, **values,
                     "instance_noise_std": std})

    real = batches.next()
    record(0, real)  # the untrained discriminator's starting point
    for d_iter in range(1, d_iters + 1):
        real = batches.next()
        with torch.no_grad(), forward_pass():  # the discriminator step needs no graph through G
            fake = generator(torch.randn(batch_size, nz, device=device))
        std = noise(d_iter - 1)
        with forward_pass():  # outputs back to fp32 before the loss
            logits_real = discriminator(add_instance_noise(real, std)).float()
            logits_fake = discriminator(add_instance_noise(fake, std)).float()
        loss = gan_discriminator_loss(logits_real, logits_fake)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if d_iter % every == 0 or d_iter == d_iters:
            record(d_iter, real)
            if progress is not None:
                progress(d_iter, rows[-1])
    return rows, discriminator


# ---- the update-quality probe (P1 Fig. 3: "updates that lower sample quality") -------------------
def update_quality_rows(cfg: DictConfig, generator: torch.nn.Module,
                        discriminator: torch.nn.Module, epoch: int, evaluate) -> list[dict]:
    """Rows of FIG2_UPDATE_QUALITY_COLUMNS: sample quality of the snapshot ``generator``
    (steps 0, one evaluation shared by both costs) and of a copy of it after
    ``fig2.update_steps`` steps of each cost against the frozen ``discriminator``."""
    steps = cfg.fig2.update_steps
    # The noise level of the discriminator's last update: the game it was trained for.
    std = build_objective(cfg.objective).instance_noise(max(cfg.fig2.d_iters - 1, 0))
    generator.train()  # batch statistics, as everywhere in fig2
    discriminator.requires_grad_(False)  # frozen: gradients for the generator copy only
    before = evaluate(generator)
    rows = []
    for cost, loss_of in UPDATE_QUALITY_COSTS.items():
        moved = copy.deepcopy(generator)
        optimizer = make_optimizer(cfg.optim, moved.parameters())  # fresh: the DCGAN recipe
        # The same stream for both costs: they see the same z (and noise) sequence.
        stream = noise_stream(next(moved.parameters()).device, purpose="update_quality",
                              seed=cfg.seed, epoch=epoch)
        with preserved_buffers(discriminator):  # both costs face the very same D
            for _ in range(steps):
                z = torch.randn(cfg.train.batch_size, cfg.generator.nz, generator=stream,
                                device=stream.device)
                loss = loss_of(discriminator(with_instance_noise(moved(z), std, stream)))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        after = evaluate(moved)
        rows += [{"epoch": epoch, "seed": cfg.seed, "cost": cost, "steps": 0, **before},
                 {"epoch": epoch, "seed": cfg.seed, "cost": cost, "steps": steps, **after}]
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


def expected_seconds(cfg: DictConfig, timer, update_quality: bool = True) -> float:
    """One seed (wgan_repro.eta): the DCGAN behind the snapshots, then per snapshot not
    finished before fig2.d_iters discriminator steps, its measured points (two costs'
    gradients on K noise batches: about a generator step each) and the update-quality steps."""
    from wgan_repro.eta import train_loop_seconds

    data = load_dataset(cfg.data, cache_dir=Path(cfg.results_dir) / ".cache")
    snap_cfg = snapshot_run_config(cfg, data.n_train // cfg.train.batch_size)
    dcgan = train_loop_seconds(snap_cfg, timer)
    f = cfg.fig2
    seed_dir = seed_dir_for(cfg, snap_cfg)
    probing = probes_update_quality(cfg, data, update_quality)
    left = [e for e in f.epochs if not snapshot_finished(cfg, seed_dir, e, probing)]
    points = f.d_iters // f.measure_every + 1
    backward = 2 * points * f.grad_batches + (2 * f.update_steps if probing else 0)
    per_snapshot = f.d_iters * timer.critic_step(cfg) + backward * timer.generator_step(cfg)
    return dcgan + len(left) * per_snapshot


def plan(user: list[str]) -> Plan:
    """One job per seed of fig2.seeds."""
    base = ["experiment=fig2", *user]
    cfg = validated(base, validate_fig2)
    jobs = [[*base, f"seed={s}"] for s in cfg.fig2.seeds]
    return Plan("fig2", cfg, jobs, list(cfg.fig2.seeds),
                job_cfgs=validated_jobs(jobs, validate_fig2))


def run(cfg: DictConfig, update_quality: bool = True) -> dict[str, Any]:
    """One seed of the protocol. Returns the paths of its discriminator runs' CSVs ("files"),
    of its update-quality CSVs ("update_quality_files": empty when ``update_quality`` is
    False, as `probe noise` asks, or fig2.update_steps is 0) and timings. ``cfg`` was validated
    when the job was planned (validate_fig2)."""
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
        return {"seed": cfg.seed, "files": [], "update_quality_files": [],
                "dcgan_run": str(dcgan_dir), "diverged_at": dcgan["diverged_at"],
                "seconds": time.perf_counter() - started}

    seed_dir = seed_dir_for(cfg, snap_cfg)
    probing = probes_update_quality(cfg, data, update_quality)
    if update_quality and cfg.fig2.update_steps > 0 and not probing:
        print(f"fig2: no update-quality probe: data={cfg.data.name} has no held-out split to "
              "measure sample quality against (fig2.update_steps=0 silences this)",
              file=sys.stderr, flush=True)
    timings = {"dcgan_seconds": time.perf_counter() - started}
    # fig2 and probe noise share these runs: a second process waits, then reuses them.
    with locked(seed_dir / ".lock", f"fig2 runs {seed_dir}"):
        remove_stale_temporaries(seed_dir)
        files, quality_files = _discriminator_runs(
            cfg, data, dcgan_dir, batches_per_epoch, seed_dir, device, timings, probing)
    return {"seed": cfg.seed, "files": files, "update_quality_files": quality_files,
            "dcgan_run": str(dcgan_dir), "seconds": time.perf_counter() - started, **timings}


def probes_update_quality(cfg: DictConfig, data, update_quality: bool) -> bool:
    """Whether the update-quality probe runs: asked for, with steps, and a held-out split to
    measure sample quality against (the run and its expected time both ask this)."""
    return update_quality and cfg.fig2.update_steps > 0 and data.heldout is not None


def seed_dir_for(cfg: DictConfig, snap_cfg: DictConfig) -> Path:
    """One seed's discriminator runs: results/<runs_folder>/runs/s<seed>-<content address>."""
    return (Path(cfg.results_dir) / runs_folder(cfg) / "runs"
            / f"s{cfg.seed}-{run_identity_hash(cfg, snap_cfg)}")


def snapshot_paths(seed_dir: Path, epoch: int) -> tuple[Path, Path]:
    """One snapshot's discriminator run: its CSV and its weights."""
    return seed_dir / f"epoch_{epoch:03d}.csv", seed_dir / f"epoch_{epoch:03d}_discriminator.pt"


def snapshot_finished(cfg: DictConfig, seed_dir: Path, epoch: int, probing: bool) -> bool:
    """Whether one snapshot's discriminator run (and, if ``probing``, its update-quality probe)
    finished before: its files are there, and it is reused as it is."""
    trained = all(path.exists() for path in snapshot_paths(seed_dir, epoch))
    return trained and (not probing or update_quality_path(cfg, seed_dir, epoch).exists())


def runs_folder(cfg: DictConfig) -> str:
    """Where a seed's discriminator runs live: fig2's folder without instance noise (the same
    runs, by content address, whether fig2 or probe noise's control asks), the running
    experiment's folder (probe_noise) with it."""
    noisy = cfg.objective.instance_noise_std > 0 or cfg.objective.instance_noise_final_std > 0
    return cfg.experiment_name if noisy else "fig2"


def run_identity_hash(cfg: DictConfig, snap_cfg: DictConfig) -> str:
    """Content address of a seed's discriminator runs: everything their CSVs depend on."""
    identity = {"dcgan": semantic_config(snap_cfg),
                "fig2": {"d_iters": cfg.fig2.d_iters, "measure_every": cfg.fig2.measure_every},
                "measurement": {"grad_batches": cfg.fig2.grad_batches,
                                "version": MEASUREMENT_VERSION}}
    noise = {key: cfg.objective[key] for key in INSTANCE_NOISE_KEYS}
    if noise["instance_noise_std"] > 0 or noise["instance_noise_final_std"] > 0:
        identity["instance_noise"] = noise  # absent when off: runs without noise share a folder
    return config_hash(identity)


def update_quality_path(cfg: DictConfig, seed_dir: Path, epoch: int) -> Path:
    """The probe's CSV for one snapshot, named by the settings it depends on beyond the
    folder's identity."""
    return (seed_dir / f"epoch_{epoch:03d}_update_quality-steps{cfg.fig2.update_steps}"
            f"-samples{cfg.fig2.eval_samples}.csv")


def _discriminator_runs(cfg, data, dcgan_dir, batches_per_epoch, seed_dir, device, timings,
                        probing) -> tuple[list[str], list[str]]:
    """One discriminator from scratch per requested snapshot (its CSV and weights reused when
    present), then, if ``probing``, the update-quality probe against it (reused too)."""
    generator = precision.laid_out(build_generator(cfg.generator, data.sample_shape).to(device),
                                   cfg.train.channels_last)
    evaluate = None  # built on first need: it loads (or trains once) the classifier
    files, quality_files = [], []
    for epoch in cfg.fig2.epochs:
        out, weights = snapshot_paths(seed_dir, epoch)
        quality = update_quality_path(cfg, seed_dir, epoch)
        files.append(str(out))
        quality_files += [str(quality)] if probing else []
        if snapshot_finished(cfg, seed_dir, epoch, probing):
            continue  # finished before: reuse
        trained = out.exists() and weights.exists()
        snapshot = dcgan_dir / "snapshots" / f"gen_iter_{epoch * batches_per_epoch:06d}.pt"
        generator.load_state_dict(verified_load(snapshot, "generator snapshot", device))
        if trained:
            discriminator = precision.laid_out(
                build_critic(cfg.critic, data.sample_shape).to(device), cfg.train.channels_last)
            discriminator.load_state_dict(verified_load(weights, "fig2 discriminator", device))
        else:
            discriminator = _train_and_save(cfg, data, generator, epoch, out, weights, device,
                                            timings)
        if probing:
            evaluate = evaluate or make_evaluator(cfg, cfg.fig2.eval_samples)[0]
            t0 = time.perf_counter()
            rows = update_quality_rows(cfg, generator, discriminator, epoch, evaluate)
            timings[f"epoch_{epoch}_update_quality_seconds"] = time.perf_counter() - t0
            write_csv(quality, rows, FIG2_UPDATE_QUALITY_COLUMNS)
            _show_update_quality(cfg, epoch, rows)
    write_text(seed_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    return files, quality_files


def _train_and_save(cfg, data, generator, epoch, out, weights, device, timings):
    """Train one discriminator from scratch; its weights are written before its CSV, so a
    CSV on disk always has its discriminator next to it."""
    batches = make_batches(data, cfg.train.batch_size, cfg.seed, device)
    t0 = time.perf_counter()
    rows, discriminator = train_discriminator_from_scratch(
        cfg, generator, batches, data.sample_shape, device, epoch,
        progress=_progress_printer(cfg, epoch))
    timings[f"epoch_{epoch}_seconds"] = time.perf_counter() - t0
    write_with(weights, lambda tmp: torch.save(discriminator.state_dict(), tmp))
    write_csv(out, rows, FIG2_COLUMNS)
    return discriminator


def _progress_printer(cfg, epoch):
    if cfg.progress == "none":
        return None
    step, started = max(cfg.fig2.d_iters // 4, 1), time.perf_counter()

    def show(d_iter, row):
        if d_iter % step == 0 or d_iter == cfg.fig2.d_iters:
            left = (time.perf_counter() - started) / d_iter * (cfg.fig2.d_iters - d_iter)
            print(f"[fig2 seed {cfg.seed} epoch {epoch}] D iter {d_iter}/{cfg.fig2.d_iters}  "
                  f"acc {row['d_accuracy']:.3f}  |grad original| {row['grad_norm_original']:.3g}"
                  f"  |grad -log D| {row['grad_norm_logd']:.3g}  "
                  f"var -log D {row['grad_var_logd']:.3g}  ({left / 60:.1f} min left)", flush=True)

    return show


def _show_update_quality(cfg, epoch, rows) -> None:
    if cfg.progress == "none":
        return
    after = "  ".join(f"{r['cost']} {r['fcd']:.3g}" for r in rows if r["steps"] > 0)
    print(f"[fig2 seed {cfg.seed} epoch {epoch}] FCD {rows[0]['fcd']:.3g} before, after "
          f"{cfg.fig2.update_steps} generator steps: {after}", flush=True)


# ---- all seeds: the figure data and the summary ------------------------------------------------
def aggregate(plan: Plan, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Concatenate every seed's CSVs into grad_norms.csv and update_quality.csv, summarise per
    epoch into summary.json; returns the summary.

    Seeds whose DCGAN hit NaN/Inf have no snapshots: they are left out, and said so in
    summary.json and in the claims' source.
    """
    cfg = plan.cfg
    source = (f"fig2/grad_norms.csv (tier {cfg.tier}, seeds {seeds_text(cfg.fig2.seeds)}, "
              f"{cfg.fig2.d_iters} D iterations)")
    diverged = diverged_seeds(runs)
    out_dir = plan.results_dir / "fig2"
    frame = concatenated((read_csv(Path(f), FIG2_COLUMNS) for run in runs for f in run["files"]),
                         FIG2_COLUMNS, ["epoch", "seed", "d_iter"])
    write_csv(out_dir / "grad_norms.csv", frame.to_dict("records"), FIG2_COLUMNS)
    quality_files = [f for run in runs for f in run["update_quality_files"]]
    updates_path = out_dir / "update_quality.csv"
    if quality_files:
        updates = concatenated((read_csv(Path(f), FIG2_UPDATE_QUALITY_COLUMNS)
                                for f in quality_files),
                               FIG2_UPDATE_QUALITY_COLUMNS, ["epoch", "seed", "cost", "steps"])
        write_csv(updates_path, updates.to_dict("records"), FIG2_UPDATE_QUALITY_COLUMNS)
    else:
        updates_path.unlink(missing_ok=True)  # an older probe's file would not match this run
    summary = summarize(frame)
    summary["diverged_dcgan"] = {str(s): i for s, i in diverged.items()}
    summary["source"] = source + dcgan_left_out_note(diverged)
    write_json(out_dir / "summary.json", summary)
    return summary


def summarize(frame) -> dict[str, Any]:
    """Per snapshot, seed medians of what the figures show: each quantity at d_iter 0 (the
    untrained discriminator), over the first and over the last 5% of D iterations: no decay or
    ratio of them. The claims judge each seed from grad_norms.csv itself, and what they judged
    joins this summary as "claims_seeds" (wgan_repro.claims.judge_and_write)."""
    columns = ("grad_norm_original", "grad_norm_logd", "grad_var_original", "grad_var_logd",
               "d_accuracy")
    medians = {c: edge_medians(frame, c) for c in columns}
    epochs: dict[str, Any] = {}
    for epoch, group in frame.groupby("epoch"):
        entry: dict[str, Any] = {"seeds": sorted(int(s) for s in group["seed"].unique()),
                                 "d_iters": int(group["d_iter"].max())}
        for column, by_epoch in medians.items():
            for edge, value in by_epoch[int(epoch)].items():
                entry[f"{column}_{edge}"] = value
        epochs[str(int(epoch))] = entry
    return {"epochs": epochs}
