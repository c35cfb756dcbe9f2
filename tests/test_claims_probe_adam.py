"""wgan_repro.claims.probe_adam: P2 section 4.2's rules on small hand-built critic-step tables,
and the warm-up and blow-up window they read from the run's config (probe_adam/config.yaml), never
infer from the tables."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
import yaml

from wgan_repro import results, stats
from wgan_repro.claims import probe_adam as adam_claims
from wgan_repro.stats import is_warmup_iteration
from wgan_repro.verdicts import (
    INCONCLUSIVE,
    MIN_SEEDS,
    NOT_REPRODUCED,
    REPRODUCED,
    SEED_RULE,
    SeedValue,
)


def _verdict(result) -> str:
    outcome, measured, values = result
    assert isinstance(measured, str) and all(isinstance(v, SeedValue) for v in values)
    return outcome.verdict


STEPS, WARMUP_STEPS, RADIUS, LR = 5, 20, 2, 1e-4
GEN_ITERS = 10
SEEDS = tuple(range(MIN_SEEDS))
# The tables' critic loop has no warm-up unless a test gives some iterations WARMUP_STEPS
# updates; the settings that match them, read from config.yaml by the judge:
NO_WARMUP = adam_claims.ProbeSettings(blow_up_radius=RADIUS, warmup=False,
                                      warmup_critic_iters=WARMUP_STEPS, warmup_gen_iters=0,
                                      warmup_every=5)
WARMUP = replace(NO_WARMUP, warmup=True)  # 0-based iterations 0 and 5: the CSV's gen_iter 1 and 6
WARM_STEPS = {1: WARMUP_STEPS, 6: WARMUP_STEPS}  # critic updates of the iterations WARMUP marks


def adam_arm(arm: str, *, lr: float = LR, seed: int = 0, steps: dict | None = None,
             blow_ups=(), negatives=(), fcd: dict | None = None, first_eval: int = 1):
    """One arm's (critic-step rows, quality rows). Generator iteration g has steps.get(g, STEPS)
    critic updates (more marks a warm-up iteration); ``blow_ups`` and ``negatives`` are
    (gen_iter, k): the k-th critic update of that iteration; quality is evaluated at every
    generator iteration from ``first_eval`` on, FCD 10 unless ``fcd`` = {gen_iter: value}."""
    steps, fcd = steps or {}, fcd or {}
    cosine, step = [], 0
    for g in range(1, GEN_ITERS + 1):
        for k in range(steps.get(g, STEPS)):
            step += 1
            cosine.append({"arm": arm, "optimizer": arm, "lr": lr, "seed": seed, "gen_iter": g,
                           "critic_step": step, "step_cosine": -0.5 if (g, k) in negatives else 0.5,
                           "wasserstein_estimate": 1.0, "estimate_jump": 0.0,
                           "blow_up": (g, k) in blow_ups, "near_blow_up": False})
    quality = [{"arm": arm, "seed": seed, "gen_iter": g, "emd": 1.0, "fcd": fcd.get(g, 10.0)}
               for g in range(first_eval, GEN_ITERS + 1)]
    return cosine, quality


def adam_tables(*arms):
    cosine = [r for c, _ in arms for r in c]
    quality = [r for _, q in arms for r in q]
    return (pd.DataFrame(cosine, columns=list(results.PROBE_ADAM_COLUMNS)),
            pd.DataFrame(quality, columns=list(results.PROBE_ADAM_QUALITY_COLUMNS)))


def seeds_tables(adam: dict | None = None, rmsprop: dict | None = None, seeds=SEEDS, **by_seed):
    """Both arms for every seed: each arm's adam_arm keywords, the same for every seed unless
    by_seed = {"adam_s<seed>": {...}, "rmsprop_s<seed>": {...}} replaces one seed's."""
    return adam_tables(*[adam_arm(arm, seed=seed, **by_seed.get(f"{arm}_s{seed}", kwargs or {}))
                         for seed in seeds for arm, kwargs in (("adam", adam),
                                                               ("rmsprop", rmsprop))])


