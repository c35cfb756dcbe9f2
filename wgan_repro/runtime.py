"""Where and how a run computes: the device, threads, optimisers, RNG state, and sampling
that leaves batch-norm statistics as they were. Shared by the training loop and fig2's
discriminator runs."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import torch
from omegaconf import DictConfig

from wgan_repro import precision


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


def run_precision(cfg: DictConfig) -> str:
    """train.precision resolved for the device this config runs on."""
    return precision.resolve(cfg.train.precision, select_device(cfg.device))


def cpu_model() -> str:
    """The processor's name ("AMD EPYC 9B14", "Intel(R) Xeon(R) ..."), recorded with every time:
    the same job runs several times faster on one CPU than on another."""
    import platform

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


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
