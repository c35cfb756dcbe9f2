"""fig2 at scale=smoke: the CSV columns, the PDFs, finite norms, the norm and minibatch
variance computations checked against hand-written autograd computations, and the
update-quality probe's files and caching."""

import dataclasses
import json
import math
from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import conclude, plan_for
from omegaconf import OmegaConf

from wgan_repro import claims as claims_module
from wgan_repro.errors import ConfigError
from wgan_repro.experiments import fig2
from wgan_repro.models.dcgan import DCGANCritic, DCGANGenerator
from wgan_repro.plots import fig2 as fig2_plots
from wgan_repro.results import CLAIMS_COLUMNS, FIG2_COLUMNS, FIG2_UPDATE_QUALITY_COLUMNS


def test_grad_norms_equal_a_hand_written_autograd_computation():
    generator, critic = tiny_double_nets()
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


def tiny_double_nets():
    """A tiny generator and a confident discriminator in float64 (hand computations exact)."""
    torch.manual_seed(0)
    generator = DCGANGenerator(16, 1, nz=4, ngf=2).double()
    critic = DCGANCritic(16, 1, ndf=2).double()
    with torch.no_grad():
        for p in critic.parameters():
            p.mul_(4)  # a confident D (not saturated in float64): the two costs differ clearly
    return generator, critic


def hand_gradient(generator, critic, z, cost) -> torch.Tensor:
    """One cost's gradient over all generator parameters, by .backward(), flattened."""
    d = torch.sigmoid(critic(generator(z)))
    generator.zero_grad()
    (torch.log(1 - d) if cost == "original" else -torch.log(d)).mean().backward()
    return torch.cat([p.grad.reshape(-1) for p in generator.parameters()])


@pytest.mark.parametrize("grad_batches", [1, 3])
def test_measurement_equals_a_hand_computation_over_k_batches(grad_batches):
    generator, critic = tiny_double_nets()
    cfg = OmegaConf.create({"fig2": {"grad_batches": grad_batches}, "train": {"batch_size": 5},
                            "generator": {"nz": 4}})
    real = torch.rand(5, 1, 16, 16, dtype=torch.float64) * 2 - 1
    row = fig2.measure(cfg, generator, critic, real, 0.0, torch.Generator().manual_seed(7))

    # by hand: the same K batches of z (no instance noise: nothing else is drawn)
    stream = torch.Generator().manual_seed(7)
    zs = [torch.randn(5, 4, dtype=torch.float64, generator=stream) for _ in range(grad_batches)]
    critic.requires_grad_(True)
    for cost in ("original", "logd"):
        grads = [hand_gradient(generator, critic, z, cost) for z in zs]
        mean = sum(grads) / len(grads)
        variance = sum(((g - mean) ** 2).sum().item() for g in grads) / len(grads)
        assert row[f"grad_norm_{cost}"] == pytest.approx(math.sqrt((mean ** 2).sum().item()),
                                                         rel=1e-9)
        if grad_batches == 1:  # one batch: the norm is that batch's, and no spread at all
            assert row[f"grad_var_{cost}"] == 0.0
            assert row[f"grad_norm_{cost}"] == pytest.approx(grads[0].norm().item(), rel=1e-9)
        else:
            assert variance > 0 and row[f"grad_var_{cost}"] == pytest.approx(variance, rel=1e-9)
    with torch.no_grad():  # loss and accuracy: the real batch and the first fake batch
        logit_real, logit_fake = critic(real), critic(generator(zs[0]))
    d_real, d_fake = torch.sigmoid(logit_real), torch.sigmoid(logit_fake)
    hand_loss = -(torch.log(d_real).mean() + torch.log(1 - d_fake).mean()).item()
    hand_accuracy = ((d_real > 0.5).sum() + (d_fake < 0.5).sum()).item() / 10
    assert row["d_loss"] == pytest.approx(hand_loss, rel=1e-9)
    assert row["d_accuracy"] == pytest.approx(hand_accuracy)


def test_minibatch_gradient_stats_of_known_vectors():
    gradients = torch.tensor([[1.0, 2.0], [3.0, 6.0]])  # mean (2, 4); distances^2 1+4 each
    norm, variance = fig2.minibatch_gradient_stats(gradients)
    assert norm.item() == pytest.approx(math.sqrt(20.0)) and variance.item() == pytest.approx(5.0)
    norm, variance = fig2.minibatch_gradient_stats(gradients[:1])
    assert norm.item() == pytest.approx(math.sqrt(5.0)) and variance.item() == 0.0


