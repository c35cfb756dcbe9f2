"""ablate at scale=smoke: files and columns, coverage by hand, claim rules by hand, the verb."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import conclude, run_main  # the real entry point, in-process

from wgan_repro import hydra_runner
from wgan_repro.experiments import ablate
from wgan_repro.metrics import DigitsClassifier
from wgan_repro.results import ABLATE_COLUMNS
from wgan_repro.verdicts import MIN_SEEDS


def _plan(tmp_path, variant):
    return ablate.plan(["scale=smoke", "progress=none", f"results_dir={tmp_path / 'results'}",
                        "ablate.seeds=[0]"], variants=[variant])


@pytest.fixture(scope="module")
def smoke_ablate(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("ablate")
    plan = _plan(tmp_path, "no_bn")
    runs = [hydra_runner.run(ablate.run, job) for job in plan.jobs]
    summary = conclude("ablate", plan, runs)
    return tmp_path, runs, summary, plan.context["parameters"]


def test_ablate_writes_the_promised_files(smoke_ablate):
    tmp_path, runs, summary, params = smoke_ablate
    out = tmp_path / "results" / "ablate"
    frame = pd.read_csv(out / "metrics.csv")
    assert tuple(frame.columns) == ABLATE_COLUMNS
    assert set(frame["arm"]) == {"wgan", "gan"} and set(frame["variant"]) == {"no_bn"}
    # ablate_smoke: eval_every 6 over 12 iterations -> evaluations at 6 and 12, per run
    assert sorted(frame.loc[frame["arm"] == "wgan", "gen_iters"]) == [6, 12]
    assert (frame["emd"] > 0).all() and (frame["fcd"] >= 0).all()
    assert frame["classes_covered"].between(1, 10).all()
    assert frame["kl_uniform"].between(0, math.log(10) + 1e-9).all()
    assert not frame["diverged"].any()
    for name in ("fig6_no_bn.pdf", "summary.pdf"):
        assert (out / name).read_bytes().startswith(b"%PDF")
    assert not (out / "fig5_dcgan.pdf").exists()  # only the variant that ran
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["generator_parameters"] == params
    # P2 Fig. 6's generator: no batch norm and constant filters -> fewer parameters
    assert params["no_bn"] < params["dcgan"]
    assert on_disk["variants"]["no_bn"]["params_generator"] == params["no_bn"]
    assert runs[0]["params_generator"] == params["no_bn"]
    assert 0 < on_disk["variants"]["no_bn"]["fcd_real_vs_real"] < frame["fcd"].max()
    claims = pd.read_csv(tmp_path / "results" / "claims.csv")
    assert list(claims["experiment"]) == ["ablate"]
    assert claims["claim_id"].tolist() == ["p2_fig6_no_bn_gan_fails"]
    assert claims["verdict"].tolist() == ["inconclusive"]  # one seed < verdicts.MIN_SEEDS
    assert f"1 seed (needs >= {MIN_SEEDS})" in claims["reason"].iloc[0]
    seeds = pd.read_csv(tmp_path / "results" / "claims_seeds.csv")
    assert set(seeds["part"]) == {"WGAN final/first FCD", "WGAN classes", "GAN FCD / WGAN FCD"}
    assert set(seeds["seed"]) == {0} and (seeds["claim_id"] == "p2_fig6_no_bn_gan_fails").all()
    assert len(on_disk["claims_seeds"]) == len(seeds)


def test_a_second_variant_keeps_the_first(smoke_ablate):
    tmp_path, runs, _, params = smoke_ablate
    plan = _plan(tmp_path, "mlp")
    mlp = [hydra_runner.run(ablate.run, job) for job in plan.jobs]
    summary = conclude("ablate", plan, mlp)
    frame = pd.read_csv(tmp_path / "results" / "ablate" / "metrics.csv")
    assert set(frame["variant"]) == {"no_bn", "mlp"}
    assert set(summary["variants"]) == {"no_bn", "mlp"}
    assert (tmp_path / "results" / "ablate" / "fig7_mlp.pdf").exists()
    claims = pd.read_csv(tmp_path / "results" / "claims.csv")
    assert len(claims) == 2 and [s.split(" (")[0] for s in claims["source"]] == [
        "ablate/metrics.csv"] * 2
    assert [v in s for v, s in zip(("no_bn", "mlp"), claims["source"])]  # each its own length


class _FixedPredictions(torch.nn.Module):
    """A 'classifier' whose logits pick the class stored in the image's first pixel."""

    def forward(self, x):
        return torch.nn.functional.one_hot(x[:, 0, 0, 0].long(), 10).float()


