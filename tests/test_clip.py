"""clip (P2 section 3 with WGAN-GP's Fig. 1): the measurements on hand-made critics, the rules on
hand-made tables, config checks, Swiss Roll, and the verb at smoke writing its files and claims."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import run_main
from torch import nn

from wgan_repro import hydra_runner
from wgan_repro.claims import clip as rules
from wgan_repro.data import load_dataset
from wgan_repro.errors import ConfigError
from wgan_repro.experiments import clip
from wgan_repro.models.mlp import MLPCritic
from wgan_repro.results import (
    CLAIMS_COLUMNS,
    CLIP_LAYER_COLUMNS,
    CLIP_OPTIMALITY_COLUMNS,
    CLIP_POINTS_COLUMNS,
    CLIP_SURFACE_COLUMNS,
    CLIP_WEIGHTS_COLUMNS,
)


# ---- measurements --------------------------------------------------------------------------------
def test_share_at_bound_counts_weights_exactly_at_plus_minus_c_not_beyond():
    weights = [torch.tensor([[0.01, -0.01, 0.005, 0.3]]), torch.tensor([[-0.01, 0.0]])]
    # at +-0.01: three of six; 0.3 is beyond (not yet clipped), not at the bound
    assert float(clip.share_at_bound(weights, 0.01)) == pytest.approx(3 / 6)


def test_weight_histogram_in_units_of_the_bound_keeps_the_bound_in_the_last_bin():
    weights = [torch.tensor([-0.01, 0.01, 0.01, 0.0])]
    counts = clip.weight_histogram(weights, 0.01, bins=4)  # bins of width 0.5 over [-1, 1]
    assert counts.tolist() == [1, 0, 1, 2]
    rows = clip.histogram_rows(weights, None, 4, {"method": "gp"})  # bound: largest |w| = 0.01
    assert rows[0]["bound"] == pytest.approx(0.01) and sum(r["count"] for r in rows) == 4


def test_layer_recorder_takes_every_kth_update_and_every_layer():
    critic = MLPCritic((2,), hidden_units=8, hidden_layers=3)  # 4 linear layers
    recorder = clip.LayerGradRecorder(every=3, clip=0.5)
    generator = torch.Generator().manual_seed(0)
    for step in range(1, 8):
        critic.zero_grad()
        real, fake = torch.randn(5, 2, generator=generator), torch.randn(5, 2, generator=generator)
        critic(real).sum().backward() if step > 1 else None  # the weights' gradient: any loss
        critic(fake)
        if step == 6:
            weights_expected = [float(m.weight.grad.norm()) for m in critic.modules()
                                if isinstance(m, nn.Linear)]
            outputs_expected = _output_grads_by_hand(critic, real, fake)
        recorder.before(critic)
        recorder.after(critic, gen_iter=step, critic_loss=torch.tensor(0.0))
    rows = pd.DataFrame(recorder.rows({"method": "clip", "c": 0.5, "seed": 0}))
    assert sorted(rows["critic_step"].unique()) == [3, 6]  # inputs are seen from update 2 on
    at6 = rows[rows["critic_step"] == 6].sort_values("layer")
    assert at6["layer"].tolist() == [1, 2, 3, 4] and set(at6["gen_iter"]) == {6}
    assert at6["weight_grad_norm"].tolist() == pytest.approx(weights_expected)
    assert at6["grad_norm"].tolist() == pytest.approx(outputs_expected, rel=1e-5)
    # the output layer's gradient of E f(real) - E f(fake): 1/5 per sample, 10 samples
    assert at6["grad_norm"].iloc[-1] == pytest.approx(math.sqrt(10) / 5, rel=1e-6)


def _output_grads_by_hand(critic, real, fake):
    """||d (mean f(real) - mean f(fake)) / d z_l|| for each linear layer's output z_l, by
    running the layers one at a time."""
    layers = list(critic.main)
    norms = []
    for x, sign in ((real, 1.0), (fake, -1.0)):
        h, outs = x, []
        for layer in layers:
            if isinstance(layer, nn.Linear):
                h = layer(h)
                outs.append(h)
            else:
                h = torch.relu(h)  # not in place: the layer's output stays what it was
        grads = torch.autograd.grad(sign * h.view(-1).mean(), outs)
        norms.append([g.double().square().sum() for g in grads])
    return [float((a + b).sqrt()) for a, b in zip(*norms)]


def test_optimality_of_a_linear_critic_on_shifted_points_is_one():
    """f(x) = w.x with ||w|| = 1 along the shift is an optimal critic between a cloud and its
    translate: estimate = shift = EMD, Lipschitz constant 1."""
    critic = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[1.0, 0.0]]))
    real = torch.randn(200, 2, generator=torch.Generator().manual_seed(0))
    fake = real - torch.tensor([0.7, 0.0])
    stats = clip.optimality(lambda x: critic(x).view(-1), real, fake, 0.7,
                            torch.Generator().manual_seed(1))
    assert stats["estimate"] == pytest.approx(0.7, abs=1e-5)
    assert stats["lipschitz"] == pytest.approx(1.0, abs=1e-5)
    assert stats["optimality"] == pytest.approx(1.0, abs=1e-4)


# ---- the rules' statistics -------------------------------------------------------------------------
def _layers(method, c, seed, norms):
    return [{"method": method, "c": c, "seed": seed, "critic_step": step, "gen_iter": 1,
             "layer": layer, "grad_norm": norm, "share_at_bound": math.nan}
            for step in (1, 11) for layer, norm in enumerate(norms, start=1)]


def test_layer_profile_orders_fallen_and_spanned_by_hand():
    frame = pd.DataFrame(_layers("clip", 0.001, 0, [1e-9, 1e-6, 1e-3])
                         + _layers("gp", math.nan, 0, [0.5, 2.0, 1.0]))
    stats = {k: rules.profile_statistics(v) for k, v in rules.layer_profiles(frame).items()}
    assert stats[("clip", 0.001, 0)]["orders_fallen"] == pytest.approx(6.0)
    assert stats[("clip", 0.001, 0)]["orders_spanned"] == pytest.approx(6.0)
    assert stats[("gp", -1.0, 0)]["orders_spanned"] == pytest.approx(math.log10(4))
    assert stats[("gp", -1.0, 0)]["orders_fallen"] == pytest.approx(math.log10(2))


def test_share_outer_reads_the_histograms_outer_bins():
    edges = np.linspace(-1, 1, 41)
    counts = [10] + [0] * 38 + [30]  # all 40 weights in the outer bins
    rows = [{"part": "fig1b", "dataset": "swiss_roll", "method": "clip", "c": 0.01, "seed": 0,
             "bound": 0.01, "bin_low": lo, "bin_high": hi, "count": n}
            for lo, hi, n in zip(edges[:-1], edges[1:], counts)]
    spread = [5] * 40  # uniform: 2 of 40 bins outer
    rows += [{"part": "fig1b", "dataset": "swiss_roll", "method": "gp", "c": math.nan, "seed": 0,
              "bound": 0.3, "bin_low": lo, "bin_high": hi, "count": n}
             for lo, hi, n in zip(edges[:-1], edges[1:], spread)]
    shares = rules.share_outer(pd.DataFrame(rows))
    assert shares[("fig1b", "clip", 0.01, 0)] == pytest.approx(1.0)
    assert shares[("fig1b", "gp", -1.0, 0)] == pytest.approx(2 / 40)


def test_steps_to_half_and_never_reached():
    rows = [{"dataset": "ring8", "method": "clip", "c": c, "seed": 0, "step": step,
             "share_at_bound": share, "estimate": 0, "lipschitz": 1, "emd": 1, "optimality": 0.5}
            for c, shares in ((0.01, [0.0, 0.9, 0.95]), (0.1, [0.0, 0.1, 0.2]))
            for step, share in zip((0, 10, 20), shares)]
    steps = rules.steps_to_half(pd.DataFrame(rows))
    assert steps[("ring8", 0.01, 0)] == 10 and steps[("ring8", 0.1, 0)] == 21  # never: last + 1


def test_two_moment_share_is_one_for_a_function_of_the_distance_and_lower_for_modes():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(300, 2)) * [2.0, 0.5] + [0.3, -0.2]  # anisotropic, off-centre
    points = pd.DataFrame([{"dataset": "ring8", "seed": 0, "kind": "real", "x": a, "y": b}
                           for a, b in real])
    axis = np.linspace(-3, 3, 40)
    x, y = (a.ravel() for a in np.meshgrid(axis, axis))
    mean, precision = real.mean(0), np.linalg.inv(np.cov(real.T))
    offsets = np.stack([x, y], 1) - mean
    distance = np.sqrt(np.einsum("ij,jk,ik->i", offsets, precision, offsets))
    rows = [{"dataset": "ring8", "method": "clip", "c": 0.01, "seed": 0, "x": a, "y": b,
             "value": -d} for a, b, d in zip(x, y, distance)]
    rows += [{"dataset": "ring8", "method": "gp", "c": math.nan, "seed": 0, "x": a, "y": b,
              "value": math.cos(8 * math.atan2(b, a))} for a, b in zip(x, y)]  # 8 modes
    shares = rules.two_moment_share(pd.DataFrame(rows), points)
    assert shares[("ring8", "clip", 0.01, 0)] == pytest.approx(1.0, abs=0.01)
    assert shares[("ring8", "gp", -1.0, 0)] < 0.2


# ---- config and data -----------------------------------------------------------------------------
def test_swiss_roll_is_scaled_like_wgan_gp_and_fixed_by_the_split_seed():
    cfg = hydra_runner.compose(["experiment=clip"])
    a, b = load_dataset(cfg.data), load_dataset(cfg.data)
    torch.testing.assert_close(a.train, b.train)
    assert a.sample_shape == (2,) and a.train_labels is None
    # make_swiss_roll's (x, z) = t (cos t, sin t) + noise, t up to 4.5 pi = 14.1, then / 7.5
    radius = a.train.norm(dim=1)
    assert 13 / 7.5 < radius.max() < 15.5 / 7.5 and radius.min() < 5.5 / 7.5


@pytest.mark.parametrize("override,message", [
    ("data=digits", "clip trains on 2-D points"),
    ("clip.part=nope", "clip.part must be one of fig1b, fig1a"),
    ("clip.record_every=0", "clip.record_every must be >= 1"),
    ("clip.fake_noise_std=0", "clip.fake_noise_std must be > 0"),
])
def test_clip_config_errors_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        clip.plan(["scale=smoke", override])


def test_plan_has_a_train_run_per_method_and_seed_and_a_critic_per_dataset_method_and_seed():
    plan = clip.plan(["clip.seeds=[0,1]"])
    parts = pd.DataFrame([{"part": c.clip.part, "method": c.clip.method,
                           "dataset": c.clip.dataset, "layers": c.critic.hidden_layers}
                          for c in plan.job_cfgs])
    fig1b, fig1a = parts[parts["part"] == "fig1b"], parts[parts["part"] == "fig1a"]
    assert len(fig1b) == 4 * 2 and set(fig1b["layers"]) == {12}
    assert len(fig1a) == 3 * 3 * 2 and set(fig1a["layers"]) == {3}
    gp = [c for c in plan.job_cfgs if c.clip.method == "gp"][0]
    assert gp.objective.gradient_penalty == 10.0 and gp.objective.clip is None


# ---- the verb at smoke ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def clip_smoke(tmp_path_factory):
    results = tmp_path_factory.mktemp("clip") / "results"
    with pytest.MonkeyPatch.context() as patch:
        import sys

        from wgan_repro import cli

        patch.setattr(sys, "argv", ["wgan-repro", "clip", "--scale", "smoke", "--results",
                                    str(results), "progress=none"])
        with pytest.raises(SystemExit) as exit_info:
            cli.main()
    assert exit_info.value.code in (0, None)
    return results


def test_clip_smoke_writes_every_csv_with_its_columns_and_the_pdfs(clip_smoke):
    out = clip_smoke / "clip"
    for name, columns in (("layer_grad_norms", CLIP_LAYER_COLUMNS), ("weights", CLIP_WEIGHTS_COLUMNS),
                          ("critic_optimality", CLIP_OPTIMALITY_COLUMNS),
                          ("value_surface", CLIP_SURFACE_COLUMNS), ("points", CLIP_POINTS_COLUMNS)):
        frame = pd.read_csv(out / f"{name}.csv")
        assert tuple(frame.columns) == columns and len(frame) > 0, name
    layers = pd.read_csv(out / "layer_grad_norms.csv")
    assert set(layers["method"]) == {"clip", "gp"} and set(layers["c"].dropna()) == {0.1, 0.01,
                                                                                       0.001}
    assert sorted(layers["layer"].unique()) == [1, 2, 3, 4]  # smoke: 3 hidden + output
    surfaces = pd.read_csv(out / "value_surface.csv")
    assert set(surfaces["dataset"]) == {"ring8", "grid25", "swiss_roll"}
    assert len(surfaces) == 3 * 3 * 8 * 8  # datasets x methods x 8x8 grid
    for pdf in ("fig1b_layer_grad_norms.pdf", "fig1b_weights.pdf", "fig1a_value_surfaces.pdf",
                "p2_s3_critic_optimality.pdf"):
        assert (out / pdf).stat().st_size > 1000, pdf


def test_clip_smoke_claims_quote_the_papers_and_are_judged_on_every_seed(clip_smoke):
    claims = pd.read_csv(clip_smoke / "claims.csv")
    mine = claims[claims["experiment"] == "clip"]
    assert tuple(claims.columns) == CLAIMS_COLUMNS
    assert len(mine) >= 5 and set(mine["claim_id"]) == {c.claim_id for c in rules.CLAIMS}
    assert mine["paper_quote"].str.len().min() > 40 and mine["rule"].str.len().min() > 40
    # one seed at smoke: nothing may come out reproduced or not reproduced
    assert set(mine["verdict"]) == {"inconclusive"}
    seeds = pd.read_csv(clip_smoke / "claims_seeds.csv")
    assert set(seeds.loc[seeds["claim_id"].isin(mine["claim_id"]), "claim_id"]) == set(
        mine["claim_id"])


def test_clip_rerun_reuses_every_job(clip_smoke, monkeypatch, capsys):
    monkeypatch.setattr(clip, "run_fig1a", lambda cfg: pytest.fail("a finished job reran"))
    monkeypatch.setattr(clip, "run_fig1b", lambda cfg: pytest.fail("a finished job reran"))
    code, _, _ = run_main(monkeypatch, capsys, "clip", "--scale", "smoke", "--results",
                          str(clip_smoke), "--launcher", "basic", "progress=none")
    assert code in (0, None)
