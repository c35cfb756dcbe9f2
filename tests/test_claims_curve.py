"""wgan_repro.claims.curve: P2 Figures 3-4 (curve)'s rules at and just past their thresholds on small
hand-built tables; thresholds come from the module's named constants, never literal numbers."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from wgan_repro import results, stats
from wgan_repro.claims import curve as curve_claims
from wgan_repro.stats import MEDIAN_FILTER_WIDTH
from wgan_repro.verdicts import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED


def _verdict(result) -> str:
    outcome, measured = result
    assert isinstance(measured, str)
    return outcome.verdict



# ==== P2 Figures 3-4: curve ========================================================================
# The rules median-filter the estimate over MEDIAN_FILTER_WIDTH generator iterations: each value
# below holds for a segment wider than the filter, and quality is evaluated at the segment's
# centre, where the filtered estimate equals the raw value.
SEGMENT = MEDIAN_FILTER_WIDTH + 1


def curve_tables(runs: dict[str, tuple[list[float], list[float]]], seed: int = 0):
    """(curve.csv, quality.csv) for {run: (estimate per segment, EMD at each segment's centre)}."""
    curve_rows, quality_rows = [], []
    for run, (estimates, emds) in runs.items():
        gan = run.startswith("gan_")
        for k, (estimate, emd) in enumerate(zip(estimates, emds, strict=True)):
            for i in range(SEGMENT):
                curve_rows.append({
                    "run": run, "objective": "gan" if gan else "wgan_clip", "generator": "dcgan",
                    "critic": "dcgan", "seed": seed, "gen_iter": k * SEGMENT + i + 1,
                    "wasserstein_estimate": math.nan if gan else estimate,
                    "js_estimate": estimate if gan else math.nan})
            quality_rows.append({"run": run, "seed": seed, "gen_iter": k * SEGMENT + SEGMENT // 2 + 1,
                                 "emd": emd, "fcd": 100 * emd})
    return (pd.DataFrame(curve_rows, columns=list(results.CURVE_COLUMNS)),
            pd.DataFrame(quality_rows, columns=list(results.QUALITY_COLUMNS)))


FALLING_EMD = [1.0, 0.8, 0.7, 0.6, 0.5]
TRACKING = [5.0, 4.0, 3.0, 2.0, 1.0]  # Spearman 1 with FALLING_EMD
ONE_SWAP = [5.0, 4.0, 3.0, 1.0, 2.0]  # Spearman 0.9
THREE_OFF = [3.0, 5.0, 4.0, 1.0, 2.0]  # Spearman 0.6
FAILED_RUN = "wgan_mlp_mlp_high_lr"


def test_curve_helper_puts_the_filtered_estimate_at_the_evaluation_points():
    curve, quality = curve_tables({"wgan_dcgan": (TRACKING, FALLING_EMD)})
    entry = stats.curve_runs(curve, quality)["wgan_dcgan/s0"]
    assert list(entry["at_eval"]) == pytest.approx(TRACKING)
    assert stats.spearman(ONE_SWAP, TRACKING) == pytest.approx(0.9)
    assert stats.spearman(THREE_OFF, TRACKING) == pytest.approx(0.6)


def test_rule_p2_fig3_tracks_reproduced_and_spearman_threshold():
    curve, quality = curve_tables({"wgan_dcgan": (TRACKING, FALLING_EMD),
                                   "wgan_mlp": (ONE_SWAP, FALLING_EMD)})
    outcome, measured = curve_claims.rule_p2_fig3_tracks(curve, quality)
    assert outcome.verdict == REPRODUCED and "wgan_mlp/s0: 0.90" in measured
    curve, quality = curve_tables({"wgan_dcgan": (TRACKING, FALLING_EMD),
                                   "wgan_mlp": (THREE_OFF, FALLING_EMD)})
    outcome, _ = curve_claims.rule_p2_fig3_tracks(curve, quality)
    assert outcome.verdict == NOT_REPRODUCED and "wgan_mlp/s0 Spearman" in outcome.reason


def test_rule_p2_fig3_tracks_needs_a_run_that_trained():
    first = FALLING_EMD[0]
    at = [first, 0.97, 0.95, 0.93, curve_claims.TRAINED_MAX_EMD_RATIO * first]  # trained, just
    curve, quality = curve_tables({"wgan_dcgan": (TRACKING, at), "wgan_mlp": (TRACKING, at)})
    assert _verdict(curve_claims.rule_p2_fig3_tracks(curve, quality)) == REPRODUCED
    flat = [first, 0.99, 0.97, 0.95, 1.01 * curve_claims.TRAINED_MAX_EMD_RATIO * first]
    curve, quality = curve_tables({"wgan_dcgan": (TRACKING, FALLING_EMD), "wgan_mlp": (TRACKING, flat)})
    outcome, _ = curve_claims.rule_p2_fig3_tracks(curve, quality)
    assert outcome.verdict == INCONCLUSIVE  # never reproduced with a run that did not train
    assert outcome.reason.startswith("precondition not met: wgan_mlp/s0 trained")
    curve, quality = curve_tables({"wgan_dcgan": (THREE_OFF, FALLING_EMD), "wgan_mlp": (TRACKING, flat)})
    outcome, _ = curve_claims.rule_p2_fig3_tracks(curve, quality)
    assert outcome.verdict == NOT_REPRODUCED and "wgan_dcgan/s0 Spearman" in outcome.reason


def test_rule_p2_fig3_tracks_without_its_runs_or_tables():
    curve, quality = curve_tables({"gan_dcgan": (TRACKING, FALLING_EMD),
                                   FAILED_RUN: (TRACKING, FALLING_EMD)})
    outcome, _ = curve_claims.rule_p2_fig3_tracks(curve, quality)
    assert outcome.verdict == INCONCLUSIVE and outcome.reason.startswith("no run named")
    assert curve_claims.rule_p2_fig3_tracks(curve, None)[0].reason == "needs curve/quality.csv"
    assert curve_claims.rule_p2_fig3_tracks(None, quality)[0].reason == "needs curve/curve.csv"


def js_curve(values):
    return [math.log(2) + v for v in values]


def test_rule_p2_fig4_js_is_one_sided():
    rising = js_curve([-0.1, -0.05, -0.02, -0.01, 0.0])  # rises while the EMD falls: Spearman < 0
    curve, quality = curve_tables({"gan_dcgan": (rising, FALLING_EMD), "gan_mlp": (rising, FALLING_EMD)})
    outcome, measured = curve_claims.rule_p2_fig4_js(curve, quality)
    assert outcome.verdict == REPRODUCED and "gan_dcgan/s0: -1.00" in measured
    tracks = js_curve([0.0, -0.01, -0.02, -0.03, -0.04])  # falls by < JS_MAX_FALL, tracks EMD
    curve, quality = curve_tables({"gan_dcgan": (rising, FALLING_EMD), "gan_mlp": (tracks, FALLING_EMD)})
    outcome, _ = curve_claims.rule_p2_fig4_js(curve, quality)
    assert outcome.verdict == NOT_REPRODUCED and outcome.reason == (
        f"fails: gan_mlp/s0 Spearman <= {curve_claims.JS_MAX_SPEARMAN:g}")


@pytest.mark.parametrize("fall, verdict", [(0.9, REPRODUCED), (1.1, NOT_REPRODUCED)])
def test_rule_p2_fig4_js_may_not_fall(fall, verdict):
    # ranks 2 4 3 5 1 against the EMD's 5 4 3 2 1: Spearman 0.4, below JS_MAX_SPEARMAN
    estimate = js_curve([0.0, 0.1, 0.05, 0.2, -fall * curve_claims.JS_MAX_FALL])
    assert stats.spearman(estimate, FALLING_EMD) <= curve_claims.JS_MAX_SPEARMAN
    curve, quality = curve_tables({"gan_dcgan": (estimate, FALLING_EMD)})
    outcome, _ = curve_claims.rule_p2_fig4_js(curve, quality)
    assert outcome.verdict == verdict
    if verdict == NOT_REPRODUCED:
        assert "JS estimate falls" in outcome.reason


def test_rule_p2_fig4_js_spearman_threshold():
    assert stats.spearman(js_curve(THREE_OFF), FALLING_EMD) > curve_claims.JS_MAX_SPEARMAN
    curve, quality = curve_tables({"gan_dcgan": (js_curve([v / 10 for v in THREE_OFF]), FALLING_EMD)})
    assert _verdict(curve_claims.rule_p2_fig4_js(curve, quality)) == NOT_REPRODUCED
    curve, quality = curve_tables({"wgan_dcgan": (TRACKING, FALLING_EMD)})
    outcome, _ = curve_claims.rule_p2_fig4_js(curve, quality)
    assert outcome.verdict == INCONCLUSIVE and "no standard-GAN run" in outcome.reason


def test_rule_p2_fig3_failed():
    first = 15.0
    change = curve_claims.FAILED_MAX_CHANGE
    stays_bad = [1.0, 1.0, 0.95, 0.92, curve_claims.FAILED_MIN_EMD_RATIO]
    flat = [first, first, first, first, first * (1 + 0.99 * change)]
    curve, quality = curve_tables({FAILED_RUN: (flat, stays_bad), "wgan_dcgan": (TRACKING, FALLING_EMD)})
    assert _verdict(curve_claims.rule_p2_fig3_failed(curve, quality)) == REPRODUCED
    moves = [first, first, first, first, first * (1 - 1.01 * change)]
    curve, quality = curve_tables({FAILED_RUN: (moves, stays_bad)})
    outcome, _ = curve_claims.rule_p2_fig3_failed(curve, quality)
    assert outcome.verdict == NOT_REPRODUCED and "estimate changes" in outcome.reason
    improves = stays_bad[:-1] + [0.99 * curve_claims.FAILED_MIN_EMD_RATIO]
    curve, quality = curve_tables({FAILED_RUN: (flat, improves)})
    outcome, _ = curve_claims.rule_p2_fig3_failed(curve, quality)
    assert outcome.verdict == NOT_REPRODUCED and "last EMD" in outcome.reason
    curve, quality = curve_tables({"wgan_mlp": (flat, stays_bad)})  # not the failing run's prefix
    outcome, _ = curve_claims.rule_p2_fig3_failed(curve, quality)
    assert outcome.verdict == INCONCLUSIVE and outcome.reason.startswith("no run named")


def test_curve_rules_together_on_all_five_runs():
    curve, quality = curve_tables({
        "wgan_dcgan": (TRACKING, FALLING_EMD), "wgan_mlp": (TRACKING, FALLING_EMD),
        FAILED_RUN: ([15.0] * 5, [1.0] * 5),
        "gan_dcgan": (js_curve([0.0, 0.01, -0.01, 0.02, 0.0]), FALLING_EMD),
        "gan_mlp": (js_curve([-0.1, -0.05, -0.02, -0.01, 0.0]), FALLING_EMD)})
    for rule in (curve_claims.rule_p2_fig3_tracks, curve_claims.rule_p2_fig4_js,
                 curve_claims.rule_p2_fig3_failed):
        assert _verdict(rule(curve, quality)) == REPRODUCED, rule.__name__
