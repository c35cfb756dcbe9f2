"""The sample-quality evaluation shared by curve and ablate: generated images vs held-out
real ones, by exact pixel EMD, classifier FCD and (optionally) class coverage."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from omegaconf import DictConfig

from wgan_repro.data import load_dataset, to_unit_range
from wgan_repro.errors import ConfigError
from wgan_repro.metrics import exact_emd, load_or_train_classifier
from wgan_repro.runtime import select_device

NOISE_SEED_OFFSET = 10_000  # evaluation noise: its own stream, never the training one


def make_evaluator(cfg: DictConfig, n_generated: int, n_real: int | None = None,
                   coverage_min_share: float | None = None):
    """evaluate(generator) -> {emd, fcd[, classes_covered, kl_uniform]} on fixed noise.

    ``n_real`` held-out images are the reference (all of them when None). Noise comes from
    its own torch.Generator, so evaluating never shifts the training RNG.
    """
    device = select_device(cfg.device)
    data = load_dataset(cfg.data, cache_dir=Path(cfg.results_dir) / ".cache")
    if data.heldout is None:
        raise ConfigError(f"data={cfg.data.name} streams and has no held-out split to measure "
                          "quality against; use digits, mnist, cifar10 or image_folder")
    available = len(data.heldout)
    if n_real is not None and available < n_real:
        raise ConfigError(f"{n_real} held-out images asked for, the split has {available}; "
                          "raise data.heldout_fraction or ask for fewer evaluation samples")
    classifier = load_or_train_classifier(data, cfg.data, Path(cfg.results_dir) / ".cache")
    real = to_unit_range(data.heldout[:n_real]).cpu()
    noise = torch.randn(n_generated, cfg.generator.nz,
                        generator=torch.Generator().manual_seed(NOISE_SEED_OFFSET + cfg.seed))

    @torch.no_grad()
    def evaluate(generator: torch.nn.Module) -> dict[str, float]:
        # In training-sized batches: batch norm sees the batch statistics it was trained with.
        fake = torch.cat([generator(z.to(device)).cpu() for z in noise.split(cfg.train.batch_size)])
        result = {"emd": math.nan, "fcd": math.nan}
        if coverage_min_share is not None:
            result.update(classes_covered=math.nan, kl_uniform=math.nan)
        if not torch.isfinite(fake).all():
            return result
        result.update(emd=exact_emd(fake, real), fcd=classifier.fcd(fake, real))
        if coverage_min_share is not None:
            result.update(classifier.coverage(fake, coverage_min_share))
        return result

    return evaluate, classifier

