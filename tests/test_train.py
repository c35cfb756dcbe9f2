"""The training loop at scale=smoke: outputs, resume, reuse, determinism, divergence."""

import json
import math

import pandas as pd
import pytest
import torch

from wgan_repro import train as train_module
from wgan_repro.errors import CheckpointError
from wgan_repro.objectives import build_objective
from wgan_repro.results import TRAIN_METRICS_COLUMNS
from wgan_repro.train import run_dir_for, train


def _metrics(run_dir):
    return pd.read_csv(run_dir / "metrics.csv")


def test_smoke_run_writes_metrics_checkpoint_samples_and_summary(compose):
    cfg = compose()
    summary = train(cfg)
    run_dir = run_dir_for(cfg)
    assert summary["run_dir"] == str(run_dir) and summary["status"] == "finished"
    frame = _metrics(run_dir)
    assert tuple(frame.columns) == TRAIN_METRICS_COLUMNS
    assert frame["gen_iter"].tolist() == list(range(1, 21))
    # warm-up rule at smoke scale: 2 critic iterations for the first 2, and at every 10th
    assert frame["critic_iters"].tolist()[:3] == [2, 2, 5] and frame["critic_iters"][10] == 2
    assert frame["wasserstein_estimate"].notna().all()
    assert frame["discriminator_accuracy"].isna().all()
    assert (frame["seconds"].diff().dropna() >= 0).all()
    assert (run_dir / "checkpoints" / "last.pt").is_file()
    assert sorted(p.name for p in (run_dir / "samples").glob("*.png")) == [
        "gen_iter_000010.png", "gen_iter_000020.png"]
    assert (run_dir / "config.yaml").read_text().count("tier: smoke") == 1
    on_disk = json.loads((run_dir / "summary.json").read_text())
    assert on_disk["gen_iters"] == 20 and on_disk["critic_iters_total"] == frame["critic_iters"].sum()


def test_critic_weights_stay_clipped(compose):
    cfg = compose("objective.clip=0.005")
    train(cfg)
    state = torch.load(run_dir_for(cfg) / "checkpoints" / "last.pt", weights_only=True)
    params = [v for k, v in state["critic"].items() if "running" not in k and "num_batches" not in k]
    assert max(p.abs().max().item() for p in params) <= 0.005


def test_standard_gan_logs_accuracy_and_js(compose):
    cfg = compose("objective=gan_nonsaturating", "optim=adam")
    summary = train(cfg)
    frame = _metrics(run_dir_for(cfg))
    assert frame["wasserstein_estimate"].isna().all()
    assert frame["discriminator_accuracy"].between(0, 1).all()
    assert (frame["js_estimate"] <= math.log(2) + 1e-6).all()
    assert (frame["critic_iters"] == 1).all()
    assert "js_estimate_filtered_last" in summary


def test_same_seed_same_numbers_other_seed_other_numbers(compose, tmp_path):
    a = compose("run_name=a")
    b = compose("run_name=b")
    c = compose("run_name=c", "seed=1")
    for cfg in (a, b, c):
        train(cfg)
    cols = ["critic_loss", "generator_loss", "wasserstein_estimate"]
    fa, fb, fc = (_metrics(run_dir_for(x))[cols] for x in (a, b, c))
    pd.testing.assert_frame_equal(fa, fb)
    assert not fa.equals(fc)


def test_resume_after_interruption_equals_uninterrupted_run(compose, monkeypatch):
    whole = compose("run_name=whole")
    train(whole)

    cut = compose("run_name=cut")
    original_update = train_module.Progress.update

    def interrupt(self, gen_iter, row):
        original_update(self, gen_iter, row)
        if gen_iter == 15:  # after the checkpoint at 10, before the one at 20
            raise KeyboardInterrupt

    monkeypatch.setattr(train_module.Progress, "update", interrupt)
    with pytest.raises(KeyboardInterrupt):
        train(cut)
    assert len(_metrics(run_dir_for(cut))) == 10  # the CSV holds what the checkpoint holds
    monkeypatch.setattr(train_module.Progress, "update", original_update)
    train(cut)

    numbers = [c for c in TRAIN_METRICS_COLUMNS if c != "seconds"]
    pd.testing.assert_frame_equal(_metrics(run_dir_for(whole))[numbers],
                                  _metrics(run_dir_for(cut))[numbers])
    sa = torch.load(run_dir_for(whole) / "checkpoints" / "last.pt", weights_only=True)
    sb = torch.load(run_dir_for(cut) / "checkpoints" / "last.pt", weights_only=True)
    for net in ("generator", "critic"):
        for key in sa[net]:
            torch.testing.assert_close(sa[net][key], sb[net][key], rtol=0, atol=0)


def test_finished_run_is_reused_not_retrained(compose, monkeypatch):
    cfg = compose()
    first = train(cfg)
    monkeypatch.setattr(train_module, "load_dataset",
                        lambda *a, **k: pytest.fail("a finished run must not train again"))
    assert train(cfg) == first


