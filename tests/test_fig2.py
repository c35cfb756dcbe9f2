"""fig2 at scale=smoke: the CSV columns, the PDFs, finite norms, and the norm computation
checked against a hand-written autograd computation."""

import json
import math

import pandas as pd
import pytest
import torch

from wgan_repro.experiments import fig2
from wgan_repro.models.dcgan import DCGANCritic, DCGANGenerator
from wgan_repro.results import FIG2_COLUMNS


def test_grad_norms_equal_a_hand_written_autograd_computation():
    torch.manual_seed(0)
    generator = DCGANGenerator(16, 1, nz=4, ngf=2).double()
    critic = DCGANCritic(16, 1, ndf=2).double()
    with torch.no_grad():
        for p in critic.parameters():
            p.mul_(4)  # a confident D (not saturated in float64): the two costs differ clearly
    z = torch.randn(5, 4, dtype=torch.float64)
    critic.requires_grad_(False)
    original, logd = fig2.generator_grad_norms(generator, critic(generator(z)))

    # by hand: D = sigmoid(logit); costs as written in P1, gradients one parameter at a time
    d = torch.sigmoid(critic(generator(z)))
    generator.zero_grad()
    torch.log(1 - d).mean().backward(retain_graph=True)
    hand_original = math.sqrt(sum((p.grad ** 2).sum().item() for p in generator.parameters()))
    generator.zero_grad()
    (-torch.log(d)).mean().backward()
    hand_logd = math.sqrt(sum((p.grad ** 2).sum().item() for p in generator.parameters()))
    assert math.isfinite(hand_original) and math.isfinite(hand_logd)
    assert original.item() == pytest.approx(hand_original, rel=1e-6)
    assert logd.item() == pytest.approx(hand_logd, rel=1e-6)
    assert original.item() != pytest.approx(logd.item(), rel=0.1)


def test_flat_grad_norm_is_the_norm_of_the_concatenation():
    grads = [torch.tensor([3.0, 0.0]), torch.tensor([[4.0]]), torch.tensor([12.0])]
    assert fig2.flat_grad_norm(grads).item() == pytest.approx(13.0)


@pytest.fixture
def smoke_fig2(compose):
    cfg = compose("experiment=fig2", "fig2.epochs=[1,2]")
    run = fig2.run_fig2(cfg)
    summary = fig2.aggregate(cfg.results_dir, run["files"], "test")
    return cfg, run, summary


def test_smoke_fig2_writes_the_promised_files(smoke_fig2):
    cfg, _, summary = smoke_fig2
    out = cfg.results_dir + "/fig2"
    frame = pd.read_csv(f"{out}/grad_norms.csv")
    assert tuple(frame.columns) == FIG2_COLUMNS
    assert sorted(frame["epoch"].unique()) == [1, 2]
    assert frame["d_iter"].tolist()[:5] == [0, 5, 10, 15, 20]
    for column in ("grad_norm_original", "grad_norm_logd", "d_loss"):
        assert (frame[column] > 0).all() and frame[column].map(math.isfinite).all()
    assert frame["d_accuracy"].between(0, 1).all()
    for name in ("fig1_discriminator.pdf", "fig2_grad_norm_original.pdf",
                 "fig3_grad_norm_logd.pdf"):
        data = open(f"{out}/{name}", "rb").read()
        assert data.startswith(b"%PDF") and b"%%EOF" in data[-1024:]
    on_disk = json.load(open(f"{out}/summary.json"))
    assert set(on_disk["epochs"]) == {"1", "2"}
    first = on_disk["epochs"]["1"]
    assert first["orders_decayed_original"] == pytest.approx(
        math.log10(first["grad_norm_original_first"] / first["grad_norm_original_last"]))
    claims = pd.read_csv(f"{cfg.results_dir}/claims.csv")
    assert list(claims.columns) == ["experiment", "claim", "paper_value", "measured_value",
                                    "verdict", "source"]
    assert len(claims) == 3 and set(claims["experiment"]) == {"fig2"}
    assert set(claims["verdict"]) <= {"reproduced", "not reproduced", "inconclusive"}


def test_rerun_reuses_snapshots_and_discriminator_runs(smoke_fig2, monkeypatch):
    cfg, run, _ = smoke_fig2
    monkeypatch.setattr(fig2, "train_discriminator_from_scratch",
                        lambda *a, **k: pytest.fail("a finished discriminator run was redone"))
    again = fig2.run_fig2(cfg)
    assert again["files"] == run["files"] and again["dcgan_run"] == run["dcgan_run"]


def test_later_epoch_continues_the_same_dcgan_run(smoke_fig2, compose):
    cfg, run, _ = smoke_fig2
    longer = fig2.run_fig2(compose("experiment=fig2", "fig2.epochs=[1,3]"))
    assert longer["dcgan_run"] == run["dcgan_run"]  # same run, continued
    metrics = pd.read_csv(f"{run['dcgan_run']}/metrics.csv")
    assert len(metrics) == 3 * (256 // 16)


def test_claims_are_computed_from_the_summary():
    summary = {"epochs": {
        "1": {"orders_decayed_original": 3.5, "orders_decayed_original_from_start": 4.0,
              "logd_over_original_last": 1e4,
              "log10_spread_second_half_original": 0.1, "log10_spread_second_half_logd": 0.3,
              "d_accuracy_last": 1.0},
        "20": {"orders_decayed_original": 1.2, "orders_decayed_original_from_start": 2.0,
               "logd_over_original_last": 500.0,
               "log10_spread_second_half_original": 0.1, "log10_spread_second_half_logd": 0.2,
               "d_accuracy_last": 0.995}}}
    verdicts = [c["verdict"] for c in fig2.claims_from_summary(summary, "s")]
    assert verdicts == ["reproduced"] * 3
    summary["epochs"]["20"]["orders_decayed_original"] = 0.8  # one snapshot decays too little
    summary["epochs"]["20"]["d_accuracy_last"] = 0.9
    verdicts = [c["verdict"] for c in fig2.claims_from_summary(summary, "s")]
    assert verdicts == ["not reproduced", "reproduced", "not reproduced"]


@pytest.mark.parametrize("epochs,message", [
    ("[20,1]", "strictly increasing"), ("[0]", ">= 1"), ("[1,1]", "strictly increasing")])
def test_bad_epochs_are_rejected(compose, epochs, message):
    from wgan_repro.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        fig2.validate_fig2(compose("experiment=fig2", f"fig2.epochs={epochs}"))
