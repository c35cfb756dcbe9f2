"""WGAN-GP's gradient penalty: values computed by hand on images and on 2-D points, the norm per
sample over every non-batch dimension (not over dim 1), interpolates, and the objective in the
training loop (precision, channels_last, resume)."""

import pandas as pd
import pytest
import torch
from torch import nn

from wgan_repro import objectives as obj
from wgan_repro import train as train_module
from wgan_repro.errors import ConfigError
from wgan_repro.schema import validate
from wgan_repro.train import run_dir_for, train

LAMBDA = 10.0


def dim1_penalty(grad, weight):
    """The bug users report in public WGAN-GP code: the norm over dim 1 only (per pixel for an
    image batch), then the mean over everything."""
    return weight * ((grad.norm(2, dim=1) - 1) ** 2).mean()


def _half_square_critic(x):
    """f(x) = sum(x^2) / 2 per sample: its input gradient is x itself."""
    return 0.5 * x.flatten(1).square().sum(1)


def test_penalty_on_an_image_batch_by_hand_and_not_the_dim_1_variant():
    # two 1-channel 2x2 "images": all ones (||x|| = 2) and all 0.5 (||x|| = 1)
    x = torch.stack([torch.ones(1, 2, 2), torch.full((1, 2, 2), 0.5)])
    grad = obj.critic_input_gradients(_half_square_critic, x)
    torch.testing.assert_close(grad, x)
    # per sample: lambda * mean((2 - 1)^2, (1 - 1)^2) = 10 * 0.5 = 5
    assert obj.gradient_penalty(grad, LAMBDA).item() == pytest.approx(5.0)
    # over dim 1 (the single channel): per pixel |x| = 1 or 0.5 -> 10 * mean(0, 0.25) = 1.25
    assert dim1_penalty(grad, LAMBDA).item() == pytest.approx(1.25)
    assert obj.gradient_penalty(grad, LAMBDA).item() != pytest.approx(
        dim1_penalty(grad, LAMBDA).item())


def test_penalty_on_3_channel_images_takes_the_norm_over_channels_height_and_width():
    grad = torch.zeros(2, 3, 4, 4)
    grad[0, 0, 0, 0] = 3.0
    grad[0, 2, 3, 1] = 4.0  # sample 0: ||g|| = 5 -> (5 - 1)^2 = 16
    grad[1] = 1.0 / 48 ** 0.5  # sample 1: 48 entries of 1/sqrt(48): ||g|| = 1 -> 0
    assert obj.per_sample_norms(grad).tolist() == pytest.approx([5.0, 1.0])
    assert obj.gradient_penalty(grad, LAMBDA).item() == pytest.approx(10 * (16 + 0) / 2)
    assert dim1_penalty(grad, LAMBDA).item() != pytest.approx(80.0)


def test_penalty_on_2d_points_through_a_linear_critic():
    critic = nn.Linear(2, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[3.0, 4.0]]))  # ||grad f|| = 5 everywhere
    points = torch.randn(7, 2)
    grad = obj.critic_input_gradients(lambda x: critic(x).view(-1), points)
    torch.testing.assert_close(grad, torch.tensor([[3.0, 4.0]]).expand(7, 2))
    penalty = obj.gradient_penalty(grad, LAMBDA)
    assert penalty.item() == pytest.approx(10 * (5 - 1) ** 2)
    # differentiable in the critic's weights (create_graph): d/dw 10 (||w|| - 1)^2 =
    # 20 (||w|| - 1) w / ||w|| = 20 * 4 * (3, 4) / 5 = (48, 64)
    penalty.backward()
    torch.testing.assert_close(critic.weight.grad, torch.tensor([[48.0, 64.0]]))


def test_interpolates_take_one_eps_per_sample():
    real = torch.ones(3, 1, 2, 2)
    fake = torch.zeros(3, 1, 2, 2)
    mixed = obj.interpolates(real, fake, torch.tensor([0.0, 0.25, 1.0]))
    assert [float(m.unique()) for m in mixed] == [0.0, 0.25, 1.0]


def test_penalty_weight_reaches_the_objective_and_is_validated(compose):
    cfg = compose("objective=wgan_gp")
    objective = obj.build_objective(cfg.objective)
    assert objective.penalty_weight == 10.0 and objective.clip is None
    assert (cfg.optim.name, cfg.optim.lr, list(cfg.optim.betas)) == ("adam", 1e-4, [0.0, 0.9])
    assert cfg.critic.batch_norm is False and cfg.objective.n_critic == 5
    bad = compose("objective=wgan_gp", "objective.gradient_penalty=-1")
    with pytest.raises(ConfigError, match="objective.gradient_penalty must be >= 0"):
        validate(bad)
    with pytest.raises(ConfigError, match="critic.batch_norm=false"):
        validate(compose("objective=wgan_gp", "critic.batch_norm=true"))


def test_wgan_gp_critic_loss_is_minus_w_plus_the_penalty(compose, monkeypatch):
    """The loop adds lambda * E(||grad f(x_hat)|| - 1)^2 to -(E f(real) - E f(fake)): the
    logged critic loss minus the logged -W is the penalty, >= 0 and not 0."""
    cfg = compose("objective=wgan_gp", "train.iterations=3")
    train(cfg)
    frame = pd.read_csv(run_dir_for(cfg) / "metrics.csv")
    penalty = frame["critic_loss"] + frame["wasserstein_estimate"]
    assert (penalty > 0).all()
    assert frame["critic_iters"].tolist() == [5, 5, 5]  # no warm-up in WGAN-GP's Algorithm 1


@pytest.mark.parametrize("layout", ["channels_last=true", "channels_last=false"])
def test_wgan_gp_resume_equals_uninterrupted(compose, monkeypatch, layout):
    """eps comes from the run's RNG: a run cut after a checkpoint and resumed ends with the
    same numbers as one never cut."""
    whole = compose("objective=wgan_gp", f"train.{layout}", "run_name=whole")
    train(whole)
    cut = compose("objective=wgan_gp", f"train.{layout}", "run_name=cut")
    original = train_module.Progress.update

    def interrupt(self, gen_iter, row):
        original(self, gen_iter, row)
        if gen_iter == 15:
            raise KeyboardInterrupt

    monkeypatch.setattr(train_module.Progress, "update", interrupt)
    with pytest.raises(KeyboardInterrupt):
        train(cut)
    monkeypatch.setattr(train_module.Progress, "update", original)
    train(cut)
    numbers = ["critic_loss", "generator_loss", "wasserstein_estimate"]
    pd.testing.assert_frame_equal(pd.read_csv(run_dir_for(whole) / "metrics.csv")[numbers],
                                  pd.read_csv(run_dir_for(cut) / "metrics.csv")[numbers])


def test_wgan_gp_runs_in_bf16(compose):
    cfg = compose("objective=wgan_gp", "train.precision=bf16", "train.iterations=4")
    summary = train(cfg)
    assert summary["status"] == "finished"
    frame = pd.read_csv(run_dir_for(cfg) / "metrics.csv")
    assert frame["critic_loss"].notna().all() and (frame["critic_loss"].abs() < 1e3).all()