@pytest.fixture
def smoke_fig2(fig2_smoke):
    cfg, run = fig2_smoke
    summary = conclude("fig2", plan_for("fig2", cfg), [run])
    return cfg, run, summary


def test_smoke_fig2_writes_the_promised_files(smoke_fig2):
    cfg, _, summary = smoke_fig2
    out = cfg.results_dir + "/fig2"
    frame = pd.read_csv(f"{out}/grad_norms.csv")
    assert tuple(frame.columns) == FIG2_COLUMNS
    assert sorted(frame["epoch"].unique()) == [1, 2]
    assert frame["d_iter"].tolist()[:5] == [0, 5, 10, 15, 20]
    for column in ("grad_norm_original", "grad_norm_logd", "d_loss", "grad_var_logd"):
        assert (frame[column] > 0).all() and frame[column].map(math.isfinite).all()
    assert frame["d_accuracy"].between(0, 1).all()
    updates = pd.read_csv(f"{out}/update_quality.csv")
    assert tuple(updates.columns) == FIG2_UPDATE_QUALITY_COLUMNS
    assert len(updates) == 2 * 2 * 2  # epochs x costs x (before, after)
    for name in ("fig1_discriminator.pdf", "fig2_grad_norm_original.pdf",
                 "fig3_grad_norm_logd.pdf", "fig3_grad_var.pdf", "fig3_update_quality.pdf"):
        data = open(f"{out}/{name}", "rb").read()
        assert data.startswith(b"%PDF") and b"%%EOF" in data[-1024:]
    on_disk = json.load(open(f"{out}/summary.json"))
    assert set(on_disk["epochs"]) == {"1", "2"}
    assert on_disk["source"] == "fig2/grad_norms.csv (tier smoke, seeds 0, 20 D iterations)"
    first = on_disk["epochs"]["1"]
    assert first["grad_norm_original_start"] > 0 and first["grad_norm_original_last"] > 0
    claims = pd.read_csv(f"{cfg.results_dir}/claims.csv", keep_default_na=False)
    assert tuple(claims.columns) == CLAIMS_COLUMNS
    assert claims["claim_id"].tolist() == [c.claim_id for c in claims_module.all_claims()
                                           if c.experiment == "fig2"]
    assert set(claims["verdict"]) <= {"reproduced", "not reproduced", "inconclusive"}
    assert (claims["paper_quote"] != "").all() and (claims["rule"] != "").all()
    assert on_disk["claims"] == summary["claims"]
    # a smoke run is far shorter than P1's 4000 D iterations: that part is never decided
    vanishing = claims.set_index("claim_id").loc["p1_fig2_vanishing_gradient"]
    assert vanishing["verdict"] != "reproduced"


# the words of a key (split at "_") that name what only a claim may compute
CLAIM_STATISTIC_WORDS = {"decay", "decayed", "ratio", "orders", "growth", "grown", "grows"}


def own_claim_statistics(summary: dict) -> list[str]:
    """The keys of a summary.json, outside the claims it copies, that name a decay or a ratio
    (a claim's statistic computed a second way)."""
    found = []

    def walk(value, path):
        items = (value.items() if isinstance(value, dict)
                 else enumerate(value) if isinstance(value, list) else ())
        for key, inner in items:
            if not path and key in ("claims", "claims_seeds"):
                continue
            if CLAIM_STATISTIC_WORDS & set(str(key).lower().split("_")):
                found.append(f"{path}/{key}")
            walk(inner, f"{path}/{key}")

    walk(summary, "")
    return found


