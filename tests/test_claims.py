"""wgan_repro.claims: every rule at and just past its thresholds on small hand-built tables, the
file layer (judge_and_write / rejudge / all_claims) and the claim records themselves (the verdict
logic is tests/test_verdicts.py, probe adam's rules tests/test_claims_probe_adam.py).

The tables are synthetic and tiny; thresholds come from the claims modules' named constants,
never from literal numbers, so a test reads as the rule's text."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from test_claims_ablate import ABLATE_COLUMNS, DIVERGED, MLP_GAN, MLP_WGAN, NO_BN_WGAN, ablate_frame, run
from test_claims_curve import FALLING_EMD, TRACKING, js_curve, three
from test_claims_fig2 import fig2_frame, orders, update_frame
from test_claims_probe_noise import noise_frame
from test_claims_toy import TOY_GOOD, write_toy

from wgan_repro import claims, registry, results, stats, verdicts
from wgan_repro.claims import ablate as ablate_claims
from wgan_repro.claims import curve as curve_claims
from wgan_repro.claims import fig2 as fig2_claims
from wgan_repro.claims import probe_noise as noise_claims
from wgan_repro.claims import toy as toy_claims
from wgan_repro.verdicts import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED


# ==== the file layer ===============================================================================
def _verdict(result) -> str:
    outcome, measured, *_ = result
    assert isinstance(measured, str)
    return outcome.verdict


def _write_toy(results_dir, statistics=None):
    write_toy(results_dir, statistics or TOY_GOOD)  # CSVs of seeds 0-2, config.yaml, summary


def _write_curve(results_dir):
    curve, quality = three({"wgan_dcgan": (TRACKING, FALLING_EMD),
                            "wgan_mlp": (TRACKING, FALLING_EMD)})
    results.write_csv(results_dir / "curve" / "curve.csv", curve.to_dict("records"),
                      results.CURVE_COLUMNS)
    results.write_csv(results_dir / "curve" / "quality.csv", quality.to_dict("records"),
                      results.QUALITY_COLUMNS)


def _claims_csv(results_dir):
    return pd.read_csv(results_dir / "claims.csv", keep_default_na=False, dtype=str)


def _ids(experiment):
    return [c.claim_id for c in claims.all_claims() if c.experiment == experiment]


def test_judge_and_write_writes_claims_csv_and_the_summary(tmp_path):
    _write_toy(tmp_path)
    rows = claims.judge_and_write(tmp_path, "toy")
    frame = _claims_csv(tmp_path)
    assert tuple(frame.columns) == results.CLAIMS_COLUMNS
    assert list(frame["claim_id"]) == _ids("toy") and len(rows) == 3
    assert (frame["experiment"] == "toy").all()
    assert (frame["paper_quote"].str.len() > 0).all() and (frame["rule"].str.len() > 0).all()
    assert frame["verdict"].isin(results.VERDICTS).all()
    assert (frame["verdict"] == REPRODUCED).all()
    assert (frame["source"] == "toy/parallel_lines.csv, toy/two_gaussians.csv").all()
    summary = json.loads((tmp_path / "toy" / "summary.json").read_text())
    assert summary["claims"] == rows
    assert set(summary["seeds"]) == {"0", "1", "2"}
    assert summary["claims_seeds"] == [r for c in toy_claims.judge(tmp_path) for r in c.seed_rows()]


def test_judge_and_write_again_replaces_the_experiments_rows(tmp_path):
    _write_toy(tmp_path)
    claims.judge_and_write(tmp_path, "toy")
    _write_toy(tmp_path, {**TOY_GOOD, "critic_linear_r2": 0.5})
    claims.judge_and_write(tmp_path, "toy")
    frame = _claims_csv(tmp_path)
    assert list(frame["claim_id"]) == _ids("toy")
    assert frame.set_index("claim_id").loc["p2_fig2_saturation", "verdict"] == NOT_REPRODUCED


def test_rejudge_judges_only_experiments_with_files_and_keeps_other_rows(tmp_path):
    _write_toy(tmp_path)
    _write_curve(tmp_path)
    other = ablate_claims.P2_FIG5.judged(verdicts.Outcome(REPRODUCED), "from another day",
                                         "ablate/metrics.csv")
    results.update_claims(tmp_path, "ablate", [other.row()])
    judged = claims.rejudge(tmp_path)
    assert set(judged) == {"toy", "curve"}
    frame = _claims_csv(tmp_path)
    assert tuple(frame.columns) == results.CLAIMS_COLUMNS
    assert sorted(frame["claim_id"]) == sorted(_ids("toy") + _ids("curve") + ["p2_fig5_dcgan_both_work"])
    kept = frame[frame["experiment"] == "ablate"].iloc[0]
    assert kept["measured_value"] == "from another day" and kept["verdict"] == REPRODUCED
    by_id = frame.set_index("claim_id")["verdict"]
    assert by_id["p2_fig3_estimate_tracks_quality"] == REPRODUCED
    assert by_id["p2_fig4_js_uninformative"] == INCONCLUSIVE  # no gan_* run was written
    # judge_and_write adds to an experiment's summary.json, never makes one
    assert not (tmp_path / "curve" / "summary.json").exists()
    claims.rejudge(tmp_path)
    assert len(_claims_csv(tmp_path)) == len(frame)


def test_judge_and_write_ablate_judges_only_the_variants_present(tmp_path):
    frame = ablate_frame("dcgan", [run()] * 3, [run()] * 3)
    results.write_csv(tmp_path / "ablate" / "metrics.csv", frame.to_dict("records"),
                      ABLATE_COLUMNS)
    rows = claims.judge_and_write(tmp_path, "ablate")
    assert [r["claim_id"] for r in rows] == ["p2_fig5_dcgan_both_work"]
    assert rows[0]["verdict"] == REPRODUCED


# ==== the claims themselves ========================================================================
def test_every_claim_has_an_id_a_quote_and_a_rule():
    ids = [c.claim_id for c in claims.all_claims()]
    assert len(ids) == len(set(ids))
    for c in claims.all_claims():
        assert c.paper_quote.startswith(("P1 ", "P2 ", "WGAN-GP ")), c.claim_id
        assert re.search(r'"[^"]{10,}"', c.paper_quote), c.claim_id
        assert c.rule.strip() and c.claim.strip() and c.paper_value.strip(), c.claim_id
        assert c.experiment in registry.EXPERIMENTS, c.claim_id
        assert c.verdict == INCONCLUSIVE and not c.measured_value  # judged only from results


def test_rule_p2_fig4_js_constant_estimate_counts_as_no_correlation():
    # "stays constant": a flat estimate has no rank correlation with a quality that changes
    flat = js_curve([0.0] * 5)
    curve, quality = three({"gan_dcgan": (flat, FALLING_EMD), "gan_mlp": (flat, FALLING_EMD)})
    outcome, measured, values = curve_claims.rule_p2_fig4_js(curve, quality)
    assert outcome.verdict == REPRODUCED
    assert {v.value for v in values if "Spearman" in v.part} == {0.0}
    # ... but a quality that does not change leaves the correlation undefined: no verdict
    curve, quality = three({"gan_dcgan": (flat, [1.0] * 5), "gan_mlp": (flat, [1.0] * 5)})
    assert _verdict(curve_claims.rule_p2_fig4_js(curve, quality)) == INCONCLUSIVE


def _only_divergence(frame, arm: str, seed: int):
    """The run of (arm, seed) diverged before its first evaluation: only its NaN row is left."""
    first = (frame["arm"] == arm) & (frame["seed"] == seed) & ~frame["diverged"]
    return frame[~first].reset_index(drop=True)


def test_a_wgan_run_that_diverged_before_any_evaluation_is_scored_not_missing():
    fig6 = _only_divergence(ablate_frame("no_bn", [NO_BN_WGAN, NO_BN_WGAN, DIVERGED],
                                         [run(1000.0)] * 3), "wgan", 2)
    outcome, measured, _ = ablate_claims.rule_p2_fig6(fig6)
    # seed 2's WGAN diverged: scored worst, it fails its parts (a split), it is not left out
    assert outcome.verdict == INCONCLUSIVE and "2 of 3 seeds pass" in outcome.reason
    assert "diverged 1 / 0" in measured
    fig7 = _only_divergence(ablate_frame("mlp", [DIVERGED] * 3, [MLP_GAN] * 3), "wgan", 0)
    assert _verdict(ablate_claims.rule_p2_fig7(fig7)) == NOT_REPRODUCED  # a diverged WGAN fails its half


def test_rule_p2_fig7_diverged_gan_runs_show_no_collapse():
    outcome, _, _ = ablate_claims.rule_p2_fig7(ablate_frame("mlp", [MLP_WGAN] * 3, [DIVERGED] * 3))
    assert outcome.verdict == INCONCLUSIVE and "GAN KL" in outcome.reason


def test_spearman_of_an_exact_0_8_passes_a_0_8_rule():
    assert stats.spearman([5, 3, 4, 1, 2], [5, 4, 3, 2, 1]) == curve_claims.TRACKS_MIN_SPEARMAN


# ==== every rule's text is built from its thresholds ===============================================
def _rule_thresholds() -> dict[str, list[str]]:
    """Per claim, each threshold formatted as its rule's text formats it."""
    from wgan_repro.claims import clip as k
    from wgan_repro.claims import probe_adam as adam

    f, c, a, t, n = fig2_claims, curve_claims, ablate_claims, toy_claims, noise_claims
    edge = f"over the last {stats.EDGE_FRACTION:.0%}"
    return {
        f.P1_FIG1.claim_id: [edge, f">= {f.ACCURACY_MIN:g};", f"accuracy {f.PERFECT_ACCURACY:.1f}"],
        f.P1_FIG2.claim_id: [edge, f">= {f.DECAY_MIN_ORDERS:g} order for",
                             f">= {f.BEST_DECAY_ORDERS:g} orders", f">= {f.PAPER_D_ITERS} iter"],
        f.P1_FIG3_GROW.claim_id: [edge, f">= {f.GROW_MIN_RATIO:g} for every"],
        f.P1_FIG3_VARIANCE.claim_id: [edge, f">= {f.VARIANCE_MIN_RATIO:g} for every"],
        f.P1_FIG3_QUALITY.claim_id: [f"is > {f.QUALITY_DROP_MIN:g} for every"],
        c.P2_FIG3_TRACKS.claim_id: [f">= {c.TRACKS_MIN_SPEARMAN:g};",
                                    f"<= {c.TRAINED_MAX_EMD_RATIO:g} x first"],
        c.P2_FIG4_JS.claim_id: [f"<= {c.JS_MAX_SPEARMAN:g} (", f"counts as {c.CONSTANT_SPEARMAN:g}",
                                f"first - {c.JS_MAX_FALL:g};", f"within {c.JS_NEAR_LOG2:g} of"],
        c.P2_FIG3_FAILED.claim_id: [f"< {c.FAILED_MAX_CHANGE:.0%}",
                                    f">= {c.FAILED_MIN_EMD_RATIO:g} x the first"],
        a.P2_FIG5.claim_id: [f">= {a.MIN_SEEDS} seeds", f"factor {a.COMPARABLE_FCD_RATIO:g} of",
                             f">= {a.COMPARABLE_MIN_CLASSES} of the {stats.DIGIT_CLASSES} digit"],
        a.P2_FIG6.claim_id: [f"<= {a.LEARNED_MAX_FCD_RATIO:g} and", f">= {a.LEARNED_MIN_CLASSES};",
                             f"FCD >= {a.FAILED_MIN_FCD_FACTOR:g} x the WGAN's",
                             f"GAN FCD >= {a.FAILED_MIN_FCD_FACTOR:g} x WGAN FCD",
                             f">= {a.MIN_SEEDS} seeds per arm"],
        a.P2_FIG7.claim_id: [f">= {a.COLLAPSED_MIN_KL:.1f} nats",
                             f">= {a.WGAN_MIN_CLASSES} of {stats.DIGIT_CLASSES} classes",
                             f"KL <= {a.WGAN_MAX_KL:g};", f">= {a.MIN_SEEDS} seeds per arm",
                             f"> {a.TRAINED_MAX_FCD_RATIO:g},",
                             f"within {1 - a.TRAINED_MAX_FCD_RATIO:.0%})"],
        t.P2_FIG1_W.claim_id: [f"<= {t.W_TOLERANCE:.0%} of the theta range"],
        t.P2_FIG1_JS.claim_id: [f"within {t.JS_FLAT_TOLERANCE:.0%} of log 2"],
        t.P2_FIG2.claim_id: [f"< {t.SATURATED_RATIO:.0%} of", f">= {t.LINEAR_R2:g}"],
        adam.P2_ADAM_NEGATIVE.claim_id: [f"in >= {adam.NEGATIVE_AT_BLOW_UPS_MIN:.0%} of"],
        adam.P2_ADAM_ONLY.claim_id: [f">= {adam.NEGATIVE_INSIDE_MIN:.0%} of"],
        adam.P2_ADAM_UNSTABLE.claim_id: [f"per {adam.RATE_PER_UPDATES} critic updates"],
        n.P1_NOISE.claim_id: [f"< {n.NOISE_MAX_DECAY_ORDERS:g} order",
                              f">= {n.CONTROL_MIN_DECAY_ORDERS:g} order"],
        a.WGANGP_FIG2.claim_id: [f"<= {a.LEARNED_MAX_FCD_RATIO:g} and",
                                 f">= {a.LEARNED_MIN_CLASSES},", "on >= 1 of those",
                                 f">= {a.MIN_SEEDS} seeds per arm"],
        k.P2_S3_SMALL.claim_id: [f">= {k.VANISHED_ORDERS:g} (the gradient"],
        k.P2_S3_LARGE.claim_id: [f">= {k.HALF:.0%} of the", f">= {k.LARGE_SLOWER:g} (c = {k.LARGE_C:g}",
                                 f"c = {k.LARGE_C:g}'s, > 0"],
        k.WGANGP_FIG1B_CLIP.claim_id: [f">= {k.UNSTABLE_ORDERS:g} (explode"],
        k.WGANGP_FIG1B_GP.claim_id: [f"<= {k.STABLE_ORDERS:g}."],
        k.WGANGP_FIG1B_WEIGHTS.claim_id: [f">= {k.OUTER:g} x bound is >= {k.PILED_SHARE:.0%}",
                                          f"c = {k.WEIGHTS_C:g}",
                                          f"< {k.NOT_PILED_SHARE:.0%} for the penalised"],
        k.WGANGP_FIG1A.claim_id: [f"(c = {k.SURFACE_C:g}): >= {k.TWO_MOMENTS:g}",
                                  f"at least {k.MORE_THAN_TWO_MOMENTS:g} lower",
                                  f"in {k.DISTANCE_BINS} equal-count bins"],
    }


