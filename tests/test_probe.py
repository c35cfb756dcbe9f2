"""probe adam and probe noise: the step cosine by hand, blow-up marks, claim rules, instance
noise schedule and its use in train and fig2, and the files each probe writes at smoke."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from test_cli import run_main

from wgan_repro.errors import ConfigError
from wgan_repro.experiments import probe
from wgan_repro.experiments.fig2 import run_fig2
from wgan_repro.objectives import add_instance_noise, instance_noise_std
from wgan_repro.results import PROBE_ADAM_COLUMNS, PROBE_NOISE_COLUMNS
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
    recorder = probe.StepCosineRecorder()
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
    recorder = probe.StepCosineRecorder()
    rng = torch.Generator().manual_seed(0)
    for _ in range(50):
        model.w.grad = torch.randn(3, generator=rng, dtype=torch.float64)
        recorder.before(model)
        optimizer.step()
        recorder.after(model, 1, torch.tensor(0.0))
    assert min(r["step_cosine"] for r in recorder.rows("rmsprop", _cfg())) > 0


# ---- blow-ups and claim rules ---------------------------------------------------------------------
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
    marked = probe.mark_blow_ups(_estimates(values), window=50, threshold=10.0, radius=3)
    assert marked.loc[marked["blow_up"], "critic_step"].tolist() == [121]
    assert marked.loc[marked["near_blow_up"], "critic_step"].tolist() == list(range(118, 125))
    assert marked["estimate_jump"].iloc[:50].isna().all()  # no history yet: never a blow-up


def _summary(adam, rms):
    base = {"optimizer": "", "lr": 1e-3, "seeds": [0], "critic_updates": 1000,
            "negative_share": 0.0, "negative_count": 0, "cosine_min": 0.1, "cosine_median": 0.3,
            "blow_ups": 0, "near_share": 0.0, "negative_share_near_blow_ups": None,
            "cluster_enrichment": None}
    return {"arms": {"adam": {**base, **adam}, "rmsprop": {**base, **rms}}}


def test_adam_claim_rules_by_hand():
    shown = _summary({"negative_share": 0.05, "negative_count": 50, "blow_ups": 6,
                      "cluster_enrichment": 4.0}, {"blow_ups": 1})
    assert [c["verdict"] for c in probe.claims_adam(shown, "hand")] == ["reproduced"] * 2
    rare = _summary({"negative_share": 0.005, "negative_count": 5, "blow_ups": 6,
                     "cluster_enrichment": 4.0}, {"blow_ups": 1})
    assert probe.claims_adam(rare, "hand")[0]["verdict"] == "not reproduced"  # < 1%
    rms_too = _summary({"negative_share": 0.05, "negative_count": 50}, {"negative_share": 0.01})
    assert probe.claims_adam(rms_too, "hand")[0]["verdict"] == "not reproduced"  # > 0.1x
    scattered = _summary({"negative_share": 0.05, "negative_count": 50, "blow_ups": 6,
                          "cluster_enrichment": 1.2}, {"blow_ups": 1})
    assert probe.claims_adam(scattered, "hand")[1]["verdict"] == "not reproduced"
    calm = _summary({}, {})
    assert [c["verdict"] for c in probe.claims_adam(calm, "hand")] == ["not reproduced"] * 2


def _noise_summary(with_orders, without_orders):
    def arm(orders):
        return {str(e): {"orders_decayed_original": o, "grad_norm_original_first": 1.0,
                         "grad_norm_original_last": 10 ** -o} for e, o in orders.items()}
    return {"arms": {"with_noise": arm(with_orders), "without_noise": arm(without_orders)}}


def test_noise_claim_rules_by_hand():
    verdict = lambda w, wo: probe.claims_noise(_noise_summary(w, wo), "hand")[0]["verdict"]  # noqa: E731
    assert verdict({1: 0.2, 25: -0.1}, {1: 2.5, 25: 1.8}) == "reproduced"
    assert verdict({1: 2.1, 25: -0.1}, {1: 2.5, 25: 1.8}) == "not reproduced"  # every snapshot
    assert verdict({1: 0.2, 25: 0.1}, {1: 2.5, 25: 0.5}) == "inconclusive"  # no control


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


def test_fig2_with_noise_records_the_schedule_and_shares_the_snapshots(compose):
    noise = ["objective.instance_noise_std=1.0", "objective.instance_noise_final_std=0.5",
             "objective.instance_noise_anneal_iters=20"]
    plain = run_fig2(compose("experiment=fig2"))
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
        probe.validate_probe(cfg, probe.ADAM_ARMS)


# ---- the verbs at smoke scale ---------------------------------------------------------------------
def test_probe_adam_smoke_writes_files_and_claims(monkeypatch, capsys, tmp_path):
    code, out, err = run_main(monkeypatch, capsys, "probe", "adam", "--scale", "smoke",
                              "--results", str(tmp_path), "progress=none")
    assert code == 0, err
    out_dir = tmp_path / "probe"
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
    claims = pd.read_csv(tmp_path / "claims.csv")
    assert (claims["experiment"] == "probe_adam").sum() == 2


def test_probe_noise_smoke_writes_files_and_claims(monkeypatch, capsys, tmp_path):
    code, out, err = run_main(monkeypatch, capsys, "probe", "noise", "--scale", "smoke",
                              "--results", str(tmp_path), "progress=none")
    assert code == 0, err
    frame = pd.read_csv(tmp_path / "probe" / "instance_noise.csv")
    assert tuple(frame.columns) == PROBE_NOISE_COLUMNS
    assert set(frame["arm"]) == {"with_noise", "without_noise"}
    assert set(frame["epoch"]) == {1, 2}
    assert (frame.loc[frame["arm"] == "without_noise", "instance_noise_std"] == 0).all()
    assert (frame.loc[frame["arm"] == "with_noise", "instance_noise_std"] >= 0.5).all()
    assert (tmp_path / "probe" / "instance_noise.pdf").stat().st_size > 1000
    claims = pd.read_csv(tmp_path / "claims.csv")
    assert (claims["experiment"] == "probe_noise").sum() == 1


def test_probe_show_config_runs_nothing(monkeypatch, capsys, tmp_path):
    code, out, _ = run_main(monkeypatch, capsys, "probe", "adam", "--show-config", "--results",
                            str(tmp_path))
    assert code == 0 and "blow_up_threshold: 10.0" in out and "lr: 0.001" in out
    assert not (tmp_path / "probe").exists()


def test_probe_noise_bad_epochs_is_one_line(monkeypatch, capsys, tmp_path):
    code, _, err = run_main(monkeypatch, capsys, "probe", "noise", "--epochs", "20,1",
                            "--results", str(tmp_path))
    assert code == 2 and "strictly increasing" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "probe").exists()