def check_claims_seeds_in_summary(results_dir: Path, experiment: str) -> list[dict]:
    """The summary's "claims_seeds" equal claims_seeds.csv's rows of this experiment's claims,
    and the summary computes no claim statistic of its own; returns those rows."""
    summary = json.loads((Path(results_dir) / experiment / "summary.json").read_text())
    table = pd.read_csv(Path(results_dir) / "claims_seeds.csv", keep_default_na=False, dtype=str)
    ids = [c.claim_id for c in claims_module.all_claims() if c.experiment == experiment]
    rows = table[table["claim_id"].isin(ids)].to_dict("records")

    def as_written(value) -> str:  # a CSV cell: NaN empty, everything else its str
        return "" if isinstance(value, float) and math.isnan(value) else str(value)

    assert rows and {r["claim_id"] for r in rows} == set(ids)
    assert [{k: as_written(v) for k, v in r.items()} for r in summary["claims_seeds"]] == rows
    assert own_claim_statistics(summary) == []
    return rows


def test_smoke_fig2_summary_holds_the_judged_seed_values_and_no_statistic_of_its_own(smoke_fig2):
    cfg, _, _ = smoke_fig2
    rows = check_claims_seeds_in_summary(Path(cfg.results_dir), "fig2")
    assert {r["part"] for r in rows if r["claim_id"] == "p1_fig2_vanishing_gradient"} == {
        "epoch 1", "epoch 2", "best snapshot"}
    best = [r for r in rows if r["part"] == "best snapshot"]  # smoke: 20 D iterations, not 4000
    assert best and all(r["passes"] == "" for r in best)
    assert own_claim_statistics({"epochs": {"1": {"orders_decayed_original_from_start": 1.0}}})


def test_rerun_reuses_snapshots_and_discriminator_runs(fig2_smoke, monkeypatch):
    cfg, run = fig2_smoke
    monkeypatch.setattr(fig2, "train_discriminator_from_scratch",
                        lambda *a, **k: pytest.fail("a finished discriminator run was redone"))
    monkeypatch.setattr(fig2, "update_quality_rows",
                        lambda *a, **k: pytest.fail("a finished probe was redone"))
    again = fig2.run(cfg)
    assert again["files"] == run["files"] and again["dcgan_run"] == run["dcgan_run"]
    assert again["update_quality_files"] == run["update_quality_files"]


