"""Typed schema of the config tree.

Every YAML file under ``conf/`` is merged onto these dataclasses, so an unknown key or a
value of the wrong type fails at compose time with the key's full name. Constraints that a
type cannot express (lr > 0, clip > 0, ...) are checked by :func:`validate` right after
composing, before anything runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig

from wgan_repro.errors import ConfigError

IMAGE_DATASETS = ("digits", "mnist", "cifar10", "lsun", "image_folder")
POINT_DATASETS = ("ring8", "grid25", "swiss_roll")
PRECISIONS = ("auto", "fp32", "bf16")  # train.precision, see wgan_repro/precision.py


@dataclass
class DataConfig:
    name: str = "digits"
    root: str | None = None  # folder of an on-disk dataset; unused by bundled ones
    download: bool = False  # torchvision datasets only; never implied
    image_size: int = 32
    channels: int = 1
    max_images: int | None = None  # keep the first N training examples (smoke tier, subsets)
    heldout_fraction: float = 0.2  # share of a bundled dataset kept out of training
    split_seed: int = 0  # fixes the train/held-out split, independent of the run seed
    in_memory: bool = True  # decode once into one tensor; False streams (LSUN)
    num_workers: int = 0  # streaming loader only
    lsun_classes: str = "bedroom_train"
    # 2-D Gaussian mixtures
    layout: str = "ring"  # ring | grid
    n_modes: int = 8
    spacing: float = 1.0  # ring radius, or grid step
    std: float = 0.01  # each mode's std (Swiss Roll: the noise added to the roll)
    n_points: int = 10000
    scale: float = 1.0  # Swiss Roll: points divided by this (WGAN-GP: 7.5)


@dataclass
class GeneratorConfig:
    arch: str = "dcgan"  # dcgan | mlp
    nz: int = 100
    ngf: int = 64
    n_extra_layers: int = 0
    batch_norm: bool = True
    constant_filters: bool = False  # P2 Fig. 6: same filter count in every layer
    hidden_units: int = 512
    hidden_layers: int = 4
    tanh_output: bool = True
    init: str = "torch"  # MLP: torch (PyTorch's default) | he_zero_bias (WGAN-GP's toy networks)


@dataclass
class CriticConfig:
    arch: str = "dcgan"  # dcgan | mlp
    ndf: int = 64
    n_extra_layers: int = 0
    batch_norm: bool = True
    hidden_units: int = 512
    hidden_layers: int = 4
    init: str = "torch"  # MLP: torch (PyTorch's default) | he_zero_bias (WGAN-GP's toy networks)


@dataclass
class ObjectiveConfig:
    name: str = "wgan_clip"
    loss: str = "wasserstein"  # wasserstein | minimax | nonsaturating
    clip: float | None = 0.01  # weight clipping bound c; None = no clipping
    n_critic: int = 5
    warmup: bool = True  # the reference code's extra critic iterations (see objectives.py)
    warmup_critic_iters: int = 100
    warmup_gen_iters: int = 25
    warmup_every: int = 500  # 0 disables the periodic warm-up
    # P1 section 3 instance noise on the critic's inputs (real and fake): N(0, std^2), std
    # annealed linearly to final_std over anneal_iters steps (0: constant). 0 = off.
    instance_noise_std: float = 0.0
    instance_noise_final_std: float = 0.0
    instance_noise_anneal_iters: int = 0
    # WGAN-GP: lambda of the gradient penalty on random interpolates of real and fake. 0 = off.
    gradient_penalty: float = 0.0


@dataclass
class OptimConfig:
    name: str = "rmsprop"  # rmsprop | adam
    lr: float = 5e-5
    betas: list[float] = field(default_factory=lambda: [0.5, 0.999])
    alpha: float = 0.99
    eps: float = 1e-8


@dataclass
class TrainConfig:
    iterations: int = 1000  # generator iterations
    batch_size: int = 64
    sample_every: int = 250
    checkpoint_every: int = 250
    log_every: int = 50  # plain-text progress lines when stdout is not a terminal
    grid_size: int = 64  # images in a sample grid (fixed noise)
    snapshot_every: int | None = None  # save the generator's weights every N iterations
    eval_every: int | None = None  # sample-quality evaluation every N iterations (curve)
    # auto: bf16 autocast on a CPU that runs bf16 natively, fp32 elsewhere (wgan_repro.precision)
    precision: str = "auto"
    channels_last: bool = False  # 4-D weights in channels_last (oneDNN's fast path on CPUs)


@dataclass
class Fig2Config:
    epochs: list[int] = field(default_factory=lambda: [1, 20, 25])
    d_iters: int = 1000  # discriminator iterations from scratch per snapshot
    measure_every: int = 10  # record norms every k discriminator iterations
    # Independent noise batches per measurement: the norm is that of their mean gradient, and
    # their spread is P1 Fig. 3's "variance of the gradients" (1 = one batch, no variance).
    grad_batches: int = 8
    # Generator steps of the update-quality check (P1 Fig. 3: "updates that lower sample
    # quality"); about one epoch of the DCGAN's own training at the cpu tier. 0 = no probe.
    update_steps: int = 20
    # Generated images per quality evaluation of the probe (vs all held-out images), as curve.
    eval_samples: int = 1000
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])


@dataclass
class CurveConfig:
    run: str = ""  # which entry of `runs` this job trains (set per job by the curve verb)
    runs: dict[str, list[str]] = field(default_factory=dict)  # name -> config overrides
    eval_samples: int = 1000  # generated and held-out images per evaluation (issue #4: >= 1000)
    seeds: list[int] = field(default_factory=lambda: [0])


@dataclass
class AblateConfig:
    variant: str = ""  # which entry of `variants` this job trains (set per job by the verb)
    arm: str = ""  # which entry of `arms` this job trains (set per job)
    variants: dict[str, list[str]] = field(default_factory=dict)  # name -> generator overrides
    arms: dict[str, list[str]] = field(default_factory=dict)  # wgan/gan/wgan_gp -> overrides
    gp: bool = False  # also run the wgan_gp arm (ablate --gp)
    eval_samples: int = 2000  # generated images per evaluation (issue #5: >= 2000)
    class_min_share: float = 0.01  # a class is covered when >= this share of samples hit it
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])


@dataclass
class ToyConfig:
    thetas: int = 21  # theta grid over [-1, 1] for the parallel lines (odd: includes 0)
    samples: int = 512  # samples per distribution in a training batch
    eval_samples: int = 2048  # fresh samples per distribution for the estimates and the EMD
    hidden_units: int = 64  # critic / discriminator: a small ReLU MLP
    hidden_layers: int = 2
    critic_steps: int = 400  # to (near) optimality: the distributions are fixed
    discriminator_steps: int = 400
    critic_lr: float = 5e-3  # RMSProp
    discriminator_lr: float = 1e-3  # Adam
    clip: float = 0.1  # weight clipping of the toy critic
    gaussian_real_mean: float = 2.0  # P2 Fig. 2: two 1-D Gaussians far apart
    gaussian_fake_mean: float = -2.0
    gaussian_std: float = 0.5
    gaussian_steps: int = 2000
    grid_points: int = 401  # x grid of the two-Gaussians plot
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])  # one job per seed


@dataclass
class ProbeConfig:
    arm: str = ""  # which entry of `arms` this job runs (set per job by the probe verbs)
    arms: dict[str, list[str]] = field(default_factory=dict)  # name -> config overrides
    seeds: list[int] = field(default_factory=lambda: [0])
    # probe adam: a blow-up is an estimate more than `blow_up_threshold` robust deviations
    # from the median of the previous `jump_window` critic updates
    jump_window: int = 50
    blow_up_threshold: float = 10.0
    blow_up_radius: int = 25  # critic updates either side of a blow-up counted as "around" it
    # probe adam: generated images per sample-quality evaluation (every train.eval_every),
    # against every held-out digit. 1000 as curve (issue #4's minimum): FCD from fewer samples
    # is biased and noisy, and a blow-up counts only when the next evaluation is worse.
    eval_samples: int = 1000


@dataclass
class ClipConfig:
    part: str = ""  # fig1b | fig1a: which part this job runs (set per job by the clip verb)
    method: str = ""  # fig1b: which entry of `methods` this job trains (set per job)
    dataset: str = ""  # fig1a: which entry of `datasets` this job runs (set per job)
    methods: dict[str, list[str]] = field(default_factory=dict)  # Fig. 1b: name -> overrides
    datasets: dict[str, list[str]] = field(default_factory=dict)  # name -> data overrides
    record_every: int = 10  # critic updates between two recordings
    weight_bins: int = 40  # histogram bins over [-bound, bound]
    surface_methods: dict[str, list[str]] = field(default_factory=dict)  # Fig. 1a's critics
    surface_steps: int = 2000  # Fig. 1a: critic steps against the fixed generator
    # Fig. 1a's critic (overrides of the critic section): gan_toy.py's 3 x 512 ReLU MLP
    surface_critic: list[str] = field(default_factory=lambda: ["critic.hidden_layers=3"])
    fake_noise_std: float = 1.0  # gan_toy.py FIXED_GENERATOR: real + N(0, 1)
    eval_samples: int = 1000  # real and fake samples of the optimality measure (exact EMD)
    grid_points: int = 48  # value surface: grid_points^2 points
    grid_range: float = 3.0  # over [-range, range]^2 (gan_toy.py's RANGE)
    plot_points: int = 300  # real and fake samples kept for the figure
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    critic: CriticConfig = field(default_factory=CriticConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    fig2: Fig2Config = field(default_factory=Fig2Config)
    curve: CurveConfig = field(default_factory=CurveConfig)
    ablate: AblateConfig = field(default_factory=AblateConfig)
    toy: ToyConfig = field(default_factory=ToyConfig)
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    clip: ClipConfig = field(default_factory=ClipConfig)
    tier: str = "cpu"
    experiment_name: str = "train"
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    threads: int | None = None
    results_dir: str = "results"
    run_name: str | None = None  # default: a hash of the config (content-addressed)
    progress: str = "auto"  # auto | rich | plain | none


# What a training run's numbers depend on: its identity (content hash, resume check).
# train.iterations is left out on purpose: asking for more iterations continues a shorter
# run from its last checkpoint instead of starting over (nothing in the loop depends on
# the total). Presentation keys (results_dir, progress, ...) and other experiments'
# sections are left out too.
RUN_IDENTITY_SECTIONS = ("data", "generator", "critic", "objective", "optim", "train", "seed")
RUN_LENGTH_KEYS = ("iterations", "log_every")


def register() -> None:
    """Register the schema with Hydra's ConfigStore (idempotent)."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="config_schema", node=Config)


