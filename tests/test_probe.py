"""probe adam and probe noise: the step cosine by hand, blow-up marks, instance
noise schedule and its use in train and fig2, the arms each probe accepts, and the files each
probe writes at smoke."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import run_main
from test_fig2 import check_claims_seeds_in_summary

from wgan_repro.claims import probe_adam as adam_claims
from wgan_repro.claims import probe_noise as noise_claims
from wgan_repro.errors import ConfigError
from wgan_repro.experiments import arms, probe_adam, probe_noise
from wgan_repro.experiments.fig2 import run as run_fig2
from wgan_repro.objectives import add_instance_noise, instance_noise_std
from wgan_repro.results import PROBE_ADAM_COLUMNS, PROBE_ADAM_QUALITY_COLUMNS, PROBE_NOISE_COLUMNS
from wgan_repro.train import train


# ---- the cosine -----------------------------------------------------------------------------------
class _Linear(torch.nn.Module):
    def __init__(self, weights):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(weights, dtype=torch.float64))


def _recorded_adam_cosines(grads, lr=0.1, betas=(0.5, 0.999), eps=1e-8):
    """Run torch's Adam on hand-set gradients through the recorder, as train() calls it."""
    model = _Linear([0.2, -0.1, 0.05])
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=betas, eps=eps)
    recorder = probe_adam.StepCosineRecorder()
    for g in grads:
        model.w.grad = torch.tensor(g, dtype=torch.float64)
        recorder.before(model)
        optimizer.step()
        recorder.after(model, 1, torch.tensor(0.0, dtype=torch.float64))
    return [row["step_cosine"] for row in recorder.rows("adam", _cfg())]


def _cfg():
    from omegaconf import OmegaConf

    return OmegaConf.create({"optim": {"name": "adam", "lr": 0.1}, "seed": 0})


def _hand_adam_steps(grads, lr=0.1, b1=0.5, b2=0.999, eps=1e-8):
    """Adam (Kingma & Ba, Algorithm 1) written out: the step taken after each gradient."""
    m = np.zeros(3)
    v = np.zeros(3)
    steps = []
    for t, g in enumerate(grads, start=1):
        g = np.asarray(g)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        steps.append(-lr * m_hat / (np.sqrt(v_hat) + eps))
    return steps


def _cos_with_negative_gradient(step, g):
    g = np.asarray(g)
    return float(step @ -g / (np.linalg.norm(step) * np.linalg.norm(g)))


def test_cosine_of_one_adam_step_equals_the_hand_computation():
    g = [3.0, -4.0, 0.5]
    (cosine,) = _recorded_adam_cosines([g])
    # First step: m_hat = g, v_hat = g^2, so the step is -lr * g / (|g| + eps) ~ -lr sign(g):
    # cos = ||g||_1 / (sqrt(3) ||g||_2) = 7.5 / (sqrt(3) * sqrt(25.25))
    assert cosine == pytest.approx(7.5 / (math.sqrt(3) * math.sqrt(25.25)), rel=1e-6)
    (step,) = _hand_adam_steps([g])
    assert cosine == pytest.approx(_cos_with_negative_gradient(step, g), rel=1e-9)


def test_adam_momentum_can_point_against_the_gradient():
    # the gradient reverses after two steps; momentum (beta1 = 0.5) still points the old way
    grads = [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [-0.3, -0.2, -0.1]]
    cosines = _recorded_adam_cosines(grads)
    hand = [_cos_with_negative_gradient(s, g) for s, g in zip(_hand_adam_steps(grads), grads)]
    assert cosines == pytest.approx(hand, rel=1e-9)
    assert cosines[0] == pytest.approx(1.0) and cosines[-1] < 0  # momentum climbs the loss


def test_rmsprop_step_never_points_against_the_gradient():
    model = _Linear([0.0, 0.0, 0.0])
    optimizer = torch.optim.RMSprop(model.parameters(), lr=0.5)
    recorder = probe_adam.StepCosineRecorder()
    rng = torch.Generator().manual_seed(0)
    for _ in range(50):
        model.w.grad = torch.randn(3, generator=rng, dtype=torch.float64)
        recorder.before(model)
        optimizer.step()
        recorder.after(model, 1, torch.tensor(0.0))
    assert min(r["step_cosine"] for r in recorder.rows("rmsprop", _cfg())) > 0