WORSE = {4: 20.0, 8: 30.0}  # the evaluations after the blow-ups at generator iterations 4 and 8
TWO_BLOW_UPS = {"blow_ups": ((4, 2), (8, 2)), "fcd": WORSE}
ONE_BLOW_UP = {"blow_ups": ((4, 2),), "fcd": {4: 20.0}}
HALF = {**TWO_BLOW_UPS, "negatives": ((4, 2 + RADIUS),)}  # 1 of 2 blow-ups, at the window's edge
THIRD = {"blow_ups": ((4, 2), (8, 2), (9, 2)), "fcd": {**WORSE, 9: 40.0}, "negatives": ((4, 2),)}
ADAM_RULES = (adam_claims.rule_p2_adam_negative, adam_claims.rule_p2_adam_only,
              adam_claims.rule_p2_adam_unstable)


def test_adam_helper_has_the_declared_columns_and_counts_blow_ups_per_seed():
    cosine, quality = seeds_tables(TWO_BLOW_UPS, adam_s1=ONE_BLOW_UP)
    assert tuple(cosine.columns) == results.PROBE_ADAM_COLUMNS
    assert tuple(quality.columns) == results.PROBE_ADAM_QUALITY_COLUMNS
    per_seed = stats.adam_seed_stats(cosine, quality, RADIUS, **NO_WARMUP.warmup_settings())
    assert {s: c["blow_ups"] for s, c in per_seed["adam"].items()} == {0: 2, 1: 1, 2: 2}
    assert all(c["blow_ups"] == 0 for c in per_seed["rmsprop"].values())
    assert per_seed["adam"][0]["updates_outside"] == GEN_ITERS * STEPS
    pooled = stats.adam_stats(cosine, quality, RADIUS, **NO_WARMUP.warmup_settings())
    assert pooled["adam"]["blow_ups"] == 5 and pooled["rmsprop"]["blow_ups"] == 0
    assert pooled["adam"]["updates_outside"] == len(SEEDS) * GEN_ITERS * STEPS
    assert pooled["adam"]["lr"] == {LR}


# ==== p2_s42_negative_cosine_at_blow_ups ===========================================================
def test_rule_p2_adam_negative_at_and_past_its_threshold_on_every_seed():
    assert 1 / 2 >= adam_claims.NEGATIVE_AT_BLOW_UPS_MIN > 1 / 3
    outcome, measured, values = adam_claims.rule_p2_adam_negative(*seeds_tables(HALF), NO_WARMUP)
    assert outcome.verdict == REPRODUCED and {v.seed for v in values} == set(SEEDS)
    assert measured.startswith(f"{adam_claims.BLOW_UPS_PART}: {adam_claims.WITH_NEGATIVE} 0.5 "
                               "(seeds 0, 1, 2: 0.5, 0.5, 0.5); adam (seeds 0, 1, 2): counted "
                               "blow-ups (followed by worse samples) 2, 2, 2 of 2, 2, 2")
    outcome, _, _ = adam_claims.rule_p2_adam_negative(*seeds_tables(THIRD), NO_WARMUP)
    assert outcome.verdict == NOT_REPRODUCED
    assert outcome.reason == (f"{adam_claims.BLOW_UPS_PART}: {adam_claims.WITH_NEGATIVE} seeds 0, "
                              f"1, 2: 0.333, 0.333, 0.333 (needs >= "
                              f"{adam_claims.NEGATIVE_AT_BLOW_UPS_MIN:g}); 0 of 3 seeds pass")
    # (4, 2 + RADIUS + 1) is the first update of iteration 5: just outside the window
    outside = seeds_tables({**TWO_BLOW_UPS, "negatives": ((5, 0),)})
    assert _verdict(adam_claims.rule_p2_adam_negative(*outside, NO_WARMUP)) == NOT_REPRODUCED


def test_rule_p2_adam_negative_split_and_too_few_seeds():
    outcome, _, _ = adam_claims.rule_p2_adam_negative(*seeds_tables(HALF, adam_s2=THIRD),
                                                      NO_WARMUP)
    assert outcome.verdict == INCONCLUSIVE
    assert outcome.reason.startswith("2 of 3 seeds pass every part; Adam blow-ups: ")
    assert outcome.reason.endswith("0.5, 0.5, 0.333 (needs >= 0.5); 2 of 3 seeds pass")
    outcome, _, _ = adam_claims.rule_p2_adam_negative(*seeds_tables(HALF, seeds=SEEDS[:2]),
                                                      NO_WARMUP)
    assert outcome.verdict == INCONCLUSIVE
    assert f"2 seeds (needs >= {MIN_SEEDS})" in outcome.reason