def test_is_finished_says_finished_exactly_when_train_would_reuse_the_run(compose, monkeypatch):
    """The expected time (eta) asks is_finished, which reads the summary; train decides from
    the checkpoint. At every stage of one real run the two must agree."""
    from wgan_repro.train import is_finished

    cfg = compose("run_name=stages")
    original_update = train_module.Progress.update
    original_load = train_module.load_dataset
    trained = []

    def counting_load(*args, **kwargs):
        trained.append(True)  # train only loads the data when it trains
        return original_load(*args, **kwargs)

    def interrupt(self, gen_iter, row):
        original_update(self, gen_iter, row)
        if gen_iter == 15:  # after the checkpoint at 10
            raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "load_dataset", counting_load)
    assert not is_finished(cfg)  # nothing there yet
    monkeypatch.setattr(train_module.Progress, "update", interrupt)
    with pytest.raises(KeyboardInterrupt):
        train(cfg)
    monkeypatch.setattr(train_module.Progress, "update", original_update)
    assert not is_finished(cfg)  # a checkpoint at 10, no summary: train resumes
    trained.clear()
    train(cfg)
    assert trained and is_finished(cfg)
    trained.clear()
    train(cfg)
    assert not trained  # finished: reused, as is_finished said
    longer = compose("run_name=stages", "train.iterations=30")
    assert not is_finished(longer)  # more iterations asked for: train resumes from 20
    train(longer)
    assert trained and is_finished(longer) and is_finished(cfg)  # went further: reused as is


def test_checkpoint_from_another_config_is_refused(compose):
    train(compose("run_name=fixed"))
    with pytest.raises(CheckpointError, match=r"differs in: optim\.lr"):
        train(compose("run_name=fixed", "optim.lr=1e-3"))


def test_corrupted_checkpoint_is_one_clear_line(compose):
    cfg = compose()
    train(cfg)
    path = run_dir_for(cfg) / "checkpoints" / "last.pt"
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="corrupted") as err:
        train(cfg)
    assert "\n" not in str(err.value)


def test_foreign_checkpoint_is_refused(compose):
    cfg = compose()
    path = run_dir_for(cfg) / "checkpoints" / "last.pt"
    path.parent.mkdir(parents=True)
    torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(CheckpointError, match="not written by wgan-repro"):
        train(cfg)


def test_nan_loss_is_recorded_as_divergence(compose, monkeypatch):
    def poisoned(cfg):
        objective = build_objective(cfg)
        calls = {"n": 0}

        def generator_loss(out):
            calls["n"] += 1
            loss = objective.generator_loss(out)
            return loss * float("nan") if calls["n"] == 7 else loss

        return type(objective)(**{**objective.__dict__, "generator_loss": generator_loss})

    monkeypatch.setattr(train_module, "build_objective", poisoned)
    cfg = compose("objective=gan_minimax", "optim=adam")
    summary = train(cfg)
    assert summary["diverged"] is True and summary["diverged_at"] == 7
    assert summary["status"] == "diverged"
    assert len(_metrics(run_dir_for(cfg))) == 7


def test_mlp_on_2d_points(compose):
    cfg = compose("data=ring8", "generator=mlp", "critic=mlp")
    summary = train(cfg)
    assert summary["status"] == "finished" and summary["gen_iters"] == 20
    assert not (run_dir_for(cfg) / "samples").exists()


def test_run_dir_is_content_addressed(compose):
    assert run_dir_for(compose()) == run_dir_for(compose("progress=plain"))
    assert run_dir_for(compose()) != run_dir_for(compose("optim.lr=1e-4"))


def test_keys_added_since_leave_existing_run_names_alone(compose):
    """A run's folder name hashes its identity; keys added later (the gradient penalty, the
    Swiss Roll's scale, the MLP init) are left out at the value that does what runs did before,
    so an upgrade neither retrains nor orphans existing runs. The hash below is a run's name
    from before they existed."""
    from wgan_repro.results import config_hash
    from wgan_repro.train import ADDED_KEYS, semantic_config

    cfg = compose()
    identity = semantic_config(cfg)
    for section, key in ADDED_KEYS:
        assert key not in identity[section]
    changed = semantic_config(compose("objective.gradient_penalty=1.0", "critic.batch_norm=false"))
    assert changed["objective"]["gradient_penalty"] == 1.0
    assert config_hash(changed) != config_hash(identity)
    # the committed reference's ablate run, named before those keys existed
    from wgan_repro import hydra_runner

    reference = hydra_runner.compose(["experiment=ablate", "ablate.variant=dcgan", "ablate.arm=wgan",
                                      "generator=dcgan", "train.iterations=6000",
                                      "train.precision=fp32"])
    assert run_dir_for(reference).name == "wgan_clip-dcgan-s0-a2cf283d7f"