# ---- blow-ups (the claim rules are tested in test_claims.py) ----------------------------------
def _estimates(values, arm="adam", cosines=None):
    n = len(values)
    return pd.DataFrame({"arm": arm, "optimizer": arm, "lr": 1e-3, "seed": 0,
                         "gen_iter": np.arange(n) // 5 + 1, "critic_step": np.arange(1, n + 1),
                         "step_cosine": cosines if cosines is not None else np.full(n, 0.3),
                         "wasserstein_estimate": values})


def test_a_spike_is_marked_as_a_blow_up_with_its_neighbourhood():
    rng = np.random.default_rng(0)
    values = 0.05 + 0.001 * rng.standard_normal(200)
    values[120] = 0.5  # ~450 robust deviations
    marked = probe_adam.mark_blow_ups(_estimates(values), window=50, threshold=10.0, radius=3)
    assert marked.loc[marked["blow_up"], "critic_step"].tolist() == [121]
    assert marked.loc[marked["near_blow_up"], "critic_step"].tolist() == list(range(118, 125))
    assert marked["estimate_jump"].iloc[:50].isna().all()  # no history yet: never a blow-up


# ---- instance noise as an objective option --------------------------------------------------------
def test_noise_schedule_is_linear_then_flat():
    assert instance_noise_std(0, 1.0, 0.5, 100) == 1.0
    assert instance_noise_std(50, 1.0, 0.5, 100) == pytest.approx(0.75)
    assert instance_noise_std(100, 1.0, 0.5, 100) == 0.5
    assert instance_noise_std(1000, 1.0, 0.5, 100) == 0.5
    assert instance_noise_std(1000, 0.3, 0.0, 0) == 0.3  # no annealing: constant


def test_zero_noise_draws_nothing_and_noise_has_its_std():
    x = torch.zeros(20000)
    torch.manual_seed(0)
    assert add_instance_noise(x, 0.0) is x
    after = torch.rand(1)
    torch.manual_seed(0)
    assert torch.rand(1) == after  # the random stream did not move
    assert add_instance_noise(x, 0.5).std().item() == pytest.approx(0.5, rel=0.03)


def test_train_with_noise_changes_the_run_and_without_keeps_it(compose, tmp_path):
    gan = ["objective=gan_nonsaturating", "optim=adam", "train.iterations=6"]
    plain = train(compose(*gan), run_dir=tmp_path / "plain")
    zero = train(compose(*gan, "objective.instance_noise_final_std=0.0"),
                 run_dir=tmp_path / "zero")
    noisy = train(compose(*gan, "objective.instance_noise_std=0.5"), run_dir=tmp_path / "noisy")
    read = lambda s: pd.read_csv(f"{s['run_dir']}/metrics.csv")["critic_loss"]  # noqa: E731
    pd.testing.assert_series_equal(read(plain), read(zero))
    assert not np.allclose(read(plain), read(noisy))


def test_fig2_with_noise_records_the_schedule_and_shares_the_snapshots(compose, fig2_smoke):
    noise = ["objective.instance_noise_std=1.0", "objective.instance_noise_final_std=0.5",
             "objective.instance_noise_anneal_iters=20"]
    _, plain = fig2_smoke  # the smoke fig2 run, copied where compose writes
    noisy = run_fig2(compose("experiment=fig2", *noise))
    assert plain["dcgan_run"] == noisy["dcgan_run"]  # one DCGAN behind both
    assert set(plain["files"]).isdisjoint(noisy["files"])
    rows = pd.read_csv(noisy["files"][0])
    # d_iter k was made at step k - 1: std = 1 - 0.5 (k - 1) / 20
    expected = [1.0 - 0.5 * max(k - 1, 0) / 20 for k in rows["d_iter"]]
    assert rows["instance_noise_std"].tolist() == pytest.approx(expected)
    assert (pd.read_csv(plain["files"][0])["instance_noise_std"] == 0).all()


def test_negative_noise_is_a_config_error(monkeypatch, capsys, tmp_path):
    code, _, err = run_main(monkeypatch, capsys, "train", "--scale", "smoke", "--results",
                            str(tmp_path), "objective.instance_noise_std=-0.1")
    assert code == 2 and "instance_noise_std" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_probe_needs_both_arms(compose):
    cfg = compose("experiment=probe_adam", "~probe.arms.rmsprop")
    with pytest.raises(ConfigError, match="probe.arms must define exactly adam, rmsprop"):
        arms.validate_arms(cfg, probe_adam.ADAM_ARMS)
    more = compose("experiment=probe_adam", '+probe.arms.sgd=["optim=rmsprop"]')
    with pytest.raises(ConfigError, match="exactly adam, rmsprop, got adam, rmsprop, sgd"):
        arms.validate_arms(more, probe_adam.ADAM_ARMS)


