"""toy: closed forms exact, the sample EMD of the parallel lines, one job per seed, files and
claims at smoke."""

import json
import math

import pandas as pd
import pytest
import torch
from conftest import conclude, plan_for

from wgan_repro import hydra_runner
from wgan_repro.errors import ConfigError
from wgan_repro.experiments import toy
from wgan_repro.metrics import exact_emd
from wgan_repro.objectives import LOG_2
from wgan_repro.results import PARALLEL_LINES_COLUMNS, TWO_GAUSSIANS_COLUMNS


@pytest.mark.parametrize("theta", [-1.0, -0.3, 0.5, 1.0])
def test_closed_forms_away_from_zero(theta):
    forms = toy.closed_forms(theta)
    assert forms["w_closed_form"] == abs(theta)
    assert forms["js_closed_form"] == LOG_2 and forms["tv_closed_form"] == 1.0
    assert forms["kl_closed_form"] == math.inf


def test_closed_forms_at_zero():
    assert toy.closed_forms(0.0) == {"w_closed_form": 0.0, "js_closed_form": 0.0,
                                     "kl_closed_form": 0.0, "tv_closed_form": 0.0}


@pytest.mark.parametrize("theta", [0.0, 0.25, -0.7, 1.0])
def test_sample_emd_of_parallel_lines_is_theta(theta):
    real, fake = toy.parallel_lines(theta, 400, torch.Generator().manual_seed(1))
    assert real[:, 0].eq(0).all() and fake[:, 0].eq(theta).all()
    # heights are independent uniforms: the matching adds ~1/sqrt(n) of vertical cost
    assert exact_emd(real, fake) == pytest.approx(abs(theta), abs=0.03)


def test_lipschitz_of_a_known_linear_critic():
    critic = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.Flatten(0))
    with torch.no_grad():
        critic[0].weight.copy_(torch.tensor([[3.0, 4.0]]))
    real, fake = toy.parallel_lines(0.5, 50, torch.Generator().manual_seed(0))
    assert toy.lipschitz_estimate(critic, real, fake, torch.Generator()) == pytest.approx(5.0)


def test_toy_plans_one_job_per_seed():
    plan = toy.plan(["scale=smoke", "toy.seeds=[3,4]"])
    assert plan.seeds == [3, 4] and [job[-1] for job in plan.jobs] == ["seed=3", "seed=4"]
    assert toy.plan(["scale=smoke"]).seeds == [0]  # conf/experiment_tier/toy_smoke.yaml
    assert toy.plan(["scale=cpu"]).seeds == [0, 1, 2]  # conf/experiment/toy.yaml


@pytest.mark.parametrize("seeds, fragment", [("[]", "at least one seed"),
                                             ("[1,1]", "names seed 1 more than once")])
def test_toy_refuses_bad_seeds(seeds, fragment):
    with pytest.raises(ConfigError, match=fragment):
        toy.plan(["scale=smoke", f"toy.seeds={seeds}"])


def test_toy_smoke_writes_the_promised_files(tmp_path):
    cfg = hydra_runner.compose(["experiment=toy", "scale=smoke", f"results_dir={tmp_path}"])
    summary = conclude("toy", plan_for("toy", cfg), [toy.run(cfg)])
    out = tmp_path / "toy"
    assert (out / "runs" / "s0" / "parallel_lines.csv").exists()
    lines = pd.read_csv(out / "parallel_lines.csv")
    assert tuple(lines.columns) == PARALLEL_LINES_COLUMNS and lines.columns[0] == "seed"
    assert (lines["seed"] == 0).all()
    assert lines["theta"].tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert lines["w_closed_form"].tolist() == [1.0, 0.5, 0.0, 0.5, 1.0]
    assert (lines["emd_samples"] - lines["w_closed_form"]).abs().max() < 0.05
    gaussians = pd.read_csv(out / "two_gaussians.csv")
    assert tuple(gaussians.columns) == TWO_GAUSSIANS_COLUMNS and len(gaussians) == 41
    assert (gaussians["seed"] == 0).all() and gaussians["discriminator"].between(0, 1).all()
    for name in ("fig1_parallel_lines.pdf", "fig2_two_gaussians.pdf"):
        assert (out / name).read_bytes().startswith(b"%PDF")
    claims = pd.read_csv(tmp_path / "claims.csv")
    assert list(claims["experiment"]) == ["toy"] * 3 and len(summary["claims"]) == 3
    # one seed decides nothing: every claim is judged on it, none decided
    assert (claims["verdict"] == "inconclusive").all()
    assert claims["reason"].str.contains("1 seed (needs >= 3)", regex=False).all()
    seeds = pd.read_csv(tmp_path / "claims_seeds.csv")
    assert set(seeds["seed"]) == {0} and len(seeds) == 5  # five parts, one seed
    written = json.loads((out / "summary.json").read_text())
    assert set(written["seeds"]) == {"0"} and written["claims_seeds"]
    assert "critic_error_max" not in json.dumps(written["seeds"])  # the judge's statistic, once


def test_toy_aggregate_concatenates_the_seeds_in_order(tmp_path):
    cfgs = [hydra_runner.compose(["experiment=toy", "scale=smoke", f"results_dir={tmp_path}",
                                  f"seed={seed}", "toy.thetas=3", "toy.grid_points=5"])
            for seed in (1, 0)]
    runs = [toy.run(cfg) for cfg in cfgs]
    summary = toy.aggregate(plan_for("toy", cfgs[0]), runs)
    lines = pd.read_csv(tmp_path / "toy" / "parallel_lines.csv")
    assert lines["seed"].tolist() == [0, 0, 0, 1, 1, 1]
    gaussians = pd.read_csv(tmp_path / "toy" / "two_gaussians.csv")
    assert gaussians["seed"].tolist() == [0] * 5 + [1] * 5
    assert set(summary["seeds"]) == {"0", "1"} and "seeds 0, 1" in summary["source"]
    assert summary["seeds"]["0"]["thetas"] == 3