def test_every_rule_text_states_its_thresholds_as_the_rule_formats_them():
    thresholds = _rule_thresholds()
    assert set(thresholds) == {c.claim_id for c in claims.all_claims()}
    for claim in claims.all_claims():
        for text in thresholds[claim.claim_id]:
            assert text in claim.rule, (claim.claim_id, text)


def test_every_rule_text_is_an_f_string_of_its_constants():
    import ast
    from pathlib import Path

    folder = Path(claims.__file__).parent
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Claim":
                rule = node.args[4]
                assert any(isinstance(n, ast.FormattedValue) for n in ast.walk(rule)), (
                    f"{path.name}:{node.lineno}: the rule's thresholds must come from constants")


# ==== the registry drives the file layer ============================================================
def test_all_claims_in_registry_order():
    order = list(registry.EXPERIMENTS)
    experiments = [c.experiment for c in claims.all_claims()]
    assert experiments == sorted(experiments, key=order.index)
    assert set(experiments) == set(order)
    for name, experiment in registry.EXPERIMENTS.items():
        module = registry.resolve(experiment.judge).__module__
        assert module == f"wgan_repro.claims.{name}"
        assert all(c.experiment == name for c in __import__(module, fromlist=["CLAIMS"]).CLAIMS)


def test_rejudge_judges_every_registered_experiment_whose_marker_exists(tmp_path, monkeypatch):
    mine = registry.Experiment(
        "extra", "extra", "a test's experiment", "p:plan", "p:run", "p:aggregate",
        lambda results_dir: [toy_claims.P2_FIG2.judged(verdicts.Outcome(REPRODUCED), "x", "y")],
        "p:figures", "done.txt", None)
    monkeypatch.setitem(registry.EXPERIMENTS, "extra", mine)
    assert claims.rejudge(tmp_path) == {}
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "done.txt").write_text("")
    (tmp_path / "extra" / "summary.json").write_text("{}")
    judged = claims.rejudge(tmp_path)
    assert list(judged) == ["extra"] and judged["extra"][0]["measured_value"] == "x"
    assert _claims_csv(tmp_path)["experiment"].tolist() == ["extra"]
    assert json.loads((tmp_path / "extra" / "summary.json").read_text())["claims"] == judged["extra"]


