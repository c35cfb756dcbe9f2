"""Output shapes, one number per sample, parameter counts."""

import pytest
import torch

from wgan_repro.models import count_parameters
from wgan_repro.models.dcgan import DCGANCritic, DCGANGenerator
from wgan_repro.models.mlp import MLPCritic, MLPGenerator


@pytest.mark.parametrize("size", [16, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("extra", [0, 1])
def test_dcgan_shapes(size, channels, extra):
    g = DCGANGenerator(size, channels, nz=10, ngf=4, n_extra_layers=extra)
    d = DCGANCritic(size, channels, ndf=4, n_extra_layers=extra)
    x = g(torch.randn(3, 10))
    assert x.shape == (3, channels, size, size)
    assert x.abs().max() <= 1.0  # tanh output
    assert d(x).shape == (3,)  # one number per sample, no batch mean


def test_critic_has_no_sigmoid():
    d = DCGANCritic(16, 1, ndf=8)
    with torch.no_grad():
        for p in d.parameters():
            p.mul_(50)
    out = d(torch.randn(8, 1, 16, 16))
    assert (out.abs() > 1).any()


def test_unsupported_image_size():
    with pytest.raises(ValueError, match="16, 32, 64"):
        DCGANGenerator(48, 1)


def test_dcgan_generator_parameter_count_by_hand():
    # 64x64, ngf=64, nz=100: 100->512 (4x4), 512->256, 256->128, 128->64, 64->3; BN has 2 per channel
    convs = 100 * 512 * 16 + 512 * 256 * 16 + 256 * 128 * 16 + 128 * 64 * 16 + 64 * 3 * 16
    bn = 2 * (512 + 256 + 128 + 64)
    assert count_parameters(DCGANGenerator(64, 3)) == convs + bn


def test_fig6_generator_is_at_least_8x_smaller():
    dcgan = count_parameters(DCGANGenerator(64, 3, ngf=64))
    nobn = DCGANGenerator(64, 3, ngf=64, batch_norm=False, constant_filters=True)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in nobn.modules())
    widths = {m.out_channels for m in nobn.modules() if isinstance(m, torch.nn.ConvTranspose2d)}
    assert widths == {64, 3}  # the same filter count in every hidden layer
    assert dcgan / count_parameters(nobn) >= 8


def test_mlp_generator_has_four_hidden_layers_of_512():
    g = MLPGenerator((1, 32, 32), nz=100)
    linears = [m for m in g.modules() if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linears] == [512, 512, 512, 512, 1024]
    assert g(torch.randn(5, 100)).shape == (5, 1, 32, 32)
    assert MLPCritic((1, 32, 32))(torch.randn(5, 1, 32, 32)).shape == (5,)
    assert MLPCritic((2,), 16, 2)(torch.randn(7, 2)).shape == (7,)


def test_dcgan_init_is_normal_002():
    g = DCGANGenerator(64, 3)
    w = torch.cat([m.weight.flatten() for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)])
    assert w.mean().item() == pytest.approx(0.0, abs=1e-3)
    assert w.std().item() == pytest.approx(0.02, rel=0.02)