def test_a_seed_without_a_counted_adam_blow_up_is_not_judged():
    tables = seeds_tables(HALF, adam_s1={})
    outcome, _, values = adam_claims.rule_p2_adam_negative(*tables, NO_WARMUP)
    assert outcome.verdict == INCONCLUSIVE
    assert [v.passes for v in values] == [True, None, True]
    assert values[1].note == adam_claims.NO_ADAM_BLOW_UP
    assert f"not judged where {adam_claims.NO_ADAM_BLOW_UP}" in outcome.reason
    assert "2 of 3 seeds pass every part" in outcome.reason


def test_adam_blow_up_in_the_warm_up_is_not_counted():
    blow_up = {"blow_ups": ((6, 2),), "fcd": {6: 20.0}, "negatives": ((6, 2),)}
    counted = seeds_tables(blow_up)
    assert _verdict(adam_claims.rule_p2_adam_negative(*counted, NO_WARMUP)) == REPRODUCED
    warm_up = seeds_tables({**blow_up, "steps": WARM_STEPS}, {"steps": WARM_STEPS})
    for rule in ADAM_RULES:
        outcome, _, values = rule(*warm_up, WARMUP)
        expected = (adam_claims.NEITHER if rule is adam_claims.rule_p2_adam_unstable
                    else adam_claims.NO_ADAM_BLOW_UP)
        assert outcome.verdict == INCONCLUSIVE and all(v.passes is None for v in values)
        assert {v.note for v in values} == {expected}


@pytest.mark.parametrize("next_fcd", [10.0, 5.0])  # as good as before, better
def test_adam_blow_up_whose_next_evaluation_is_not_worse_is_not_counted(next_fcd):
    tables = seeds_tables({"blow_ups": ((4, 2),), "fcd": {4: next_fcd}, "negatives": ((4, 2),)})
    for rule in ADAM_RULES:
        outcome, _, values = rule(*tables, NO_WARMUP)
        expected = (adam_claims.NEITHER if rule is adam_claims.rule_p2_adam_unstable
                    else adam_claims.NO_ADAM_BLOW_UP)
        assert outcome.verdict == INCONCLUSIVE and {v.note for v in values} == {expected}


def test_adam_blow_up_before_the_first_evaluation_is_undetermined():
    tables = seeds_tables({"blow_ups": ((4, 2),), "fcd": {5: 20.0}, "first_eval": 5})
    outcome, measured, _ = adam_claims.rule_p2_adam_negative(*tables, NO_WARMUP)
    assert outcome.verdict == INCONCLUSIVE and "(1, 1, 1 before the first evaluation)" in measured


# ==== p2_s42_negative_cosine_only_at_blow_ups ======================================================
INSIDE = ((4, 1), (4, 2), (4, 3), (8, 2))
FAR = ((2, 0), (10, 4))


def test_rule_p2_adam_only_share_of_negatives_inside_windows_per_seed():
    assert 4 / 5 >= adam_claims.NEGATIVE_INSIDE_MIN > 4 / 6
    at = {**TWO_BLOW_UPS, "negatives": INSIDE + FAR[:1]}
    past = {**TWO_BLOW_UPS, "negatives": INSIDE + FAR}
    outcome, measured, _ = adam_claims.rule_p2_adam_only(*seeds_tables(at), NO_WARMUP)
    assert outcome.verdict == REPRODUCED and "(seeds 0, 1, 2: 0.8, 0.8, 0.8)" in measured
    outcome, _, _ = adam_claims.rule_p2_adam_only(*seeds_tables(past), NO_WARMUP)
    assert outcome.verdict == NOT_REPRODUCED
    assert outcome.reason == (f"{adam_claims.NEGATIVES_PART}: {adam_claims.INSIDE} seeds 0, 1, 2: "
                              f"0.667, 0.667, 0.667 (needs >= {adam_claims.NEGATIVE_INSIDE_MIN:g})"
                              "; 0 of 3 seeds pass")
    outcome, _, _ = adam_claims.rule_p2_adam_only(*seeds_tables(at, adam_s0=past), NO_WARMUP)
    assert outcome.verdict == INCONCLUSIVE and outcome.reason.startswith("2 of 3 seeds pass")
    outcome, _, _ = adam_claims.rule_p2_adam_only(*seeds_tables(at, seeds=(0,)), NO_WARMUP)
    assert outcome.verdict == INCONCLUSIVE and f"1 seed (needs >= {MIN_SEEDS})" in outcome.reason
    # negatives in the warm-up are not counted at all
    warm = tuple((6, k) for k in range(WARMUP_STEPS))
    with_warm_up = seeds_tables({**at, "negatives": INSIDE + FAR[:1] + warm, "steps": WARM_STEPS},
                                {"steps": WARM_STEPS})
    assert _verdict(adam_claims.rule_p2_adam_only(*with_warm_up, WARMUP)) == REPRODUCED


