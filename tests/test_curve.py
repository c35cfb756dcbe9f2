"""curve at scale=smoke: files and columns, evaluation hook, claim logic by hand."""

import json
import math

import pandas as pd
import pytest
from conftest import conclude, plan_for

from wgan_repro import hydra_runner
from wgan_repro.experiments import curve
from wgan_repro.results import CURVE_COLUMNS, QUALITY_COLUMNS


def _jobs(tmp_path, runs=("wgan_dcgan", "gan_mlp", "wgan_mlp_mlp_high_lr")):
    base = hydra_runner.compose(["experiment=curve", "scale=smoke"])
    return [["experiment=curve", *base.curve.runs[name], "scale=smoke", "progress=none",
             f"results_dir={tmp_path / 'results'}", f"curve.run={name}", "seed=0"]
            for name in runs]


@pytest.fixture(scope="module")
def smoke_curve(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("curve")
    jobs = _jobs(tmp_path)
    runs = [hydra_runner.run(curve.run, job) for job in jobs]
    summary = conclude("curve", plan_for("curve", hydra_runner.compose(jobs[0])), runs)
    return tmp_path / "results", runs, summary


def test_curve_writes_the_promised_files(smoke_curve):
    results, runs, summary = smoke_curve
    out = results / "curve"
    frame = pd.read_csv(out / "curve.csv")
    assert tuple(frame.columns) == CURVE_COLUMNS
    assert set(frame["run"]) == {"wgan_dcgan", "gan_mlp", "wgan_mlp_mlp_high_lr"}
    wgan = frame[frame["run"] == "wgan_dcgan"]
    assert wgan["wasserstein_estimate"].notna().all() and wgan["js_estimate"].isna().all()
    gan = frame[frame["run"] == "gan_mlp"]
    assert gan["js_estimate"].notna().all() and (gan["js_estimate"] <= math.log(2) + 1e-6).all()
    quality = pd.read_csv(out / "quality.csv")
    assert tuple(quality.columns) == QUALITY_COLUMNS
    # eval_every=5 over 12 iterations: 5, 10 and the end
    assert sorted(quality.loc[quality["run"] == "wgan_dcgan", "gen_iter"]) == [5, 10, 12]
    assert (quality["emd"] > 0).all() and quality["fcd"].map(math.isfinite).all()
    for name in ("fig3_wasserstein_estimate.pdf", "fig4_js_estimate.pdf", "estimate_vs_emd.pdf"):
        assert (out / name).read_bytes().startswith(b"%PDF")
    on_disk = json.loads((out / "summary.json").read_text())
    assert set(on_disk["runs"]) == {"wgan_dcgan/s0", "gan_mlp/s0", "wgan_mlp_mlp_high_lr/s0"}
    assert 0 <= on_disk["classifier_heldout_accuracy"] <= 1
    claims = pd.read_csv(results / "claims.csv")
    assert list(claims["experiment"]) == ["curve"] * 3


def test_evaluation_does_not_change_training(smoke_curve, tmp_path):
    _, runs, _ = smoke_curve
    job = _jobs(tmp_path, runs=("wgan_dcgan",))[0]
    from wgan_repro.train import train

    plain = train(hydra_runner.compose(job))  # same config, no evaluation hook
    with_eval = pd.read_csv(f"{runs[0]['run_dir']}/metrics.csv")
    without = pd.read_csv(f"{plain['run_dir']}/metrics.csv")
    cols = ["critic_loss", "generator_loss", "wasserstein_estimate"]
    pd.testing.assert_frame_equal(with_eval[cols], without[cols])