def test_coverage_and_kl_uniform_against_a_hand_computed_histogram():
    classes = torch.tensor([0, 0, 0, 0, 0, 0, 1, 1, 1, 2])  # histogram 0.6, 0.3, 0.1
    images = classes.float().view(-1, 1, 1, 1).expand(-1, 1, 4, 4).clone()
    classifier = DigitsClassifier(_FixedPredictions(), 1.0, 10, path=None)
    hand = 0.6 * math.log(10 * 0.6) + 0.3 * math.log(10 * 0.3) + 0.1 * math.log(10 * 0.1)
    result = classifier.coverage(images, min_share=0.05)
    assert result["classes_covered"] == 3
    assert result["kl_uniform"] == pytest.approx(hand)
    assert classifier.coverage(images, min_share=0.2)["classes_covered"] == 2


@pytest.mark.parametrize("args,fragment", [
    ([], "choose variants"),
    (["--all", "--mlp"], "not both"),
    (["--mlp", "ablate.eval_samples=1"], "ablate.eval_samples must be >= 2"),
    (["--mlp", "--seeds", "0,x"], "comma-separated integers"),
])
def test_ablate_bad_input(monkeypatch, capsys, tmp_path, args, fragment):
    code, out, err = run_main(monkeypatch, capsys, "ablate", *args, "--results", str(tmp_path))
    assert code == 2 and len(err.strip().splitlines()) == 1 and fragment in err
    assert "Traceback" not in out + err and not any(tmp_path.iterdir())


def test_ablate_show_config(monkeypatch, capsys, tmp_path):
    code, out, _ = run_main(monkeypatch, capsys, "ablate", "--no-bn", "--seeds", "3,4",
                            "--show-config", "--results", str(tmp_path))
    assert code == 0 and "seeds:\n  - 3\n  - 4\n" in out and "eval_samples: 2000" in out
    assert not any(tmp_path.iterdir())


def test_ablate_smoke_end_to_end(monkeypatch, capsys, tmp_path):
    code, out, err = run_main(monkeypatch, capsys, "ablate", "--mlp", "--scale", "smoke",
                              "--results", str(tmp_path), "progress=none")
    assert code == 0, err
    assert "mlp: generator with" in out and "results:" in out
    frame = pd.read_csv(tmp_path / "ablate" / "metrics.csv")
    assert set(zip(frame["arm"], frame["seed"])) == {("wgan", 0), ("gan", 0)}
    assert np.isfinite(frame["fcd"]).all()


def test_ablate_no_bn_gp_smoke_writes_three_arms_and_a_claim_for_them(monkeypatch, capsys,
                                                                      tmp_path):
    """`ablate --no-bn --gp --scale smoke`: the WGAN-GP arm next to WGAN and GAN, and WGAN-GP
    Fig. 2's claim judged over the variant run (one seed: inconclusive)."""
    results = tmp_path / "results"
    code, out, _ = run_main(monkeypatch, capsys, "ablate", "--no-bn", "--gp", "--scale", "smoke",
                            "--seeds", "0", "--results", str(results), "--launcher", "basic",
                            "progress=none")
    assert code in (0, None), out
    frame = pd.read_csv(results / "ablate" / "metrics.csv")
    assert set(frame["arm"]) == {"wgan", "gan", "wgan_gp"}
    gp_runs = [p for p in (results / "ablate").iterdir() if p.name.startswith("wgan_gp-")]
    assert len(gp_runs) == 1
    config = (gp_runs[0] / "config.yaml").read_text()
    assert "gradient_penalty: 10.0" in config and "batch_norm: false" in config
    claims = pd.read_csv(results / "claims.csv")
    row = claims[claims["claim_id"] == "wgangp_fig2_shared_hparams"].iloc[0]
    assert row["verdict"] == "inconclusive" and "no_bn" in row["measured_value"]
    assert "We only succeeded" in row["paper_quote"]
    seeds = pd.read_csv(results / "claims_seeds.csv")
    parts = set(seeds.loc[seeds["claim_id"] == "wgangp_fig2_shared_hparams", "part"])
    assert parts == {"no_bn WGAN-GP FCD ratio", "no_bn WGAN-GP classes", "WGAN variants failed",
                     "GAN variants failed"}
    assert (results / "ablate" / "fig6_no_bn.pdf").read_bytes().startswith(b"%PDF")


def test_without_gp_no_third_arm_is_planned(tmp_path):
    plan = _plan(tmp_path, "no_bn")
    assert {cfg.ablate.arm for cfg in plan.job_cfgs} == {"wgan", "gan"}
    with_gp = ablate.plan(["scale=smoke", "ablate.seeds=[0]", "ablate.gp=true"], ["no_bn"])
    arms = {cfg.ablate.arm: cfg for cfg in with_gp.job_cfgs}
    assert set(arms) == {"wgan", "gan", "wgan_gp"}
    assert arms["wgan_gp"].optim.betas == [0.0, 0.9] and arms["wgan"].optim.name == "rmsprop"
