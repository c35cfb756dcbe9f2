"""DCGAN generator and critic (Radford et al. 2016, as used by P2's reference code).

The layer plan follows the reference: the generator starts at 4x4 and doubles the
resolution with stride-2 transposed convolutions, halving the filter count each time; the
critic mirrors it. Neither network has a sigmoid, and the critic returns one number per
sample: any reduction over the batch belongs to the loss, not to ``forward``.
"""

from __future__ import annotations

import torch
from torch import nn

SUPPORTED_SIZES = (16, 32, 64)


def _check_size(image_size: int) -> int:
    if image_size not in SUPPORTED_SIZES:
        raise ValueError(f"DCGAN networks support image sizes {SUPPORTED_SIZES}, got {image_size}")
    return image_size.bit_length() - 3  # 16 -> 2, 32 -> 3, 64 -> 4 stride-2 stages


def init_dcgan_weights(module: nn.Module) -> None:
    """N(0, 0.02) for convolutions, N(1, 0.02) scale and zero shift for batch norm (reference)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def _norm(channels: int, batch_norm: bool) -> nn.Module:
    return nn.BatchNorm2d(channels) if batch_norm else nn.Identity()


class DCGANGenerator(nn.Module):
    def __init__(
        self,
        image_size: int,
        channels: int,
        nz: int = 100,
        ngf: int = 64,
        n_extra_layers: int = 0,
        batch_norm: bool = True,
        constant_filters: bool = False,
    ) -> None:
        super().__init__()
        stages = _check_size(image_size)
        self.nz = nz
        # Filter counts from the 4x4 input layer to the last hidden layer; the reference
        # doubles towards the input (ngf * 2**(stages-1) at 4x4), P2 Fig. 6 keeps ngf throughout.
        widths = [ngf if constant_filters else ngf * 2 ** (stages - 1 - i) for i in range(stages)]
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(nz, widths[0], 4, 1, 0, bias=False),
            _norm(widths[0], batch_norm),
            nn.ReLU(True),
        ]
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            layers += [
                nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=False),
                _norm(w_out, batch_norm),
                nn.ReLU(True),
            ]
        for _ in range(n_extra_layers):
            layers += [
                nn.Conv2d(widths[-1], widths[-1], 3, 1, 1, bias=False),
                _norm(widths[-1], batch_norm),
                nn.ReLU(True),
            ]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        init_dcgan_weights(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z.view(z.shape[0], self.nz, 1, 1))


class DCGANCritic(nn.Module):
    def __init__(
        self,
        image_size: int,
        channels: int,
        ndf: int = 64,
        n_extra_layers: int = 0,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        stages = _check_size(image_size)
        # No normalisation on the input layer (DCGAN recipe).
        layers: list[nn.Module] = [
            nn.Conv2d(channels, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        for _ in range(n_extra_layers):
            layers += [
                nn.Conv2d(ndf, ndf, 3, 1, 1, bias=False),
                _norm(ndf, batch_norm),
                nn.LeakyReLU(0.2, inplace=True),
            ]
        width = ndf
        for _ in range(stages - 1):
            layers += [
                nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),
                _norm(width * 2, batch_norm),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            width *= 2
        layers.append(nn.Conv2d(width, 1, 4, 1, 0, bias=False))  # 4x4 -> 1x1, no sigmoid
        self.main = nn.Sequential(*layers)
        init_dcgan_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x).view(x.shape[0])
