"""MLP generator and critic (P2 Fig. 7: 4 hidden layers of 512 ReLU units)."""

from __future__ import annotations

import math

import torch
from torch import nn


def _mlp(n_in: int, n_out: int, hidden_units: int, hidden_layers: int) -> list[nn.Module]:
    layers: list[nn.Module] = []
    width = n_in
    for _ in range(hidden_layers):
        layers += [nn.Linear(width, hidden_units), nn.ReLU(True)]
        width = hidden_units
    layers.append(nn.Linear(width, n_out))
    return layers


class MLPGenerator(nn.Module):
    def __init__(
        self,
        sample_shape: tuple[int, ...],
        nz: int = 100,
        hidden_units: int = 512,
        hidden_layers: int = 4,
        tanh_output: bool = True,
    ) -> None:
        super().__init__()
        self.nz = nz
        self.sample_shape = tuple(sample_shape)
        layers = _mlp(nz, math.prod(sample_shape), hidden_units, hidden_layers)
        if tanh_output:  # images live in [-1, 1], like the DCGAN generator's output
            layers.append(nn.Tanh())
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z.view(z.shape[0], self.nz)).view(z.shape[0], *self.sample_shape)


class MLPCritic(nn.Module):
    def __init__(
        self, sample_shape: tuple[int, ...], hidden_units: int = 512, hidden_layers: int = 4
    ) -> None:
        super().__init__()
        self.main = nn.Sequential(
            *_mlp(math.prod(sample_shape), 1, hidden_units, hidden_layers)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x.reshape(x.shape[0], -1)).view(x.shape[0])
