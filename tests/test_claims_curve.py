"""wgan_repro.claims.curve: P2 Figures 3-4 (curve)'s rules, judged on every seed, at and just past
their thresholds on small hand-built tables; thresholds come from the module's named constants,
never literal numbers."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from wgan_repro import results, stats
from wgan_repro.claims import curve as curve_claims
from wgan_repro.stats import MEDIAN_FILTER_WIDTH
from wgan_repro.verdicts import INCONCLUSIVE, MIN_SEEDS, NOT_REPRODUCED, REPRODUCED


def _verdict(result) -> str:
    outcome, measured, values = result
    assert isinstance(measured, str) and all(v.seed >= 0 for v in values)
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


def seeded(*per_seed: dict[str, tuple[list[float], list[float]]]):
    """(curve.csv, quality.csv) of seeds 0, 1, ...: one curve_tables runs dict per seed."""
    tables = [curve_tables(runs, seed) for seed, runs in enumerate(per_seed)]
    return (pd.concat([t[0] for t in tables], ignore_index=True),
            pd.concat([t[1] for t in tables], ignore_index=True))


def three(runs: dict[str, tuple[list[float], list[float]]]):
    """The same runs for MIN_SEEDS seeds."""
    return seeded(*[runs] * MIN_SEEDS)


FALLING_EMD = [1.0, 0.8, 0.7, 0.6, 0.5]
TRACKING = [5.0, 4.0, 3.0, 2.0, 1.0]  # Spearman 1 with FALLING_EMD
ONE_SWAP = [5.0, 4.0, 3.0, 1.0, 2.0]  # Spearman 0.9
AT_0_8 = [5.0, 3.0, 4.0, 1.0, 2.0]  # Spearman 0.8 exactly: TRACKS_MIN_SPEARMAN
AT_0_7 = [5.0, 4.0, 1.0, 3.0, 2.0]  # Spearman 0.7: the next value below it with 5 points
THREE_OFF = [3.0, 5.0, 4.0, 1.0, 2.0]  # Spearman 0.6
FAILED_RUN = "wgan_mlp_mlp_high_lr"


def test_curve_helper_puts_the_filtered_estimate_at_the_evaluation_points():
    curve, quality = curve_tables({"wgan_dcgan": (TRACKING, FALLING_EMD)})
    entry = stats.curve_runs(curve, quality)["wgan_dcgan/s0"]
    assert list(entry["at_eval"]) == pytest.approx(TRACKING)
    for estimate, rho in ((ONE_SWAP, 0.9), (AT_0_8, curve_claims.TRACKS_MIN_SPEARMAN),
                          (AT_0_7, 0.7), (THREE_OFF, 0.6)):
        assert stats.spearman(estimate, TRACKING) == pytest.approx(rho)
    curve, quality = seeded({"wgan_dcgan": (TRACKING, FALLING_EMD)},
                            {"wgan_dcgan": (ONE_SWAP, FALLING_EMD)})
    assert set(stats.curve_runs(curve, quality)) == {"wgan_dcgan/s0", "wgan_dcgan/s1"}


# ---- p2_fig3_estimate_tracks_quality ----------------------------------------------------------------
def test_rule_p2_fig3_tracks_every_seed_at_the_threshold_is_reproduced():
    curve, quality = seeded(*[{"wgan_dcgan": (TRACKING, FALLING_EMD), "wgan_mlp": (e, FALLING_EMD)}
                              for e in (AT_0_8, ONE_SWAP, TRACKING)])
    outcome, measured, values = curve_claims.rule_p2_fig3_tracks(curve, quality)
    assert outcome.verdict == REPRODUCED and outcome.reason == ""
    assert [(v.part, v.seed) for v in values] == [
        (run, seed) for run in curve_claims.TRACKING_RUNS for seed in range(3)]
    assert all(v.passes for v in values)
    assert values[0].threshold == f">= {curve_claims.TRACKS_MIN_SPEARMAN:g}"
    assert "wgan_mlp: Spearman(filtered estimate, EMD) 0.9 (seeds 0, 1, 2: 0.8, 0.9, 1)" in measured
    assert "EMD last/first: wgan_dcgan/s0: 0.50" in measured


def test_rule_p2_fig3_tracks_no_seed_past_the_threshold_is_not_reproduced():
    curve, quality = three({"wgan_dcgan": (TRACKING, FALLING_EMD), "wgan_mlp": (AT_0_7, FALLING_EMD)})
    outcome, _, _ = curve_claims.rule_p2_fig3_tracks(curve, quality)
    assert outcome.verdict == NOT_REPRODUCED
    assert outcome.reason == (
        "wgan_mlp: Spearman(filtered estimate, EMD) seeds 0, 1, 2: 0.7, 0.7, 0.7 (needs >= "
        f"{curve_claims.TRACKS_MIN_SPEARMAN:g}); 0 of 3 seeds pass")


def test_rule_p2_fig3_tracks_a_split_and_too_few_seeds_are_inconclusive():
    curve, quality = seeded(*[{"wgan_dcgan": (e, FALLING_EMD), "wgan_mlp": (TRACKING, FALLING_EMD)}
                              for e in (TRACKING, THREE_OFF, TRACKING)])
    outcome, _, _ = curve_claims.rule_p2_fig3_tracks(curve, quality)
    assert outcome.verdict == INCONCLUSIVE
    assert outcome.reason.startswith("2 of 3 seeds pass every part; wgan_dcgan: Spearman")
    assert outcome.reason.endswith("; 2 of 3 seeds pass")
    curve, quality = seeded(*[{"wgan_dcgan": (TRACKING, FALLING_EMD),
                               "wgan_mlp": (TRACKING, FALLING_EMD)}] * (MIN_SEEDS - 1))
    outcome, _, _ = curve_claims.rule_p2_fig3_tracks(curve, quality)
    assert outcome.verdict == INCONCLUSIVE
    assert f"{MIN_SEEDS - 1} seeds (needs >= {MIN_SEEDS})" in outcome.reason
    curve, quality = curve_tables({"wgan_dcgan": (THREE_OFF, FALLING_EMD),
                                   "wgan_mlp": (THREE_OFF, FALLING_EMD)})  # one seed fails all
    assert _verdict(curve_claims.rule_p2_fig3_tracks(curve, quality)) == INCONCLUSIVE


def test_rule_p2_fig3_tracks_judges_only_seeds_whose_run_trained():
    first = FALLING_EMD[0]
    at = [first, 0.97, 0.95, 0.93, curve_claims.TRAINED_MAX_EMD_RATIO * first]  # trained, just
    curve, quality = three({"wgan_dcgan": (TRACKING, at), "wgan_mlp": (TRACKING, at)})
    assert _verdict(curve_claims.rule_p2_fig3_tracks(curve, quality)) == REPRODUCED
    flat = [first, 0.99, 0.97, 0.95, 1.01 * curve_claims.TRAINED_MAX_EMD_RATIO * first]
    curve, quality = seeded(*[{"wgan_dcgan": (TRACKING, FALLING_EMD), "wgan_mlp": (TRACKING, e)}
                              for e in (FALLING_EMD, flat, FALLING_EMD)])
    outcome, _, values = curve_claims.rule_p2_fig3_tracks(curve, quality)
    assert outcome.verdict == INCONCLUSIVE  # never reproduced with a run that did not train
    assert "not judged where the run did not train at this budget" in outcome.reason
    untrained = next(v for v in values if v.part == "wgan_mlp" and v.seed == 1)
    assert untrained.passes is None and untrained.value == pytest.approx(1.0)  # still recorded
    # a run that did not train on every seed cannot make the claim fail: another part must
    curve, quality = three({"wgan_dcgan": (THREE_OFF, FALLING_EMD), "wgan_mlp": (THREE_OFF, flat)})
    outcome, _, _ = curve_claims.rule_p2_fig3_tracks(curve, quality)
    assert outcome.verdict == NOT_REPRODUCED and outcome.reason.startswith("wgan_dcgan: Spearman")


def test_rule_p2_fig3_tracks_without_its_runs_or_tables():
    curve, quality = three({"wgan_dcgan": (TRACKING, FALLING_EMD)})  # wgan_mlp missing: not judged
    outcome, _, values = curve_claims.rule_p2_fig3_tracks(curve, quality)
    assert outcome.verdict == INCONCLUSIVE and "not judged where the run is missing" in outcome.reason
    assert [v.passes for v in values if v.part == "wgan_mlp"] == [None] * 3
    curve, quality = curve_tables({"gan_dcgan": (TRACKING, FALLING_EMD),
                                   FAILED_RUN: (TRACKING, FALLING_EMD)})
    outcome, _, values = curve_claims.rule_p2_fig3_tracks(curve, quality)
    assert outcome.verdict == INCONCLUSIVE and outcome.reason.startswith("no run named") and not values
    assert curve_claims.rule_p2_fig3_tracks(curve, None)[0].reason == "needs curve/quality.csv"
    assert curve_claims.rule_p2_fig3_tracks(None, quality)[0].reason == "needs curve/curve.csv"


# ---- p2_fig4_js_uninformative --------------------------------------------------------------------
def js_curve(values):
    return [math.log(2) + v for v in values]


RISING = js_curve([-0.1, -0.05, -0.02, -0.01, 0.0])  # rises while the EMD falls: Spearman -1


def test_rule_p2_fig4_js_is_one_sided_and_judged_per_run_part():
    curve, quality = three({"gan_dcgan": (RISING, FALLING_EMD), "gan_mlp": (RISING, FALLING_EMD)})
    outcome, measured, values = curve_claims.rule_p2_fig4_js(curve, quality)
    assert outcome.verdict == REPRODUCED
    assert sorted({v.part for v in values}) == ["gan_dcgan: JS change", "gan_dcgan: Spearman",
                                                "gan_mlp: JS change", "gan_mlp: Spearman"]
    assert "gan_dcgan: Spearman: filtered JS vs EMD -1 (seeds 0, 1, 2: -1, -1, -1)" in measured
    assert f"share within {curve_claims.JS_NEAR_LOG2:g} of log 2: gan_dcgan/s0: " in measured
    tracks = js_curve([0.0, -0.01, -0.02, -0.03, -0.04])  # falls by < JS_MAX_FALL, tracks EMD
    curve, quality = three({"gan_dcgan": (RISING, FALLING_EMD), "gan_mlp": (tracks, FALLING_EMD)})
    outcome, _, _ = curve_claims.rule_p2_fig4_js(curve, quality)
    assert outcome.verdict == NOT_REPRODUCED and outcome.reason == (
        "gan_mlp: Spearman: filtered JS vs EMD seeds 0, 1, 2: 1, 1, 1 (needs <= "
        f"{curve_claims.JS_MAX_SPEARMAN:g}); 0 of 3 seeds pass")


def _low_rank(fall: float) -> list[float]:
    # ranks 2 4 3 5 1 against the EMD's 5 4 3 2 1: Spearman 0.4, below JS_MAX_SPEARMAN
    return js_curve([0.0, 0.1, 0.05, 0.2, -fall * curve_claims.JS_MAX_FALL])


@pytest.mark.parametrize("fall, verdict", [(0.99, REPRODUCED), (1.01, NOT_REPRODUCED)])
def test_rule_p2_fig4_js_may_not_fall(fall, verdict):
    assert stats.spearman(_low_rank(fall), FALLING_EMD) <= curve_claims.JS_MAX_SPEARMAN
    curve, quality = three({"gan_dcgan": (_low_rank(fall), FALLING_EMD)})
    outcome, _, _ = curve_claims.rule_p2_fig4_js(curve, quality)
    assert outcome.verdict == verdict
    if verdict == NOT_REPRODUCED:
        assert outcome.reason.startswith("gan_dcgan: JS change: filtered JS last - first seeds")
        assert f"(needs >= {-curve_claims.JS_MAX_FALL:g}); 0 of 3 seeds pass" in outcome.reason


def test_rule_p2_fig4_js_spearman_threshold_split_and_too_few_seeds():
    # steps of 0.01: the estimate falls by < JS_MAX_FALL, only the Spearman part is tested
    at = js_curve([v / 100 for v in [3.0, 5.0, 2.0, 4.0, 1.0]])  # Spearman 0.5: JS_MAX_SPEARMAN
    assert stats.spearman(at, FALLING_EMD) == pytest.approx(curve_claims.JS_MAX_SPEARMAN)
    past = js_curve([v / 100 for v in THREE_OFF])  # Spearman 0.6
    assert stats.spearman(past, FALLING_EMD) > curve_claims.JS_MAX_SPEARMAN
    curve, quality = three({"gan_dcgan": (at, FALLING_EMD)})
    assert _verdict(curve_claims.rule_p2_fig4_js(curve, quality)) == REPRODUCED
    curve, quality = three({"gan_dcgan": (past, FALLING_EMD)})
    outcome, _, _ = curve_claims.rule_p2_fig4_js(curve, quality)
    assert outcome.verdict == NOT_REPRODUCED and outcome.reason.startswith("gan_dcgan: Spearman:")
    assert "JS change" not in outcome.reason
    curve, quality = seeded({"gan_dcgan": (at, FALLING_EMD)}, {"gan_dcgan": (past, FALLING_EMD)},
                            {"gan_dcgan": (at, FALLING_EMD)})
    outcome, _, _ = curve_claims.rule_p2_fig4_js(curve, quality)
    assert outcome.verdict == INCONCLUSIVE and outcome.reason.startswith("2 of 3 seeds pass")
    curve, quality = seeded(*[{"gan_dcgan": (at, FALLING_EMD)}] * (MIN_SEEDS - 1))
    outcome, _, _ = curve_claims.rule_p2_fig4_js(curve, quality)
    assert outcome.verdict == INCONCLUSIVE and f"(needs >= {MIN_SEEDS})" in outcome.reason
    curve, quality = curve_tables({"wgan_dcgan": (TRACKING, FALLING_EMD)})
    outcome, _, _ = curve_claims.rule_p2_fig4_js(curve, quality)
    assert outcome.verdict == INCONCLUSIVE and "no standard-GAN run" in outcome.reason


def test_rule_p2_fig4_js_constant_estimate_counts_as_no_correlation():
    flat = js_curve([0.0] * 5)
    curve, quality = three({"gan_dcgan": (flat, FALLING_EMD)})
    outcome, _, values = curve_claims.rule_p2_fig4_js(curve, quality)
    assert outcome.verdict == REPRODUCED
    assert {v.value for v in values if v.part == "gan_dcgan: Spearman"} == {
        curve_claims.CONSTANT_SPEARMAN}
    curve, quality = three({"gan_dcgan": (flat, [1.0] * 5)})  # quality constant too: undefined
    outcome, _, _ = curve_claims.rule_p2_fig4_js(curve, quality)
    assert outcome.verdict == INCONCLUSIVE and "not judged where no data" in outcome.reason


# ---- p2_fig3_failed_run_flat ----------------------------------------------------------------------
FIRST = 15.0
STAYS_BAD = [1.0, 1.0, 0.95, 0.92, curve_claims.FAILED_MIN_EMD_RATIO]  # last/first at the threshold
FLAT = [FIRST] * 4 + [FIRST * (1 + 0.99 * curve_claims.FAILED_MAX_CHANGE)]
MOVES = [FIRST] * 4 + [FIRST * (1 - 1.01 * curve_claims.FAILED_MAX_CHANGE)]
IMPROVES = STAYS_BAD[:-1] + [0.99 * curve_claims.FAILED_MIN_EMD_RATIO]


def test_rule_p2_fig3_failed_at_and_past_its_thresholds():
    curve, quality = three({FAILED_RUN: (FLAT, STAYS_BAD), "wgan_dcgan": (TRACKING, FALLING_EMD)})
    outcome, measured, values = curve_claims.rule_p2_fig3_failed(curve, quality)
    assert outcome.verdict == REPRODUCED and len(values) == 2 * 3
    assert measured.startswith(f"{FAILED_RUN}: estimate change: relative change")
    curve, quality = three({FAILED_RUN: (MOVES, STAYS_BAD)})
    outcome, _, _ = curve_claims.rule_p2_fig3_failed(curve, quality)
    assert outcome.verdict == NOT_REPRODUCED
    assert outcome.reason.startswith(f"{FAILED_RUN}: estimate change: relative change seeds 0, 1, 2")
    assert f"(needs < {curve_claims.FAILED_MAX_CHANGE:g}); 0 of 3" in outcome.reason
    curve, quality = three({FAILED_RUN: (FLAT, IMPROVES)})
    outcome, _, _ = curve_claims.rule_p2_fig3_failed(curve, quality)
    assert outcome.verdict == NOT_REPRODUCED
    assert outcome.reason.startswith(f"{FAILED_RUN}: EMD last/first: ratio seeds 0, 1, 2: 0.891")
    assert f"(needs >= {curve_claims.FAILED_MIN_EMD_RATIO:g})" in outcome.reason


def test_rule_p2_fig3_failed_split_too_few_seeds_and_no_run():
    curve, quality = seeded({FAILED_RUN: (FLAT, STAYS_BAD)}, {FAILED_RUN: (MOVES, STAYS_BAD)},
                            {FAILED_RUN: (FLAT, STAYS_BAD)})
    outcome, _, _ = curve_claims.rule_p2_fig3_failed(curve, quality)
    assert outcome.verdict == INCONCLUSIVE and outcome.reason.startswith("2 of 3 seeds pass")
    curve, quality = curve_tables({FAILED_RUN: (FLAT, STAYS_BAD)})
    outcome, _, _ = curve_claims.rule_p2_fig3_failed(curve, quality)
    assert outcome.verdict == INCONCLUSIVE and "1 seed (needs >= 3)" in outcome.reason
    curve, quality = three({"wgan_mlp": (FLAT, STAYS_BAD)})  # not the failing run's prefix
    outcome, _, _ = curve_claims.rule_p2_fig3_failed(curve, quality)
    assert outcome.verdict == INCONCLUSIVE and outcome.reason.startswith("no run named")


def test_curve_rules_together_on_all_five_runs_and_three_seeds():
    curve, quality = three({
        "wgan_dcgan": (TRACKING, FALLING_EMD), "wgan_mlp": (TRACKING, FALLING_EMD),
        FAILED_RUN: ([15.0] * 5, [1.0] * 5),
        "gan_dcgan": (js_curve([0.0, 0.01, -0.01, 0.02, 0.0]), FALLING_EMD),
        "gan_mlp": (RISING, FALLING_EMD)})
    for rule in (curve_claims.rule_p2_fig3_tracks, curve_claims.rule_p2_fig4_js,
                 curve_claims.rule_p2_fig3_failed):
        assert _verdict(rule(curve, quality)) == REPRODUCED, rule.__name__


def test_spearman_part_names_the_rows_a_figure_quotes():
    assert curve_claims.spearman_part("wgan_dcgan") == (curve_claims.P2_FIG3_TRACKS.claim_id,
                                                        "wgan_dcgan")
    assert curve_claims.spearman_part("gan_mlp") == (curve_claims.P2_FIG4_JS.claim_id,
                                                     "gan_mlp: Spearman")
    curve, quality = three({"gan_mlp": (RISING, FALLING_EMD)})
    parts = {v.part for v in curve_claims.rule_p2_fig4_js(curve, quality)[2]}
    assert curve_claims.spearman_part("gan_mlp")[1] in parts


def test_every_curve_rule_states_the_seed_rule():
    from wgan_repro.verdicts import SEED_RULE

    for claim in curve_claims.CLAIMS:
        assert claim.rule.startswith("per seed") and claim.rule.endswith(SEED_RULE), claim.claim_id