def test_rule_p2_adam_only_a_seed_without_negatives_or_blow_ups_is_not_judged():
    tables = seeds_tables({**TWO_BLOW_UPS, "negatives": INSIDE}, adam_s1=TWO_BLOW_UPS,
                          adam_s2={"negatives": FAR})
    outcome, _, values = adam_claims.rule_p2_adam_only(*tables, NO_WARMUP)
    assert outcome.verdict == INCONCLUSIVE
    assert [(v.passes, v.note) for v in values] == [
        (True, ""), (None, adam_claims.NO_NEGATIVE), (None, adam_claims.NO_ADAM_BLOW_UP)]


# ==== p2_s42_adam_blows_up_more ====================================================================
def test_rule_p2_adam_unstable_per_seed_pair():
    outcome, measured, values = adam_claims.rule_p2_adam_unstable(
        *seeds_tables(TWO_BLOW_UPS, ONE_BLOW_UP), NO_WARMUP)
    assert outcome.verdict == REPRODUCED
    updates = GEN_ITERS * STEPS
    difference = adam_claims.RATE_PER_UPDATES * (2 - 1) / updates
    assert [v.value for v in values] == [pytest.approx(difference)] * len(SEEDS)
    assert measured.startswith(f"{adam_claims.ARMS_PART}: {adam_claims.MORE} {difference:.3g}")
    as_often = seeds_tables(TWO_BLOW_UPS, TWO_BLOW_UPS)
    outcome, _, _ = adam_claims.rule_p2_adam_unstable(*as_often, NO_WARMUP)
    assert outcome.verdict == NOT_REPRODUCED
    assert f"(needs > {adam_claims.MORE_MIN:g}); 0 of 3 seeds pass" in outcome.reason
    split = seeds_tables(TWO_BLOW_UPS, ONE_BLOW_UP, rmsprop_s2=TWO_BLOW_UPS)
    outcome, _, _ = adam_claims.rule_p2_adam_unstable(*split, NO_WARMUP)
    assert outcome.verdict == INCONCLUSIVE and outcome.reason.startswith("2 of 3 seeds pass")
    few = seeds_tables(TWO_BLOW_UPS, ONE_BLOW_UP, seeds=SEEDS[:2])
    outcome, _, _ = adam_claims.rule_p2_adam_unstable(*few, NO_WARMUP)
    assert outcome.verdict == INCONCLUSIVE and f"(needs >= {MIN_SEEDS})" in outcome.reason


def test_fewer_adam_than_rmsprop_blow_ups_is_not_reproduced():
    # RMSProp blows up, Adam does not: the claim is contradicted, not untestable
    tables = seeds_tables({}, TWO_BLOW_UPS)
    assert _verdict(adam_claims.rule_p2_adam_unstable(*tables, NO_WARMUP)) == NOT_REPRODUCED
    assert _verdict(adam_claims.rule_p2_adam_negative(*tables, NO_WARMUP)) == INCONCLUSIVE


