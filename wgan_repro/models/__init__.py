"""Generators map noise (N, nz) to samples; critics map samples to one number each (N,)."""

from wgan_repro.models.build import build_critic, build_generator, count_parameters

__all__ = ["build_critic", "build_generator", "count_parameters"]
