"""curve at scale=smoke: files and columns, evaluation hook, the judged values in summary.json and
the figure titles."""

import json
import math

import pandas as pd
import pytest
from conftest import conclude, plan_for

from wgan_repro import hydra_runner
from wgan_repro.claims import curve as curve_claims
from wgan_repro.experiments import curve
from wgan_repro.plots.curve import plot_curve
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


def _keys(obj) -> set[str]:
    """Every key of a JSON object, at any depth."""
    if isinstance(obj, dict):
        return set(obj) | {k for v in obj.values() for k in _keys(v)}
    if isinstance(obj, list):
        return {k for v in obj for k in _keys(v)}
    return set()


def test_summary_holds_the_judged_seed_values_and_computes_no_spearman(smoke_curve):
    results, _, _ = smoke_curve
    on_disk = json.loads((results / "curve" / "summary.json").read_text())
    assert not [k for k in _keys(on_disk) if "spearman" in k.lower()]
    seeds = pd.read_csv(results / "claims_seeds.csv", keep_default_na=False, dtype=str)
    ours = seeds[seeds["claim_id"].isin([c.claim_id for c in curve_claims.CLAIMS])]
    rows = on_disk["claims_seeds"]
    assert len(rows) == len(ours) > 0
    for row, (_, csv) in zip(rows, ours.iterrows(), strict=True):
        for key in ("claim_id", "part", "statistic", "threshold"):
            assert row[key] == csv[key], key
        assert int(row["seed"]) == int(csv["seed"]) and str(row["passes"]) == csv["passes"]
        value = float(csv["value"]) if csv["value"] else math.nan
        assert row["value"] == pytest.approx(value, nan_ok=True)
    parts = set(ours["part"])
    assert {"wgan_dcgan", "wgan_mlp", "gan_mlp: Spearman", "gan_mlp: JS change"} <= parts


def _pdf_text(path) -> str:
    import pypdfium2 as pdfium

    return pdfium.PdfDocument(path)[0].get_textpage().get_text_range()


def test_the_estimate_vs_emd_titles_quote_the_judged_spearman(smoke_curve, tmp_path):
    results, _, _ = smoke_curve
    seeds = pd.read_csv(results / "claims_seeds.csv")
    text = _pdf_text(results / "curve" / "estimate_vs_emd.pdf")
    for run in ("wgan_dcgan", "gan_mlp"):
        claim_id, part = curve_claims.spearman_part(run)
        (value,) = seeds.loc[(seeds["claim_id"] == claim_id) & (seeds["part"] == part), "value"]
        number = "n/a" if math.isnan(value) else f"{value:.2f}"
        assert f"Spearman {number} (seed 0)" in text, (run, text)
    # drawn without judging (no claims_seeds.csv beside the figure folder): no number at all
    alone = tmp_path / "alone" / "curve"
    alone.mkdir(parents=True)
    for name in ("curve.csv", "quality.csv"):
        (alone / name).write_bytes((results / "curve" / name).read_bytes())
    plot_curve(alone / "curve.csv", alone / "quality.csv", {}, alone)
    text = _pdf_text(alone / "estimate_vs_emd.pdf")
    assert "wgan_dcgan" in text and "Spearman" not in text
