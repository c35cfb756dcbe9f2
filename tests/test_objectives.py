"""Loss formulas against values computed by hand on tiny tensors."""

import math

import pytest
import torch

from wgan_repro import objectives as obj

LN3 = math.log(3.0)
# logits -> D: 0 -> 1/2, ln 3 -> 3/4, -ln 3 -> 1/4
REAL = torch.tensor([0.0, LN3])
FAKE = torch.tensor([0.0, -LN3])


def test_gan_value_is_mean_log_d_real_plus_mean_log_one_minus_d_fake():
    expected = (math.log(0.5) + math.log(0.75)) / 2 + (math.log(0.5) + math.log(0.75)) / 2
    assert obj.gan_value(REAL, FAKE).item() == pytest.approx(expected, rel=1e-6)
    assert obj.gan_discriminator_loss(REAL, FAKE).item() == pytest.approx(-expected, rel=1e-6)


def test_minimax_generator_cost_is_mean_log_one_minus_d_fake():
    expected = (math.log(1 - 0.5) + math.log(1 - 0.25)) / 2
    assert obj.gan_minimax_generator_loss(FAKE).item() == pytest.approx(expected, rel=1e-6)


def test_nonsaturating_generator_cost_is_minus_mean_log_d_fake():
    expected = -(math.log(0.5) + math.log(0.25)) / 2
    assert obj.gan_nonsaturating_generator_loss(FAKE).item() == pytest.approx(expected, rel=1e-6)


def test_js_estimate_is_half_value_plus_log2():
    value = (math.log(0.5) + math.log(0.75)) * 1.0
    assert obj.js_estimate(REAL, FAKE).item() == pytest.approx(0.5 * value + math.log(2), rel=1e-6)
    # D = 1/2 everywhere: the bound is exactly 0; a perfect discriminator approaches log 2
    zeros = torch.zeros(4)
    assert obj.js_estimate(zeros, zeros).item() == pytest.approx(0.0, abs=1e-7)
    perfect = obj.js_estimate(torch.full((4,), 50.0), torch.full((4,), -50.0)).item()
    assert perfect == pytest.approx(math.log(2), abs=1e-6)


def test_discriminator_accuracy_counts_both_sides():
    real = torch.tensor([1.0, -1.0, 2.0])  # 2 of 3 right
    fake = torch.tensor([-1.0, 3.0])  # 1 of 2 right
    assert obj.discriminator_accuracy(real, fake).item() == pytest.approx(3 / 5)


def test_wasserstein_losses():
    real, fake = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0.0, 1.0])
    assert obj.wasserstein_estimate(real, fake).item() == pytest.approx(2.0 - 0.5)
    assert obj.wgan_critic_loss(real, fake).item() == pytest.approx(-1.5)
    assert obj.wgan_generator_loss(fake).item() == pytest.approx(-0.5)


def test_gan_losses_stay_finite_when_d_saturates():
    real = torch.tensor([200.0, -200.0], requires_grad=True)
    fake = torch.tensor([-200.0, 200.0], requires_grad=True)
    losses = [obj.gan_discriminator_loss(real, fake), obj.gan_minimax_generator_loss(fake),
              obj.gan_nonsaturating_generator_loss(fake)]
    total = sum(losses)
    total.backward()
    assert all(torch.isfinite(x) for x in losses)
    assert torch.isfinite(real.grad).all() and torch.isfinite(fake.grad).all()
    # -log D keeps a gradient of magnitude ~1/n where D(G(z)) -> 0; log(1 - D) loses it.
    fake2 = torch.tensor([-200.0], requires_grad=True)
    obj.gan_minimax_generator_loss(fake2).backward()
    assert abs(fake2.grad.item()) < 1e-60
    fake3 = torch.tensor([-200.0], requires_grad=True)
    obj.gan_nonsaturating_generator_loss(fake3).backward()
    assert fake3.grad.item() == pytest.approx(-1.0)


def test_clip_weights_bounds_every_parameter_and_keeps_inner_values():
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.linspace(-1, 1, p.numel()).view_as(p))
    before = [p.clone() for p in net.parameters()]
    obj.clip_weights_(net.parameters(), 0.01)
    for p, b in zip(net.parameters(), before):
        assert p.abs().max().item() <= 0.01
        inside = b.abs() <= 0.01
        torch.testing.assert_close(p[inside], b[inside])
        torch.testing.assert_close(p[~inside], 0.01 * b[~inside].sign())


def test_warmup_schedule_follows_reference_rule():
    o = obj.Objective(obj.wgan_critic_loss, obj.wgan_generator_loss, True, 0.01, 5, True, 100, 25,
                      500)
    assert [o.critic_iters(i) for i in (0, 24, 25, 26, 499, 500, 501, 1000)] == [
        100, 100, 5, 5, 5, 100, 5, 100]
    off = obj.Objective(obj.wgan_critic_loss, obj.wgan_generator_loss, True, 0.01, 5, False, 100,
                        25, 500)
    assert {off.critic_iters(i) for i in range(600)} == {5}


def test_build_objective_maps_config_to_functions(compose):
    gan = obj.build_objective(compose("objective=gan_minimax").objective)
    assert gan.generator_loss is obj.gan_minimax_generator_loss and gan.clip is None
    assert gan.critic_iters(0) == 1
    wgan = obj.build_objective(compose("objective=wgan_clip").objective)
    assert wgan.critic_loss is obj.wgan_critic_loss and wgan.clip == 0.01