def test_probe_noise_needs_the_control_and_a_noise_arm(compose):
    def check(*overrides):
        arms.validate_arms(compose("experiment=probe_noise", *overrides),
                           (probe_noise.CONTROL_ARM,), extra_arms=True)

    check()
    rule = "probe.arms must define without_noise and at least one other arm"
    with pytest.raises(ConfigError, match=f"{rule}, got sigma_0p5, sigma_1p0"):
        check("~probe.arms.without_noise")
    with pytest.raises(ConfigError, match=f"{rule}, got without_noise$"):
        check("~probe.arms.sigma_0p5", "~probe.arms.sigma_1p0")


def _plan_noise(tmp_path, *overrides):
    return probe_noise.plan(["scale=smoke", f"results_dir={tmp_path}", "progress=none",
                             *overrides])


def test_probe_noise_plans_one_job_per_arm_and_seed(tmp_path):
    plan = _plan_noise(tmp_path, "probe.seeds=[0,1]")
    assert [(job[-2], job[-1]) for job in plan.jobs] == [
        (f"probe.arm={arm}", f"seed={s}")
        for arm in ("without_noise", "sigma_0p5", "sigma_1p0") for s in (0, 1)]


def test_an_annealed_noise_arm_is_rejected_naming_it(monkeypatch, capsys, tmp_path):
    annealed = ('+probe.arms.sigma_annealed=["objective.instance_noise_std=1.0",'
                '"objective.instance_noise_final_std=0.5","objective.instance_noise_anneal_iters=20"]')
    with pytest.raises(ConfigError, match=r"probe.arms.sigma_annealed must add one fixed noise "
                                          r"std .* got 1.0 -> 0.5 over 20 D iterations"):
        _plan_noise(tmp_path, annealed)
    code, _, err = run_main(monkeypatch, capsys, "probe", "noise", "--scale", "smoke",
                            "--results", str(tmp_path), annealed)
    assert code == 2 and "probe.arms.sigma_annealed" in err
    assert len(err.strip().splitlines()) == 1 and not any(tmp_path.iterdir())
    # a std "annealed" to itself, or one not annealed (anneal_iters 0), is one fixed level
    _plan_noise(tmp_path, "objective.instance_noise_anneal_iters=20")
    _plan_noise(tmp_path, '+probe.arms.sigma_0p3=["objective.instance_noise_std=0.3"]')
    zero = '+probe.arms.sigma_0=["objective.instance_noise_std=0.0"]'
    with pytest.raises(ConfigError, match=r"probe.arms.sigma_0 must add one fixed noise std"):
        _plan_noise(tmp_path, zero)


def test_noise_on_the_control_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match="probe.arms.without_noise is the control: it must have "
                                          "no instance noise"):
        _plan_noise(tmp_path, "objective.instance_noise_std=0.5",
                    "objective.instance_noise_final_std=0.5")


# ---- the verbs at smoke scale ---------------------------------------------------------------------
def test_probe_adam_smoke_writes_files_and_claims(monkeypatch, capsys, tmp_path):
    code, out, err = run_main(monkeypatch, capsys, "probe", "adam", "--scale", "smoke",
                              "--results", str(tmp_path), "progress=none")
    assert code == 0, err
    out_dir = tmp_path / "probe_adam"
    frame = pd.read_csv(out_dir / "adam_cosine.csv")
    assert tuple(frame.columns) == PROBE_ADAM_COLUMNS
    assert set(frame["arm"]) == {"adam", "rmsprop"}
    assert set(frame["optimizer"]) == {"adam", "rmsprop"} and set(frame["lr"]) == {1e-3}
    # every critic update is a row: smoke warm-up of 2 updates before generator iterations
    # 0, 1 and 10 (warmup_every 10), n_critic = 5 before the other 17 of 20
    assert (frame.groupby("arm").size() == 3 * 2 + 17 * 5).all()
    assert frame.groupby("arm")["critic_step"].max().eq(91).all()
    assert frame["step_cosine"].between(-1, 1).all()
    assert (frame.loc[frame["arm"] == "rmsprop", "step_cosine"] > 0).all()
    assert (out_dir / "adam_cosine.pdf").stat().st_size > 1000
    claims = pd.read_csv(tmp_path / "claims.csv", keep_default_na=False)
    mine = claims[claims["experiment"] == "probe_adam"]
    assert mine["claim_id"].tolist() == [c.claim_id for c in adam_claims.CLAIMS]
    assert (mine["paper_quote"] != "").all() and (mine["rule"] != "").all()
    # sample quality every train.eval_every = 5 generator iterations of each arm's run
    quality = pd.read_csv(out_dir / "adam_quality.csv")
    assert tuple(quality.columns) == PROBE_ADAM_QUALITY_COLUMNS
    assert quality.groupby("arm")["gen_iter"].apply(list).to_dict() == {
        "adam": [5, 10, 15, 20], "rmsprop": [5, 10, 15, 20]}
    assert set(quality["seed"]) == {0} and (quality[["emd", "fcd"]] > 0).all().all()


