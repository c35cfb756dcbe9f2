"""wgan_repro.claims.ablate: P2 Figures 5-7 (ablate)'s rules, judged seed by seed (the same seed in
both arms is one seed pair), at and just past their thresholds on small hand-built tables;
thresholds come from the module's named constants, never literal numbers."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from wgan_repro import results, stats
from wgan_repro.claims import ablate as ablate_claims
from wgan_repro.verdicts import INCONCLUSIVE, MIN_SEEDS, NOT_REPRODUCED, REPRODUCED, SEED_RULE


def _verdict(result) -> str:
    outcome, measured, values = result
    assert isinstance(measured, str) and all(v.seed >= 0 for v in values)
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


# ---- p2_fig5_dcgan_both_work ------------------------------------------------------------------------
def _fig5(gan_fcds, classes=ablate_claims.COMPARABLE_MIN_CLASSES, wgan_fcd=10.0):
    """One seed per GAN FCD, each paired with a WGAN of FCD ``wgan_fcd``."""
    gans = [g if isinstance(g, dict) else run(g) for g in gan_fcds]
    return ablate_claims.rule_p2_fig5(ablate_frame(
        "dcgan", [run(wgan_fcd, classes=classes)] * len(gans), gans))


def test_rule_p2_fig5_every_seed_pair_at_the_thresholds_is_reproduced():
    limit = ablate_claims.COMPARABLE_FCD_RATIO
    outcome, measured, values = _fig5([10.0 * limit, 10.0 / limit, 10.0])  # larger / smaller
    assert outcome.verdict == REPRODUCED
    assert [(v.part, v.seed) for v in values[:3]] == [
        ("FCD ratio (larger / smaller)", 0), ("WGAN classes", 0), ("GAN classes", 0)]
    assert values[0].threshold == f"<= {limit:g}" and values[1].threshold == (
        f">= {ablate_claims.COMPARABLE_MIN_CLASSES}")
    assert measured.startswith(f"FCD ratio (larger / smaller): ratio of the final FCDs {limit:g} "
                               f"(seeds 0, 1, 2: {limit:g}, {limit:g}, 1)")
    assert "runs diverged 0 / 0 (WGAN / GAN, of 3 / 3 seeds)" in measured


def test_rule_p2_fig5_no_seed_pair_past_a_threshold_is_not_reproduced():
    past = 10.0 * ablate_claims.COMPARABLE_FCD_RATIO * 1.01
    outcome, _, _ = _fig5([past] * 3)
    assert outcome.verdict == NOT_REPRODUCED and outcome.reason == (
        "FCD ratio (larger / smaller): ratio of the final FCDs seeds 0, 1, 2: 2.02, 2.02, 2.02 "
        f"(needs <= {ablate_claims.COMPARABLE_FCD_RATIO:g}); 0 of 3 seeds pass")
    outcome, _, _ = _fig5([10.0] * 3, classes=ablate_claims.COMPARABLE_MIN_CLASSES - 1)
    assert outcome.verdict == NOT_REPRODUCED
    assert outcome.reason.startswith("WGAN classes: digit classes covered seeds 0, 1, 2: 8, 8, 8 "
                                     f"(needs >= {ablate_claims.COMPARABLE_MIN_CLASSES})")


def test_rule_p2_fig5_a_split_and_too_few_seeds_are_inconclusive():
    past = 10.0 * ablate_claims.COMPARABLE_FCD_RATIO * 1.01
    outcome, _, _ = _fig5([10.0, past, 10.0])
    assert outcome.verdict == INCONCLUSIVE
    assert outcome.reason.startswith("2 of 3 seeds pass every part; FCD ratio")
    outcome, _, _ = _fig5([10.0] * (MIN_SEEDS - 1))
    assert outcome.verdict == INCONCLUSIVE
    assert outcome.reason.startswith(f"{MIN_SEEDS - 1} of {MIN_SEEDS - 1} seeds pass every part; "
                                     f"{MIN_SEEDS - 1} seeds (needs >= {MIN_SEEDS})")


def test_rule_p2_fig5_a_seed_in_one_arm_only_is_not_judged():
    frame = ablate_frame("dcgan", [run()] * 3, [run()] * 2)  # seed 2: WGAN only
    outcome, _, values = ablate_claims.rule_p2_fig5(frame)
    assert outcome.verdict == INCONCLUSIVE
    assert "not judged where seed run in one arm only" in outcome.reason
    assert "not judged where no GAN run of this seed (seed run in one arm only)" in outcome.reason
    seed2 = {v.part: v.passes for v in values if v.seed == 2}
    assert seed2 == {"FCD ratio (larger / smaller)": None, "WGAN classes": True, "GAN classes": None}


def test_rule_p2_fig5_diverged_runs_lose():
    outcome, measured, _ = _fig5([run(), run(), DIVERGED])  # the seed median would hold
    assert outcome.verdict == INCONCLUSIVE and outcome.reason.startswith("2 of 3 seeds pass")
    assert "seeds 0, 1, 2: 1, 1, inf" in outcome.reason and "diverged 0 / 1" in measured
    outcome, _, _ = _fig5([DIVERGED] * 3)
    assert outcome.verdict == NOT_REPRODUCED and "1, 1, inf" not in outcome.reason
    assert "GAN classes: digit classes covered seeds 0, 1, 2: 0, 0, 0" in outcome.reason


# ---- p2_fig6_no_bn_gan_fails -----------------------------------------------------------------------
NO_BN_WGAN = run(100.0 * ablate_claims.LEARNED_MAX_FCD_RATIO, first=100.0,
                 classes=ablate_claims.LEARNED_MIN_CLASSES)
NO_BN_GAN = run(ablate_claims.FAILED_MIN_FCD_FACTOR * NO_BN_WGAN["fcd"])  # at the factor


def test_rule_p2_fig6_every_seed_at_the_thresholds_is_reproduced():
    outcome, measured, values = ablate_claims.rule_p2_fig6(
        ablate_frame("no_bn", [NO_BN_WGAN] * 3, [NO_BN_GAN] * 3))
    assert outcome.verdict == REPRODUCED
    assert [v.part for v in values[:3]] == ["WGAN final/first FCD", "WGAN classes",
                                            "GAN FCD / WGAN FCD"]
    assert f"GAN FCD / WGAN FCD: ratio of the final FCDs {ablate_claims.FAILED_MIN_FCD_FACTOR:g}" \
        in measured


@pytest.mark.parametrize("part, wgan, gan", [
    ("WGAN final/first FCD: ratio seeds 0, 1, 2: 0.253",
     {**NO_BN_WGAN, "fcd": NO_BN_WGAN["fcd"] * 1.01}, run(1000.0)),
    ("WGAN classes: digit classes covered seeds 0, 1, 2: 6",
     {**NO_BN_WGAN, "classes": ablate_claims.LEARNED_MIN_CLASSES - 1}, NO_BN_GAN),
    ("GAN FCD / WGAN FCD: ratio of the final FCDs seeds 0, 1, 2: 1.98",
     NO_BN_WGAN, run(NO_BN_GAN["fcd"] * 0.99)),
])
def test_rule_p2_fig6_one_part_past_its_threshold_on_every_seed(part, wgan, gan):
    outcome, _, _ = ablate_claims.rule_p2_fig6(ablate_frame("no_bn", [wgan] * 3, [gan] * 3))
    assert outcome.verdict == NOT_REPRODUCED and outcome.reason.startswith(part)
    assert outcome.reason.endswith("0 of 3 seeds pass")


def test_rule_p2_fig6_is_paired_seed_by_seed():
    # the seed medians would pass (GAN 1000 vs WGAN 25), but seeds 1 and 2 pair a GAN within
    # FAILED_MIN_FCD_FACTOR of its own WGAN: judged per seed pair, a split
    factor = ablate_claims.FAILED_MIN_FCD_FACTOR
    wgan = [NO_BN_WGAN, run(10.0, classes=10), run(20.0, classes=10)]
    gan = [run(1000.0), run(factor * 10.0 * 0.99), run(factor * 20.0 * 0.99)]
    outcome, _, _ = ablate_claims.rule_p2_fig6(ablate_frame("no_bn", wgan, gan))
    assert outcome.verdict == INCONCLUSIVE and outcome.reason.startswith("1 of 3 seeds pass")
    assert "GAN FCD / WGAN FCD: ratio of the final FCDs seeds 0, 1, 2: 40, 1.98, 1.98" in outcome.reason
    few = ablate_frame("no_bn", [NO_BN_WGAN] * 2, [run(1000.0)] * 3)  # seed 2: GAN only
    outcome, _, _ = ablate_claims.rule_p2_fig6(few)
    assert outcome.verdict == INCONCLUSIVE and "no WGAN run of this seed" in outcome.reason


def test_rule_p2_fig6_both_arms_failing_and_diverged_runs():
    both_fail = ablate_frame("no_bn", [run(90.0, first=100.0)] * 3, [run(200.0)] * 3)
    outcome, _, _ = ablate_claims.rule_p2_fig6(both_fail)
    assert outcome.verdict == NOT_REPRODUCED and outcome.reason.startswith("WGAN final/first FCD")
    gan_diverged = ablate_frame("no_bn", [NO_BN_WGAN] * 3, [DIVERGED] * 3)  # failed to learn: worst
    assert _verdict(ablate_claims.rule_p2_fig6(gan_diverged)) == REPRODUCED
    wgan_diverged = ablate_frame("no_bn", [DIVERGED] * 3, [run(1000.0)] * 3)
    outcome, _, _ = ablate_claims.rule_p2_fig6(wgan_diverged)
    assert outcome.verdict == NOT_REPRODUCED and "seeds 0, 1, 2: inf, inf, inf" in outcome.reason
    both = ablate_frame("no_bn", [NO_BN_WGAN, NO_BN_WGAN, DIVERGED], [NO_BN_GAN, NO_BN_GAN, DIVERGED])
    outcome, _, values = ablate_claims.rule_p2_fig6(both)
    assert outcome.verdict == INCONCLUSIVE and "not judged where both arms diverged" in outcome.reason
    assert [v.passes for v in values if v.seed == 2] == [False, False, None]


# ---- p2_fig7_mlp_gan_collapses ---------------------------------------------------------------------
MLP_WGAN = run(100.0 * ablate_claims.TRAINED_MAX_FCD_RATIO, first=100.0,
               classes=ablate_claims.WGAN_MIN_CLASSES, kl=ablate_claims.WGAN_MAX_KL)
MLP_GAN = run(300.0, classes=3, kl=ablate_claims.COLLAPSED_MIN_KL)


def test_rule_p2_fig7_every_seed_at_the_thresholds_is_reproduced():
    outcome, measured, values = ablate_claims.rule_p2_fig7(
        ablate_frame("mlp", [MLP_WGAN] * 3, [MLP_GAN] * 3))
    assert outcome.verdict == REPRODUCED
    assert [v.part for v in values[:3]] == ["GAN KL to uniform", "WGAN classes", "WGAN KL"]
    assert "WGAN final/first FCD: s0: 0.8, s1: 0.8, s2: 0.8" in measured


@pytest.mark.parametrize("part, wgan, gan", [
    ("GAN KL to uniform: KL(class histogram || uniform) seeds 0, 1, 2: 0.99",
     MLP_WGAN, {**MLP_GAN, "kl": 0.99 * ablate_claims.COLLAPSED_MIN_KL}),
    ("WGAN KL: KL(class histogram || uniform) seeds 0, 1, 2: 0.505",
     {**MLP_WGAN, "kl": 1.01 * ablate_claims.WGAN_MAX_KL}, MLP_GAN),
    ("WGAN classes: digit classes covered seeds 0, 1, 2: 8",
     {**MLP_WGAN, "classes": ablate_claims.WGAN_MIN_CLASSES - 1}, MLP_GAN),
])
def test_rule_p2_fig7_one_part_past_its_threshold_on_every_seed(part, wgan, gan):
    outcome, _, _ = ablate_claims.rule_p2_fig7(ablate_frame("mlp", [wgan] * 3, [gan] * 3))
    assert outcome.verdict == NOT_REPRODUCED and outcome.reason.startswith(part)


def test_rule_p2_fig7_a_collapsed_split_and_too_few_seeds():
    collapsed, fine = {**MLP_GAN, "kl": 2.0}, {**MLP_GAN, "kl": 0.5}
    outcome, _, _ = ablate_claims.rule_p2_fig7(ablate_frame("mlp", [MLP_WGAN] * 4,
                                                            [collapsed, collapsed, fine, fine]))
    assert outcome.verdict == INCONCLUSIVE and outcome.reason.startswith("2 of 4 seeds pass")
    assert "GAN KL to uniform: KL(class histogram || uniform) seeds 0, 1, 2, 3: 2, 2, 0.5, 0.5" \
        in outcome.reason
    few = ablate_frame("mlp", [MLP_WGAN] * 3, [MLP_GAN] * (MIN_SEEDS - 1))
    outcome, _, _ = ablate_claims.rule_p2_fig7(few)
    assert outcome.verdict == INCONCLUSIVE and "no GAN run of this seed" in outcome.reason


def test_rule_p2_fig7_untrained_wgan_seeds_are_not_judged_unless_the_gan_fails():
    untrained = {**MLP_WGAN, "fcd": 1.01 * ablate_claims.TRAINED_MAX_FCD_RATIO * MLP_WGAN["first"]}
    frame = ablate_frame("mlp", [MLP_WGAN, untrained, MLP_WGAN], [MLP_GAN] * 3)
    outcome, _, values = ablate_claims.rule_p2_fig7(frame)
    assert outcome.verdict == INCONCLUSIVE
    assert "not judged where the WGAN has not trained" in outcome.reason
    seed1 = [v for v in values if v.seed == 1 and v.part.startswith("WGAN")]
    assert [v.passes for v in seed1] == [None, None]
    assert seed1[0].value == ablate_claims.WGAN_MIN_CLASSES  # still recorded
    outcome, _, _ = ablate_claims.rule_p2_fig7(ablate_frame("mlp", [untrained] * 3, [MLP_GAN] * 3))
    assert outcome.verdict == INCONCLUSIVE
    not_collapsed = {**MLP_GAN, "kl": 0.1}
    outcome, _, _ = ablate_claims.rule_p2_fig7(ablate_frame("mlp", [untrained] * 3,
                                                            [not_collapsed] * 3))
    assert outcome.verdict == NOT_REPRODUCED and outcome.reason.startswith("GAN KL to uniform")


def test_rule_p2_fig7_diverged_runs():
    outcome, _, values = ablate_claims.rule_p2_fig7(ablate_frame("mlp", [MLP_WGAN] * 3, [DIVERGED] * 3))
    assert outcome.verdict == INCONCLUSIVE
    assert "not judged where diverged: nothing sampled" in outcome.reason
    assert [v.passes for v in values if v.part == "GAN KL to uniform"] == [None] * 3
    outcome, _, _ = ablate_claims.rule_p2_fig7(ablate_frame("mlp", [DIVERGED] * 3, [MLP_GAN] * 3))
    assert outcome.verdict == NOT_REPRODUCED  # a diverged WGAN is scored worst: it fails its half
    assert outcome.reason.startswith("WGAN classes: digit classes covered seeds 0, 1, 2: 0, 0, 0")


def test_ablate_rules_without_a_table():
    for rule in (ablate_claims.rule_p2_fig5, ablate_claims.rule_p2_fig6, ablate_claims.rule_p2_fig7):
        outcome, measured, values = rule(None)
        assert outcome.verdict == INCONCLUSIVE and outcome.reason == "needs ablate/metrics.csv"
        assert measured == "" and list(values) == []


def test_judge_keeps_the_seed_values_and_the_context(tmp_path):
    frame = ablate_frame("no_bn", [NO_BN_WGAN] * 3, [NO_BN_GAN] * 3)
    results.write_csv(tmp_path / "ablate" / "metrics.csv", frame.to_dict("records"), ABLATE_COLUMNS)
    (tmp_path / "ablate" / "summary.json").write_text(
        '{"variants": {"no_bn": {"fcd_real_vs_real": 40.0}}, '
        '"generator_parameters": {"dcgan": 1000, "no_bn": 100}}')
    (claim,) = ablate_claims.judge(tmp_path)
    assert claim.verdict == REPRODUCED and len(claim.seed_values) == 3 * 3
    assert claim.measured_value.endswith("; real-vs-real FCD 40; generator parameters DCGAN 1000 "
                                         "vs no-BN 100 (10.0x fewer)")
    assert [r["claim_id"] for r in claim.seed_rows()] == [claim.claim_id] * 9


def test_every_ablate_rule_states_the_seed_rule():
    for claim in ablate_claims.CLAIMS:
        assert claim.rule.startswith("per seed") and claim.rule.endswith(SEED_RULE), claim.claim_id
        assert f">= {MIN_SEEDS} seeds per arm" in claim.rule


# ==== WGAN-GP Fig. 2 (ablate --gp) ==================================================================
def gp_frame(variants: dict[str, tuple[list[dict], list[dict], list[dict]]]):
    """metrics.csv of several variants with three arms (wgan, gan, wgan_gp)."""
    frames = []
    for variant, (wgan, gan, gp) in variants.items():
        two = ablate_frame(variant, wgan, gan)
        three = ablate_frame(variant, gp, []).assign(arm="wgan_gp")
        frames += [two, three]
    return pd.concat(frames, ignore_index=True)


LEARNED = run(fcd=10.0, first=100.0, classes=10)  # ratio 0.1, 10 classes
NOT_LEARNED = run(fcd=90.0, first=100.0, classes=10)  # ratio 0.9


def test_wgangp_fig2_reproduced_when_gp_learns_everywhere_and_the_others_fail_somewhere():
    seeds = range(MIN_SEEDS)
    frame = gp_frame({"no_bn": ([LEARNED] * 3, [NOT_LEARNED] * 3, [LEARNED] * 3),
                      "mlp": ([NOT_LEARNED] * 3, [LEARNED] * 3, [LEARNED] * 3)})
    outcome, measured, values = ablate_claims.rule_wgangp_fig2(frame)
    assert outcome.verdict == REPRODUCED, outcome.reason
    failed = {(v.part, v.seed): v.value for v in values if v.part.endswith("variants failed")}
    assert failed == {**{("WGAN variants failed", s): 1 for s in seeds},
                      **{("GAN variants failed", s): 1 for s in seeds}}
    assert "no_bn learned (WGAN / GAN / WGAN-GP): s0 yes/no/yes" in measured


def test_wgangp_fig2_not_reproduced_when_clipped_wgan_learns_every_variant():
    """"Only ... using WGAN-GP": a clipped WGAN that learns every variant on every seed breaks
    the claim even though WGAN-GP learns too."""
    frame = gp_frame({"no_bn": ([LEARNED] * 3, [NOT_LEARNED] * 3, [LEARNED] * 3)})
    outcome, _, values = ablate_claims.rule_wgangp_fig2(frame)
    assert outcome.verdict == NOT_REPRODUCED
    assert "WGAN variants failed" in outcome.reason


def test_wgangp_fig2_a_diverged_gp_run_did_not_learn():
    frame = gp_frame({"no_bn": ([NOT_LEARNED] * 3, [NOT_LEARNED] * 3,
                                [LEARNED, LEARNED, DIVERGED])})
    outcome, _, values = ablate_claims.rule_wgangp_fig2(frame)
    assert outcome.verdict == INCONCLUSIVE and "2 of 3 seeds pass" in outcome.reason
    assert ablate_claims.learned({"diverged": True, "fcd_ratio": 0.1, "classes_covered": 10}) is False
