"""Build networks from their config sections and the data's sample shape."""

from __future__ import annotations

from torch import nn

from wgan_repro.models.dcgan import DCGANCritic, DCGANGenerator
from wgan_repro.models.mlp import MLPCritic, MLPGenerator


def build_generator(cfg, sample_shape: tuple[int, ...]) -> nn.Module:
    if cfg.arch == "mlp":
        return MLPGenerator(
            sample_shape, cfg.nz, cfg.hidden_units, cfg.hidden_layers, cfg.tanh_output, cfg.init
        )
    channels, size = sample_shape[0], sample_shape[-1]
    return DCGANGenerator(
        size, channels, cfg.nz, cfg.ngf, cfg.n_extra_layers, cfg.batch_norm, cfg.constant_filters
    )


def build_critic(cfg, sample_shape: tuple[int, ...]) -> nn.Module:
    if cfg.arch == "mlp":
        return MLPCritic(sample_shape, cfg.hidden_units, cfg.hidden_layers, cfg.init)
    channels, size = sample_shape[0], sample_shape[-1]
    return DCGANCritic(size, channels, cfg.ndf, cfg.n_extra_layers, cfg.batch_norm)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