def _check(ok: bool, message: str, errors: list[str]) -> None:
    if not ok:
        errors.append(message)


SEED_LIMIT = 2**32  # numpy's seeds are 32-bit: one range that every generator seeded here takes


def _check_seed(key: str, seed: int, errors: list[str]) -> None:
    _check(0 <= seed < SEED_LIMIT,
           f"{key} must be in 0 .. 2**32 - 1 ({SEED_LIMIT - 1}), got {seed}", errors)


def _check_seeds(cfg: DictConfig | Any, errors: list[str]) -> None:
    """Every seed in range; no seed list names a seed twice."""
    from wgan_repro.registry import EXPERIMENTS

    _check_seed("seed", cfg.seed, errors)
    _check_seed("data.split_seed", cfg.data.split_seed, errors)
    for key in sorted({e.seeds_key for e in EXPERIMENTS.values() if e.seeds_key}):
        section = key.split(".")[0]
        seeds = list(cfg[section].seeds)
        repeated = sorted({s for s in seeds if seeds.count(s) > 1})
        _check(not repeated, f"{section}.seeds names seed {', '.join(map(str, repeated))} more "
               "than once (a repeat would count twice in the verdict)", errors)
        for seed in seeds:
            _check_seed(key, seed, errors)


def validate(cfg: DictConfig | Any) -> None:
    """Reject values no type can rule out; raise ConfigError naming every bad key."""
    errors: list[str] = []
    d, g, c, o, op, t = cfg.data, cfg.generator, cfg.critic, cfg.objective, cfg.optim, cfg.train
    _check(d.name in IMAGE_DATASETS + POINT_DATASETS,
           f"data.name must be one of {', '.join(IMAGE_DATASETS + POINT_DATASETS)}, got {d.name!r}",
           errors)
    if d.name in IMAGE_DATASETS:
        _check(d.image_size in (16, 32, 64) or g.arch == "mlp" and c.arch == "mlp",
               f"data.image_size must be 16, 32 or 64 for DCGAN networks, got {d.image_size}",
               errors)
        _check(d.channels in (1, 3), f"data.channels must be 1 or 3, got {d.channels}", errors)
    else:
        _check(g.arch == "mlp" and c.arch == "mlp",
               f"data={d.name} is 2-D points: use generator=mlp critic=mlp", errors)
    _check(0.0 < d.heldout_fraction < 1.0,
           f"data.heldout_fraction must be in (0, 1), got {d.heldout_fraction}", errors)
    _check(d.max_images is None or d.max_images >= 1,
           f"data.max_images must be >= 1, got {d.max_images}", errors)
    for name, net in (("generator", g), ("critic", c)):
        _check(net.arch in ("dcgan", "mlp"), f"{name}.arch must be dcgan or mlp, got {net.arch!r}",
               errors)
        _check(net.n_extra_layers >= 0,
               f"{name}.n_extra_layers must be >= 0, got {net.n_extra_layers}", errors)
        _check(net.hidden_units >= 1 and net.hidden_layers >= 1,
               f"{name}.hidden_units and hidden_layers must be >= 1", errors)
        _check(net.init in ("torch", "he_zero_bias"),
               f"{name}.init must be torch or he_zero_bias, got {net.init!r}", errors)
    _check(g.ngf >= 1, f"generator.ngf must be >= 1, got {g.ngf}", errors)
    _check(g.nz >= 1, f"generator.nz must be >= 1, got {g.nz}", errors)
    _check(c.ndf >= 1, f"critic.ndf must be >= 1, got {c.ndf}", errors)
    _check(o.loss in ("wasserstein", "minimax", "nonsaturating"),
           f"objective.loss must be wasserstein, minimax or nonsaturating, got {o.loss!r}", errors)
    _check(o.clip is None or o.clip > 0, f"objective.clip must be > 0, got {o.clip}", errors)
    _check(o.gradient_penalty >= 0,
           f"objective.gradient_penalty must be >= 0, got {o.gradient_penalty}", errors)
    _check(o.gradient_penalty == 0 or not (c.arch == "dcgan" and c.batch_norm),
           "objective.gradient_penalty penalises each sample's gradient, which a batch-norm "
           "critic mixes across the batch (WGAN-GP section 4): set critic.batch_norm=false",
           errors)
    _check(o.n_critic >= 1, f"objective.n_critic must be >= 1, got {o.n_critic}", errors)
    _check(o.warmup_critic_iters >= 0 and o.warmup_gen_iters >= 0 and o.warmup_every >= 0,
           "objective.warmup_* must be >= 0", errors)
    _check(o.instance_noise_std >= 0 and o.instance_noise_final_std >= 0,
           "objective.instance_noise_std and instance_noise_final_std must be >= 0", errors)
    _check(o.instance_noise_anneal_iters >= 0,
           f"objective.instance_noise_anneal_iters must be >= 0, got "
           f"{o.instance_noise_anneal_iters}", errors)
    _check(op.name in ("rmsprop", "adam"), f"optim.name must be rmsprop or adam, got {op.name!r}",
           errors)
    _check(op.lr > 0, f"optim.lr must be > 0, got {op.lr}", errors)
    _check(len(op.betas) == 2 and all(0.0 <= b < 1.0 for b in op.betas),
           f"optim.betas must be two numbers in [0, 1), got {list(op.betas)}", errors)
    _check(t.iterations >= 1, f"train.iterations must be >= 1, got {t.iterations}", errors)
    _check(t.batch_size >= 1, f"train.batch_size must be >= 1, got {t.batch_size}", errors)
    for key in ("sample_every", "checkpoint_every", "log_every", "grid_size"):
        _check(t[key] >= 1, f"train.{key} must be >= 1, got {t[key]}", errors)
    _check(t.precision in PRECISIONS,
           f"train.precision must be {', '.join(PRECISIONS)}, got {t.precision!r}", errors)
    _check(t.eval_every is None or t.eval_every >= 1,
           f"train.eval_every must be >= 1, got {t.eval_every}", errors)
    _check(t.snapshot_every is None or t.snapshot_every >= 1,
           f"train.snapshot_every must be >= 1, got {t.snapshot_every}", errors)
    _check(cfg.device == "auto" or cfg.device == "cpu" or cfg.device == "mps"
           or str(cfg.device).startswith("cuda"),
           f"device must be auto, cpu, cuda, cuda:N or mps, got {cfg.device!r}", errors)
    _check(cfg.threads is None or cfg.threads >= 1, f"threads must be >= 1, got {cfg.threads}",
           errors)
    _check(cfg.progress in ("auto", "rich", "plain", "none"),
           f"progress must be auto, rich, plain or none, got {cfg.progress!r}", errors)
    _check(str(cfg.results_dir).strip() != "", "results_dir must be a folder path, got an "
           "empty string", errors)
    _check_seeds(cfg, errors)
    errors += [f"{key} must be a finite number, got {value}"
               for key, value in _leaves(cfg) if isinstance(value, float)
               and not math.isfinite(value)]
    if errors:
        raise ConfigError("; ".join(errors))


def _leaves(node: Any, prefix: str = ""):
    """(dotted key, value) of every leaf of a config (lists indexed as key[i])."""
    from omegaconf import DictConfig, ListConfig

    if isinstance(node, DictConfig | dict):
        for key in node:
            yield from _leaves(node[key], f"{prefix}{key}.")
    elif isinstance(node, ListConfig | list | tuple):
        for i, item in enumerate(node):
            yield from _leaves(item, f"{prefix[:-1]}[{i}].")
    else:
        yield prefix[:-1], node
