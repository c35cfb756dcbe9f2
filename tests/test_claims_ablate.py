"""wgan_repro.claims.ablate: P2 Figures 5-7 (ablate)'s rules at and just past their thresholds on small
hand-built tables; thresholds come from the module's named constants, never literal numbers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from wgan_repro import results, stats
from wgan_repro.claims import ablate as ablate_claims
from wgan_repro.verdicts import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED


def _verdict(result) -> str:
    outcome, measured = result
    assert isinstance(measured, str)
    return outcome.verdict



# ==== P2 Figures 5-7: ablate =======================================================================
DIVERGED = {"diverged": True}


def run(fcd: float = 10.0, first: float = 100.0, classes: float = 10, kl: float = 0.05) -> dict:
    """One seed's final evaluation (and its first evaluation's FCD)."""
    return {"fcd": fcd, "first": first, "classes": classes, "kl": kl}


# metrics.csv's columns, the arm column named arm (older files: objective, read the same way)
ABLATE_COLUMNS = tuple("arm" if c == "objective" else c for c in results.ABLATE_COLUMNS)


def ablate_frame(variant: str, wgan: list[dict], gan: list[dict]):
    """metrics.csv of one variant: per arm one run per seed, a first evaluation (written after the
    final one: the rules sort by gen_iters) and the final one; a DIVERGED run ends with NaNs."""
    rows = []
    for arm, seeds in (("wgan", wgan), ("gan", gan)):
        for seed, r in enumerate(seeds):
            key = {"variant": variant, "arm": arm, "seed": seed}
            if r.get("diverged"):
                final = {"gen_iters": 700, "emd": math.nan, "fcd": math.nan, "classes_covered": math.nan,
                         "kl_uniform": math.nan, "diverged": True}
            else:
                final = {"gen_iters": 1000, "emd": r["fcd"] / 100, "fcd": r["fcd"],
                         "classes_covered": r["classes"], "kl_uniform": r["kl"], "diverged": False}
            rows.append({**key, **final})
            rows.append({**key, "gen_iters": 100, "emd": 1.0, "fcd": r.get("first", 100.0),
                         "classes_covered": 3, "kl_uniform": 1.5, "diverged": False})
    return pd.DataFrame(rows, columns=list(ABLATE_COLUMNS))


def test_scored_final_scores_a_diverged_or_unmeasurable_run_worst():
    worst = {"emd": math.inf, "fcd": math.inf, "classes_covered": 0.0, "kl_uniform": math.log(10)}
    nan_row = {"diverged": True, "emd": math.nan, "fcd": math.nan, "classes_covered": math.nan,
               "kl_uniform": math.nan}
    assert stats.scored_final(nan_row) == worst
    inf_row = {"diverged": False, "emd": 1.0, "fcd": math.inf, "classes_covered": 10, "kl_uniform": 0.0}
    assert stats.scored_final(inf_row) == worst
    fine = {"diverged": False, "emd": 1.0, "fcd": 5.0, "classes_covered": 10, "kl_uniform": 0.1}
    assert stats.scored_final(fine) == pytest.approx({k: v for k, v in fine.items() if k != "diverged"})


def test_ablate_runs_reads_the_last_evaluation_and_the_first_fcd():
    runs = stats.ablate_runs(ablate_frame("dcgan", [run(10.0, first=80.0)], [DIVERGED]), "dcgan")
    assert runs["wgan"][0]["fcd"] == pytest.approx(10.0)
    assert runs["wgan"][0]["first_fcd"] == pytest.approx(80.0)
    assert runs["gan"][0]["fcd"] == math.inf and runs["gan"][0]["diverged"]
    assert stats.ablate_runs(ablate_frame("dcgan", [run()], [run()]), "mlp") == {}


def test_rule_p2_fig5_thresholds():
    def verdict(gan_fcd: float, classes: float = ablate_claims.COMPARABLE_MIN_CLASSES, seeds: int = 3):
        frame = ablate_frame("dcgan", [run(10.0, classes=classes)] * seeds, [run(gan_fcd)] * seeds)
        return ablate_claims.rule_p2_fig5(frame)[0]

    assert verdict(10.0 * ablate_claims.COMPARABLE_FCD_RATIO).verdict == REPRODUCED
    assert "FCDs within" in verdict(10.0 * ablate_claims.COMPARABLE_FCD_RATIO * 1.01).reason
    assert verdict(10.0 * ablate_claims.COMPARABLE_FCD_RATIO * 1.01).verdict == NOT_REPRODUCED
    assert verdict(10.0, classes=ablate_claims.COMPARABLE_MIN_CLASSES - 1).verdict == NOT_REPRODUCED
    few = verdict(10.0, seeds=ablate_claims.MIN_SEEDS - 1)
    assert few.verdict == INCONCLUSIVE
    assert few.reason.startswith(f"precondition not met: >= {ablate_claims.MIN_SEEDS} seeds per arm")


def test_rule_p2_fig5_diverged_runs_lose():
    one = ablate_frame("dcgan", [run()] * 3, [run(), run(), DIVERGED])  # the seed median holds
    assert _verdict(ablate_claims.rule_p2_fig5(one)) == REPRODUCED
    two = ablate_frame("dcgan", [run()] * 3, [run(), DIVERGED, DIVERGED])
    outcome, measured = ablate_claims.rule_p2_fig5(two)
    assert outcome.verdict == NOT_REPRODUCED and "diverged 0 / 2" in measured


NO_BN_WGAN = run(100.0 * ablate_claims.LEARNED_MAX_FCD_RATIO, first=100.0,
                 classes=ablate_claims.LEARNED_MIN_CLASSES)


def test_rule_p2_fig6_at_the_thresholds():
    gan = run(ablate_claims.FAILED_MIN_FCD_FACTOR * NO_BN_WGAN["fcd"])
    passing = ablate_frame("no_bn", [NO_BN_WGAN] * 3, [gan] * 3)
    assert _verdict(ablate_claims.rule_p2_fig6(passing)) == REPRODUCED
    cases = {
        "WGAN final FCD": ([{**NO_BN_WGAN, "fcd": NO_BN_WGAN["fcd"] * 1.01}] * 3, [run(1000.0)] * 3),
        "WGAN covers": ([{**NO_BN_WGAN, "classes": ablate_claims.LEARNED_MIN_CLASSES - 1}] * 3,
                        [gan] * 3),
        "(seed median)": ([NO_BN_WGAN] * 3, [run(gan["fcd"] * 0.99)] * 3),
    }
    for part, (wgan, gans) in cases.items():
        outcome, _ = ablate_claims.rule_p2_fig6(ablate_frame("no_bn", wgan, gans))
        assert outcome.verdict == NOT_REPRODUCED and part in outcome.reason, part


def test_rule_p2_fig6_needs_a_paired_majority():
    factor, limit = ablate_claims.FAILED_MIN_FCD_FACTOR, ablate_claims.LEARNED_MAX_FCD_RATIO
    wgan = [run(v) for v in (10.0, 100.0 * limit, 40.0)]  # seed median: exactly the learned limit
    gan = [run(v) for v in (1000.0, factor * 100.0 * limit * 0.99, factor * 40.0 * 0.99)]
    assert _median_fcd(gan) >= factor * _median_fcd(wgan)
    outcome, measured = ablate_claims.rule_p2_fig6(ablate_frame("no_bn", wgan, gan))
    assert outcome.verdict == NOT_REPRODUCED and "majority of seeds" in outcome.reason
    assert "in 1/3 seeds" in measured


def _median_fcd(runs):
    return float(np.median([r["fcd"] for r in runs]))


def test_rule_p2_fig6_both_arms_failing_and_diverged_runs():
    both_fail = ablate_frame("no_bn", [run(90.0, first=100.0)] * 3, [run(200.0)] * 3)
    outcome, _ = ablate_claims.rule_p2_fig6(both_fail)
    assert outcome.verdict == NOT_REPRODUCED and "WGAN final FCD" in outcome.reason
    gan_diverged = ablate_frame("no_bn", [NO_BN_WGAN] * 3, [DIVERGED] * 3)  # failed to learn: worst
    assert _verdict(ablate_claims.rule_p2_fig6(gan_diverged)) == REPRODUCED
    wgan_diverged = ablate_frame("no_bn", [DIVERGED] * 3, [run(1000.0)] * 3)
    assert _verdict(ablate_claims.rule_p2_fig6(wgan_diverged)) == NOT_REPRODUCED
    few = ablate_frame("no_bn", [NO_BN_WGAN] * 2, [run(1000.0)] * 3)
    assert _verdict(ablate_claims.rule_p2_fig6(few)) == INCONCLUSIVE


MLP_WGAN = run(100.0 * ablate_claims.TRAINED_MAX_FCD_RATIO, first=100.0,
               classes=ablate_claims.WGAN_MIN_CLASSES, kl=ablate_claims.WGAN_MAX_KL)
MLP_GAN = run(300.0, classes=3, kl=ablate_claims.COLLAPSED_MIN_KL)


def test_rule_p2_fig7_at_the_thresholds():
    passing = ablate_frame("mlp", [MLP_WGAN] * 3, [MLP_GAN] * 3)
    assert _verdict(ablate_claims.rule_p2_fig7(passing)) == REPRODUCED
    cases = {
        "GAN KL": ([MLP_WGAN] * 3, [{**MLP_GAN, "kl": 0.99 * ablate_claims.COLLAPSED_MIN_KL}] * 3),
        "WGAN KL": ([{**MLP_WGAN, "kl": 1.01 * ablate_claims.WGAN_MAX_KL}] * 3, [MLP_GAN] * 3),
        "WGAN covers": ([{**MLP_WGAN, "classes": ablate_claims.WGAN_MIN_CLASSES - 1}] * 3,
                        [MLP_GAN] * 3),
    }
    for part, (wgan, gan) in cases.items():
        outcome, _ = ablate_claims.rule_p2_fig7(ablate_frame("mlp", wgan, gan))
        assert outcome.verdict == NOT_REPRODUCED and part in outcome.reason, part


def test_rule_p2_fig7_needs_a_collapsed_majority():
    collapsed, fine = {**MLP_GAN, "kl": 2.0}, {**MLP_GAN, "kl": 0.5}  # seed median 1.25 of 4
    outcome, measured = ablate_claims.rule_p2_fig7(ablate_frame("mlp", [MLP_WGAN] * 4,
                                                         [collapsed, collapsed, fine, fine]))
    assert outcome.verdict == NOT_REPRODUCED and "majority of seeds" in outcome.reason
    assert "in 2/4 seeds" in measured


def test_rule_p2_fig7_untrained_wgan_is_inconclusive_unless_the_gan_fails():
    untrained = {**MLP_WGAN, "fcd": 1.01 * ablate_claims.TRAINED_MAX_FCD_RATIO * MLP_WGAN["first"]}
    outcome, _ = ablate_claims.rule_p2_fig7(ablate_frame("mlp", [untrained] * 3, [MLP_GAN] * 3))
    assert outcome.verdict == INCONCLUSIVE
    assert outcome.reason.startswith("precondition not met: the WGAN trained")
    not_collapsed = {**MLP_GAN, "kl": 0.1}
    assert _verdict(ablate_claims.rule_p2_fig7(ablate_frame("mlp", [untrained] * 3,
                                                     [not_collapsed] * 3))) == NOT_REPRODUCED
    few = ablate_frame("mlp", [MLP_WGAN] * 3, [MLP_GAN] * (ablate_claims.MIN_SEEDS - 1))
    assert _verdict(ablate_claims.rule_p2_fig7(few)) == INCONCLUSIVE


def test_ablate_rules_without_a_table():
    for rule in (ablate_claims.rule_p2_fig5, ablate_claims.rule_p2_fig6, ablate_claims.rule_p2_fig7):
        outcome, _ = rule(None)
        assert outcome.verdict == INCONCLUSIVE and outcome.reason == "needs ablate/metrics.csv"