def test_rule_p2_adam_unstable_seeds_not_judged():
    neither = seeds_tables(TWO_BLOW_UPS, adam_s1={})
    outcome, _, values = adam_claims.rule_p2_adam_unstable(*neither, NO_WARMUP)
    assert outcome.verdict == INCONCLUSIVE and values[1].note == adam_claims.NEITHER
    other_lr = seeds_tables(TWO_BLOW_UPS, {"lr": 10 * LR})
    outcome, _, values = adam_claims.rule_p2_adam_unstable(*other_lr, NO_WARMUP)
    assert outcome.verdict == INCONCLUSIVE and all(v.passes is None for v in values)
    assert "not judged where the arms' learning rates differ (have 0.0001, 0.001)" in outcome.reason
    one_arm = adam_tables(*[adam_arm("adam", seed=s, **TWO_BLOW_UPS) for s in SEEDS],
                          *[adam_arm("rmsprop", seed=s) for s in SEEDS[:2]])
    outcome, _, values = adam_claims.rule_p2_adam_unstable(*one_arm, NO_WARMUP)
    assert outcome.verdict == INCONCLUSIVE and values[2].note == "no data"


def test_adam_rules_without_their_inputs():
    tables = seeds_tables(TWO_BLOW_UPS)
    only_adam = adam_tables(adam_arm("adam", **TWO_BLOW_UPS))
    for rule in ADAM_RULES:
        assert rule(*tables, None)[0].reason == (
            "needs probe_adam/config.yaml (probe.blow_up_radius, objective.warmup*)")
        assert rule(*only_adam, NO_WARMUP)[0].reason == "needs both arms, adam and rmsprop"
        assert rule(tables[0], None, NO_WARMUP)[0].reason.startswith(
            "needs probe_adam/adam_quality.csv")
        assert rule(None, tables[1], NO_WARMUP)[0].reason == "needs probe_adam/adam_cosine.csv"
        assert rule(None, None, NO_WARMUP)[2] == []


def test_adam_rule_texts_are_per_seed_and_end_with_the_seed_rule():
    for claim, part in ((adam_claims.P2_ADAM_NEGATIVE, adam_claims.BLOW_UPS_PART),
                        (adam_claims.P2_ADAM_ONLY, adam_claims.NEGATIVES_PART),
                        (adam_claims.P2_ADAM_UNSTABLE, adam_claims.ARMS_PART)):
        assert claim.rule.startswith(adam_claims.BLOW_UP_RULE + "Rule: per seed, ")
        assert f"(part: {part};" in claim.rule and claim.rule.endswith(SEED_RULE)
    assert f"> {adam_claims.MORE_MIN:g}, both arms" in adam_claims.P2_ADAM_UNSTABLE.rule


# ==== the warm-up and the window come from the run's config ========================================
REFERENCE_WARMUP = {"warmup": True, "warmup_critic_iters": 100, "warmup_gen_iters": 25,
                    "warmup_every": 500}  # conf/objective/wgan_clip.yaml, the reference code's


def test_is_warmup_iteration_is_the_training_loops_warm_up():
    from wgan_repro.objectives import Objective, wgan_critic_loss, wgan_generator_loss

    objective = Objective(critic_loss=wgan_critic_loss, generator_loss=wgan_generator_loss,
                          is_wasserstein=True, clip=0.01, n_critic=5, **REFERENCE_WARMUP)
    warm = {g for g in range(1201) if is_warmup_iteration(g, **REFERENCE_WARMUP)}
    assert warm == set(range(25)) | {500, 1000}  # the first 25 and every 500th, 0-based
    for gen_iter in range(1201):
        assert objective.critic_iters(gen_iter) == (100 if gen_iter in warm else 5), gen_iter
    assert not any(is_warmup_iteration(g, **{**REFERENCE_WARMUP, "warmup": False})
                   for g in range(1201))
    assert not any(is_warmup_iteration(g, **{**REFERENCE_WARMUP, "warmup_critic_iters": 0})
                   for g in range(1201))
    every_off = {g for g in range(1201)
                 if is_warmup_iteration(g, **{**REFERENCE_WARMUP, "warmup_every": 0})}
    assert every_off == set(range(25))