def _rmsprop_job(compose):
    return compose("experiment=probe_adam", "optim=rmsprop", "probe.arm=rmsprop",
                   "train.iterations=10")


def test_a_probe_adam_run_without_quality_is_redone(compose):
    first = probe_adam.run(_rmsprop_job(compose))
    run_dir = Path(first["run_dir"])
    steps = Path(first["csv"]).read_bytes()
    assert pd.read_csv(first["quality_csv"])["gen_iter"].tolist() == [5, 10]
    (run_dir / "marker").touch()
    probe_adam.run(_rmsprop_job(compose))
    assert (run_dir / "marker").exists()  # finished, with its quality: reused as is
    Path(first["quality_csv"]).unlink()  # as a run made before the probe recorded quality
    again = probe_adam.run(_rmsprop_job(compose))
    assert not (run_dir / "marker").exists()  # redone from scratch
    assert pd.read_csv(again["quality_csv"])["gen_iter"].tolist() == [5, 10]
    assert Path(again["csv"]).read_bytes() == steps  # evaluating does not change training


def test_probe_noise_smoke_writes_files_and_claims(monkeypatch, capsys, tmp_path):
    code, out, err = run_main(monkeypatch, capsys, "probe", "noise", "--scale", "smoke",
                              "--results", str(tmp_path), "progress=none")
    assert code == 0, err
    frame = pd.read_csv(tmp_path / "probe_noise" / "instance_noise.csv")
    assert tuple(frame.columns) == PROBE_NOISE_COLUMNS
    assert set(frame["epoch"]) == {1, 2}
    # the control and two fixed stds, each constant through the discriminator's run
    stds = frame.groupby("arm")["instance_noise_std"].agg(["min", "max"])
    assert stds.to_dict("index") == {"without_noise": {"min": 0.0, "max": 0.0},
                                     "sigma_0p5": {"min": 0.5, "max": 0.5},
                                     "sigma_1p0": {"min": 1.0, "max": 1.0}}
    assert (tmp_path / "probe_noise" / "instance_noise.pdf").stat().st_size > 1000
    claims = pd.read_csv(tmp_path / "claims.csv", keep_default_na=False)
    (row,) = claims[claims["experiment"] == "probe_noise"].to_dict("records")
    assert row["claim_id"] == noise_claims.P1_NOISE.claim_id
    assert "sigma 0.5" in row["measured_value"] and "sigma 1" in row["measured_value"]
    seed_rows = check_claims_seeds_in_summary(tmp_path, "probe_noise")  # each number once
    assert {r["part"].split(",")[0] for r in seed_rows} == {"sigma 0.5", "sigma 1"}


def test_probe_show_config_runs_nothing(monkeypatch, capsys, tmp_path):
    code, out, _ = run_main(monkeypatch, capsys, "probe", "adam", "--show-config", "--results",
                            str(tmp_path))
    assert code == 0 and "blow_up_threshold: 10.0" in out and "lr: 0.001" in out
    assert not any(tmp_path.iterdir())


def test_probe_noise_bad_epochs_is_one_line(monkeypatch, capsys, tmp_path):
    code, _, err = run_main(monkeypatch, capsys, "probe", "noise", "--epochs", "20,1",
                            "--results", str(tmp_path))
    assert code == 2 and "strictly increasing" in err and len(err.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())