def test_ablate_reads_an_older_metrics_csv_whose_arm_column_is_objective(tmp_path):
    frame = ablate_frame("no_bn", [NO_BN_WGAN] * 3, [run(1000.0)] * 3)
    results.write_csv(tmp_path / "ablate" / "metrics.csv", frame.to_dict("records"),
                      ABLATE_COLUMNS)
    new = [c.row() for c in ablate_claims.judge(tmp_path)]
    older = frame.rename(columns={"arm": "objective"})
    older.to_csv(tmp_path / "ablate" / "metrics.csv", index=False)
    assert [c.row() for c in ablate_claims.judge(tmp_path)] == new
    assert new[0]["verdict"] == REPRODUCED


@pytest.mark.parametrize("name, folder_file", [
    ("fig2", "grad_norms.csv"), ("probe_noise", "instance_noise.csv")])
def test_each_judge_reads_its_own_folder(tmp_path, name, folder_file):
    control = (orders(noise_claims.CONTROL_MIN_DECAY_ORDERS), (0.0, 0.0))
    kept = (orders(noise_claims.NOISE_MAX_DECAY_ORDERS, 0.99), (0.1, 0.1))
    table = noise_frame(without_noise=control, sigma_a=kept) if name == "probe_noise" else fig2_frame()
    (tmp_path / name).mkdir()
    table.to_csv(tmp_path / name / folder_file, index=False)
    if name == "fig2":
        update_frame().to_csv(tmp_path / name / "update_quality.csv", index=False)
    judged = registry.resolve(registry.get(name).judge)(tmp_path)
    assert judged and all(not c.reason.startswith("needs") for c in judged)
    assert judged[0].source == f"{name}/{folder_file}"


def test_claims_modules_import_neither_torch_nor_the_experiments():
    import subprocess
    import sys

    modules = ", ".join(f"wgan_repro.claims.{name}" for name in registry.EXPERIMENTS)
    code = (f"import sys, {modules}; "
            "sys.exit(sum(m == 'torch' or m.startswith('wgan_repro.experiments') "
            "for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
