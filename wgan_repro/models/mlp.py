"""MLP generator and critic (P2 Fig. 7: 4 hidden layers of 512 ReLU units)."""

from __future__ import annotations

import math

import torch
from torch import nn

INITS = ("torch", "he_zero_bias")  # generator.init / critic.init of an MLP


def _mlp(n_in: int, n_out: int, hidden_units: int, hidden_layers: int,
         init: str = "torch") -> list[nn.Module]:
    layers: list[nn.Module] = []
    width = n_in
    for _ in range(hidden_layers):
        layers += [nn.Linear(width, hidden_units), nn.ReLU(True)]
        width = hidden_units
    layers.append(nn.Linear(width, n_out))
    if init == "he_zero_bias":
        initialise_like_wgan_gp_toy(layers)
    return layers


@torch.no_grad()
def initialise_like_wgan_gp_toy(layers: list[nn.Module]) -> None:
    """WGAN-GP's toy networks (tflib Linear): weights uniform with std sqrt(2 / fan_in) ("he")
    in the ReLU layers and sqrt(2 / (fan_in + fan_out)) ("glorot") in the output layer, biases
    zero. PyTorch's default instead draws biases from U(+-1/sqrt(fan_in)), which clipping turns
    into +-c: with tiny weights those biases decide every unit, and a deep clipped critic can
    start dead (docs/clip.md)."""
    linears = [m for m in layers if isinstance(m, nn.Linear)]
    for i, layer in enumerate(linears):
        fan_out, fan_in = layer.weight.shape
        std = math.sqrt(2.0 / fan_in) if i < len(linears) - 1 else math.sqrt(2.0 / (fan_in + fan_out))
        layer.weight.uniform_(-std * math.sqrt(3.0), std * math.sqrt(3.0))
        layer.bias.zero_()


class MLPGenerator(nn.Module):
    def __init__(
        self,
        sample_shape: tuple[int, ...],
        nz: int = 100,
        hidden_units: int = 512,
        hidden_layers: int = 4,
        tanh_output: bool = True,
        init: str = "torch",
    ) -> None:
        super().__init__()
        self.nz = nz
        self.sample_shape = tuple(sample_shape)
        layers = _mlp(nz, math.prod(sample_shape), hidden_units, hidden_layers, init)
        if tanh_output:  # images live in [-1, 1], like the DCGAN generator's output
            layers.append(nn.Tanh())
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z.view(z.shape[0], self.nz)).view(z.shape[0], *self.sample_shape)


class MLPCritic(nn.Module):
    def __init__(
        self, sample_shape: tuple[int, ...], hidden_units: int = 512, hidden_layers: int = 4,
        init: str = "torch",
    ) -> None:
        super().__init__()
        self.main = nn.Sequential(
            *_mlp(math.prod(sample_shape), 1, hidden_units, hidden_layers, init)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x.reshape(x.shape[0], -1)).view(x.shape[0])