def test_the_test_tables_warm_up_is_the_one_the_settings_mark():
    marked = {g for g in range(1, GEN_ITERS + 1)  # the CSV's gen_iter is 1-based
              if is_warmup_iteration(g - 1, **WARMUP.warmup_settings())}
    assert marked == set(WARM_STEPS)
    assert not any(is_warmup_iteration(g - 1, **NO_WARMUP.warmup_settings())
                   for g in range(1, GEN_ITERS + 1))


def test_adam_warm_up_comes_from_the_config_not_from_the_tables():
    blow_up = {"blow_ups": ((6, 2),), "fcd": {6: 20.0}, "negatives": ((6, 2),)}
    # iteration 6 ran the warm-up loop, but the config says there was no warm-up: counted
    looks_warm = seeds_tables({**blow_up, "steps": WARM_STEPS}, {"steps": WARM_STEPS})
    assert _verdict(adam_claims.rule_p2_adam_negative(*looks_warm, NO_WARMUP)) == REPRODUCED
    # every iteration ran n_critic updates, but the config marks iteration 6 warm-up: excluded
    looks_plain = seeds_tables(blow_up)
    outcome, measured, values = adam_claims.rule_p2_adam_negative(*looks_plain, WARMUP)
    assert outcome.verdict == INCONCLUSIVE
    assert {v.note for v in values} == {adam_claims.NO_ADAM_BLOW_UP}
    outside = (GEN_ITERS - len(WARM_STEPS)) * STEPS
    assert f"in {outside}, {outside}, {outside} updates" in measured


def _config(radius=RADIUS, **objective) -> dict:
    return {"probe": {"blow_up_radius": radius, "blow_up_threshold": 10.0, "jump_window": 50},
            "objective": {"n_critic": STEPS, **NO_WARMUP.warmup_settings(), **objective}}


def _write_probe(results_dir, tables, config: dict | None):
    folder = results_dir / "probe_adam"
    results.write_csv(folder / "adam_cosine.csv", tables[0].to_dict("records"),
                      results.PROBE_ADAM_COLUMNS)
    results.write_csv(folder / "adam_quality.csv", tables[1].to_dict("records"),
                      results.PROBE_ADAM_QUALITY_COLUMNS)
    if config is not None:
        (folder / "config.yaml").write_text(yaml.safe_dump(config))


def test_settings_from_config_reads_every_key_or_none():
    assert adam_claims.settings_from_config(_config(warmup=True)) == WARMUP
    assert adam_claims.settings_from_config(_config()) == NO_WARMUP
    assert adam_claims.settings_from_config({}) is None
    for key in ("warmup", "warmup_critic_iters", "warmup_gen_iters", "warmup_every"):
        config = _config()
        del config["objective"][key]
        assert adam_claims.settings_from_config(config) is None, key
    assert adam_claims.settings_from_config(_config(radius=None)) is None


@pytest.mark.parametrize("warmup, verdict", [(False, REPRODUCED), (True, INCONCLUSIVE)])
def test_judge_reads_the_warm_up_from_config_yaml(tmp_path, warmup, verdict):
    blow_up = {"blow_ups": ((6, 2),), "fcd": {6: 20.0}, "negatives": ((6, 2),)}
    tables = seeds_tables({**blow_up, "steps": WARM_STEPS}, {"steps": WARM_STEPS})
    _write_probe(tmp_path, tables, _config(warmup=warmup))
    negative, only, unstable = adam_claims.judge(tmp_path)
    assert negative.claim_id == adam_claims.P2_ADAM_NEGATIVE.claim_id
    assert negative.verdict == verdict
    assert negative.source == "probe_adam/adam_cosine.csv"
    assert {(v.part, v.seed) for v in negative.seed_values} == {
        (adam_claims.BLOW_UPS_PART, s) for s in SEEDS}


@pytest.mark.parametrize("config", [None, _config(radius=None), {"probe": {"blow_up_radius": 2}}])
def test_judge_without_the_config_is_inconclusive(tmp_path, config):
    tables = seeds_tables(TWO_BLOW_UPS)
    _write_probe(tmp_path, tables, config)
    for claim in adam_claims.judge(tmp_path):
        assert claim.verdict == INCONCLUSIVE
        assert claim.reason == adam_claims.NEEDS_CONFIG == (
            "needs probe_adam/config.yaml (probe.blow_up_radius, objective.warmup*)")