def test_later_epoch_continues_the_same_dcgan_run(fig2_smoke, compose):
    cfg, run = fig2_smoke
    longer = fig2.run(compose("experiment=fig2", "fig2.epochs=[1,3]"))
    assert longer["dcgan_run"] == run["dcgan_run"]  # same run, continued
    metrics = pd.read_csv(f"{run['dcgan_run']}/metrics.csv")
    assert len(metrics) == 3 * (256 // 16)


@pytest.mark.parametrize("epochs,message", [
    ("[20,1]", "strictly increasing"), ("[0]", ">= 1"), ("[1,1]", "strictly increasing")])
def test_bad_epochs_are_rejected(compose, epochs, message):
    from wgan_repro.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        fig2.validate_fig2(compose("experiment=fig2", f"fig2.epochs={epochs}"))


@pytest.mark.parametrize("override,message", [
    ("fig2.grad_batches=0", "grad_batches"), ("fig2.update_steps=-1", "update_steps"),
    ("fig2.eval_samples=1", "eval_samples")])
def test_bad_measurement_settings_are_rejected(compose, override, message):
    with pytest.raises(ConfigError, match=message):
        fig2.validate_fig2(compose("experiment=fig2", override))


# ---- gradient variance and the update-quality probe at smoke scale --------------------------------
def test_new_columns_are_finite_and_not_negative(fig2_smoke_shared):
    _, run = fig2_smoke_shared
    frame = pd.concat([pd.read_csv(f) for f in run["files"]])
    assert tuple(frame.columns) == FIG2_COLUMNS
    for column in ("grad_var_original", "grad_var_logd"):
        assert (frame[column] >= 0).all() and frame[column].map(math.isfinite).all()
    assert (frame["grad_var_logd"] > 0).any()  # K = 2 at smoke: a spread is measured


def test_grad_batches_do_not_change_the_discriminator(compose):
    one, two = (fig2.run(compose("experiment=fig2", f"fig2.grad_batches={k}",
                                      "fig2.update_steps=0"))
                for k in (1, 2))
    assert one["files"] != two["files"]  # K is part of the runs' identity: no stale reuse
    for a, b in zip(one["files"], two["files"], strict=True):
        first, second = pd.read_csv(a), pd.read_csv(b)
        # the loss is on the real batch and z_1: a larger K only appends noise batches
        pd.testing.assert_series_equal(first["d_loss"], second["d_loss"])
        pd.testing.assert_series_equal(first["d_accuracy"], second["d_accuracy"])
        assert (first["grad_var_logd"] == 0).all() and (second["grad_var_logd"] > 0).all()
        weights = [torch.load(Path(f).with_name(Path(f).stem + "_discriminator.pt"))
                   for f in (a, b)]
        for name, tensor in weights[0].items():
            assert torch.equal(tensor, weights[1][name]), name


def test_update_quality_files_have_two_costs_before_and_after(fig2_smoke_shared):
    cfg, run = fig2_smoke_shared
    assert len(run["update_quality_files"]) == len(cfg.fig2.epochs)
    for path, epoch in zip(run["update_quality_files"], cfg.fig2.epochs, strict=True):
        frame = pd.read_csv(path)
        assert tuple(frame.columns) == FIG2_UPDATE_QUALITY_COLUMNS
        assert len(frame) == 4 and set(frame["epoch"]) == {epoch}
        assert sorted(zip(frame["cost"], frame["steps"])) == [
            ("logd", 0), ("logd", 2), ("original", 0), ("original", 2)]
        before = frame[frame["steps"] == 0].set_index("cost")[["fcd", "emd"]]
        pd.testing.assert_series_equal(before.loc["logd"], before.loc["original"],
                                       check_names=False)
        assert frame[["fcd", "emd"]].map(math.isfinite).all().all()
        assert (frame[["fcd", "emd"]] >= 0).all().all()


def test_new_probe_settings_reuse_the_saved_discriminators(fig2_smoke, compose, monkeypatch):
    _, run = fig2_smoke
    for path in run["files"]:
        assert Path(path).with_name(Path(path).stem + "_discriminator.pt").is_file()
    monkeypatch.setattr(fig2, "train_discriminator_from_scratch",
                        lambda *a, **k: pytest.fail("a saved discriminator was retrained"))
    again = fig2.run(compose("experiment=fig2", "fig2.epochs=[1,2]", "fig2.update_steps=3"))
    assert again["files"] == run["files"]  # the probe is not part of the runs' identity
    assert set(again["update_quality_files"]).isdisjoint(run["update_quality_files"])
    for path in again["update_quality_files"]:
        assert sorted(pd.read_csv(path)["steps"].unique()) == [0, 3]
    assert all(Path(p).is_file() for p in run["update_quality_files"])  # the old ones stay


def test_update_quality_can_be_skipped(compose):
    off = fig2.run(compose("experiment=fig2", "fig2.update_steps=0"))
    skipped = fig2.run(compose("experiment=fig2"), update_quality=False)
    assert off["update_quality_files"] == [] and skipped["update_quality_files"] == []
    assert not list(Path(off["files"][0]).parent.glob("*update_quality*"))


def test_data_without_a_heldout_split_skips_the_probe_with_a_note(compose, monkeypatch, capsys):
    load = fig2.load_dataset  # LSUN streams and has no held-out split: stand in for it
    monkeypatch.setattr(fig2, "load_dataset",
                        lambda *a, **k: dataclasses.replace(load(*a, **k), heldout=None))
    run = fig2.run(compose("experiment=fig2", "fig2.epochs=[1]"))
    assert run["update_quality_files"] == [] and len(run["files"]) == 1
    assert "no update-quality probe" in capsys.readouterr().err


def test_variance_and_update_quality_plots_are_written(fig2_smoke_shared, tmp_path):
    _, run = fig2_smoke_shared
    norms, quality = tmp_path / "grad_norms.csv", tmp_path / "update_quality.csv"
    pd.concat([pd.read_csv(f) for f in run["files"]]).to_csv(norms, index=False)
    pd.concat([pd.read_csv(f) for f in run["update_quality_files"]]).to_csv(quality, index=False)
    paths = fig2_plots.plot_fig2(norms, tmp_path / "out")
    paths.append(fig2_plots.plot_fig2_update_quality(quality, tmp_path / "out"))
    names = {p.name for p in paths}
    assert {"fig3_grad_var.pdf", "fig3_update_quality.pdf"} <= names
    for path in paths:
        data = path.read_bytes()
        assert data.startswith(b"%PDF") and b"%%EOF" in data[-1024:]
