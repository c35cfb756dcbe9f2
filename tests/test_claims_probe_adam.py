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
from wgan_repro.verdicts import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED


def _verdict(result) -> str:
    outcome, measured = result
    assert isinstance(measured, str)
    return outcome.verdict


STEPS, WARMUP_STEPS, RADIUS, LR = 5, 20, 2, 1e-4
GEN_ITERS = 10
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


WORSE = {4: 20.0, 8: 30.0}  # the evaluations after the blow-ups at generator iterations 4 and 8
TWO_BLOW_UPS = {"blow_ups": ((4, 2), (8, 2)), "fcd": WORSE}
ADAM_RULES = (adam_claims.rule_p2_adam_negative, adam_claims.rule_p2_adam_only,
              adam_claims.rule_p2_adam_unstable)


def test_adam_helper_has_the_declared_columns_and_counts_blow_ups():
    cosine, quality = adam_tables(adam_arm("adam", **TWO_BLOW_UPS), adam_arm("rmsprop"))
    assert tuple(cosine.columns) == results.PROBE_ADAM_COLUMNS
    assert tuple(quality.columns) == results.PROBE_ADAM_QUALITY_COLUMNS
    counts = stats.adam_stats(cosine, quality, RADIUS, **NO_WARMUP.warmup_settings())
    assert counts["adam"]["blow_ups"] == 2 and counts["rmsprop"]["blow_ups"] == 0
    assert counts["adam"]["updates_outside"] == GEN_ITERS * STEPS


def test_rule_p2_adam_negative_threshold_and_window():
    assert 1 / 2 >= adam_claims.NEGATIVE_AT_BLOW_UPS_MIN > 1 / 3
    half = adam_tables(adam_arm("adam", **TWO_BLOW_UPS, negatives=((4, 2 + RADIUS),)),
                       adam_arm("rmsprop"))
    outcome, measured = adam_claims.rule_p2_adam_negative(*half, NO_WARMUP)
    assert outcome.verdict == REPRODUCED and "1/2" in measured
    third = adam_tables(adam_arm("adam", blow_ups=((4, 2), (8, 2), (9, 2)), fcd={**WORSE, 9: 40.0},
                                 negatives=((4, 2),)), adam_arm("rmsprop"))
    outcome, measured = adam_claims.rule_p2_adam_negative(*third, NO_WARMUP)
    assert outcome.verdict == NOT_REPRODUCED and "1/3" in measured
    # (4, 2 + RADIUS + 1) is the first update of iteration 5: just outside the window
    outside = adam_tables(adam_arm("adam", **TWO_BLOW_UPS, negatives=((5, 0),)), adam_arm("rmsprop"))
    assert _verdict(adam_claims.rule_p2_adam_negative(*outside, NO_WARMUP)) == NOT_REPRODUCED


def test_adam_blow_up_in_the_warm_up_is_not_counted():
    blow_up = {"blow_ups": ((6, 2),), "fcd": {6: 20.0}, "negatives": ((6, 2),)}
    counted = adam_tables(adam_arm("adam", **blow_up), adam_arm("rmsprop"))
    assert _verdict(adam_claims.rule_p2_adam_negative(*counted, NO_WARMUP)) == REPRODUCED
    warm_up = adam_tables(adam_arm("adam", steps=WARM_STEPS, **blow_up),
                          adam_arm("rmsprop", steps=WARM_STEPS))
    for rule in ADAM_RULES:
        outcome, _ = rule(*warm_up, WARMUP)
        expected = ("no counted blow-up in either arm" if rule is adam_claims.rule_p2_adam_unstable
                    else "no counted Adam blow-up")
        assert outcome.verdict == INCONCLUSIVE and outcome.reason.startswith(expected)


@pytest.mark.parametrize("next_fcd", [10.0, 5.0])  # as good as before, better
def test_adam_blow_up_whose_next_evaluation_is_not_worse_is_not_counted(next_fcd):
    tables = adam_tables(adam_arm("adam", blow_ups=((4, 2),), fcd={4: next_fcd}, negatives=((4, 2),)),
                         adam_arm("rmsprop"))
    for rule in ADAM_RULES:
        outcome, _ = rule(*tables, NO_WARMUP)
        expected = ("no counted blow-up in either arm" if rule is adam_claims.rule_p2_adam_unstable
                    else "no counted Adam blow-up")
        assert outcome.verdict == INCONCLUSIVE and outcome.reason.startswith(expected)


def test_fewer_adam_than_rmsprop_blow_ups_is_not_reproduced():
    # RMSProp blows up, Adam does not: the claim is contradicted, not untestable
    tables = adam_tables(adam_arm("adam"), adam_arm("rmsprop", **TWO_BLOW_UPS))
    assert _verdict(adam_claims.rule_p2_adam_unstable(*tables, NO_WARMUP)) == NOT_REPRODUCED
    assert _verdict(adam_claims.rule_p2_adam_negative(*tables, NO_WARMUP)) == INCONCLUSIVE


def test_adam_blow_up_before_the_first_evaluation_is_undetermined():
    tables = adam_tables(adam_arm("adam", blow_ups=((4, 2),), fcd={5: 20.0}, first_eval=5),
                         adam_arm("rmsprop"))
    outcome, measured = adam_claims.rule_p2_adam_negative(*tables, NO_WARMUP)
    assert outcome.verdict == INCONCLUSIVE and "1 before the first evaluation" in measured


def test_rule_p2_adam_only_share_of_negatives_inside_windows():
    assert 4 / 5 >= adam_claims.NEGATIVE_INSIDE_MIN > 4 / 6
    inside = ((4, 1), (4, 2), (4, 3), (8, 2))
    far = ((2, 0), (10, 4))
    at = adam_tables(adam_arm("adam", **TWO_BLOW_UPS, negatives=inside + far[:1]), adam_arm("rmsprop"))
    outcome, measured = adam_claims.rule_p2_adam_only(*at, NO_WARMUP)
    assert outcome.verdict == REPRODUCED and "4/5" in measured
    past = adam_tables(adam_arm("adam", **TWO_BLOW_UPS, negatives=inside + far), adam_arm("rmsprop"))
    outcome, measured = adam_claims.rule_p2_adam_only(*past, NO_WARMUP)
    assert outcome.verdict == NOT_REPRODUCED and "4/6" in measured
    # negatives in the warm-up are not counted at all
    warm = tuple((6, k) for k in range(WARMUP_STEPS))
    with_warm_up = adam_tables(adam_arm("adam", steps=WARM_STEPS, **TWO_BLOW_UPS,
                                        negatives=inside + far[:1] + warm), adam_arm("rmsprop"))
    assert _verdict(adam_claims.rule_p2_adam_only(*with_warm_up, WARMUP)) == REPRODUCED
    none = adam_tables(adam_arm("adam", **TWO_BLOW_UPS), adam_arm("rmsprop"))
    outcome, _ = adam_claims.rule_p2_adam_only(*none, NO_WARMUP)
    assert outcome.verdict == INCONCLUSIVE and outcome.reason.startswith("no negative Adam cosine")


def test_rule_p2_adam_unstable():
    more = adam_tables(adam_arm("adam", **TWO_BLOW_UPS), adam_arm("rmsprop", blow_ups=((4, 2),),
                                                                   fcd={4: 20.0}))
    outcome, measured = adam_claims.rule_p2_adam_unstable(*more, NO_WARMUP)
    assert outcome.verdict == REPRODUCED
    updates = GEN_ITERS * STEPS
    assert f"Adam {1000 * 2 / updates:.2f}, RMSProp {1000 / updates:.2f}" in measured
    as_often = adam_tables(adam_arm("adam", **TWO_BLOW_UPS), adam_arm("rmsprop", **TWO_BLOW_UPS))
    assert _verdict(adam_claims.rule_p2_adam_unstable(*as_often, NO_WARMUP)) == NOT_REPRODUCED
    other_lr = adam_tables(adam_arm("adam", **TWO_BLOW_UPS), adam_arm("rmsprop", lr=10 * LR))
    outcome, _ = adam_claims.rule_p2_adam_unstable(*other_lr, NO_WARMUP)
    assert outcome.verdict == INCONCLUSIVE
    assert outcome.reason.startswith("precondition not met: both arms at the same learning rate")


def test_adam_rules_without_their_inputs():
    tables = adam_tables(adam_arm("adam", **TWO_BLOW_UPS), adam_arm("rmsprop"))
    only_adam = adam_tables(adam_arm("adam", **TWO_BLOW_UPS))
    for rule in ADAM_RULES:
        assert rule(*tables, None)[0].reason == (
            "needs probe_adam/config.yaml (probe.blow_up_radius, objective.warmup*)")
        assert rule(*only_adam, NO_WARMUP)[0].reason == "needs both arms, adam and rmsprop"
        assert rule(tables[0], None, NO_WARMUP)[0].reason.startswith(
            "needs probe_adam/adam_quality.csv")
        assert rule(None, tables[1], NO_WARMUP)[0].reason == "needs probe_adam/adam_cosine.csv"




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
    looks_warm = adam_tables(adam_arm("adam", steps=WARM_STEPS, **blow_up),
                             adam_arm("rmsprop", steps=WARM_STEPS))
    assert _verdict(adam_claims.rule_p2_adam_negative(*looks_warm, NO_WARMUP)) == REPRODUCED
    # every iteration ran n_critic updates, but the config marks iteration 6 warm-up: excluded
    looks_plain = adam_tables(adam_arm("adam", **blow_up), adam_arm("rmsprop"))
    outcome, measured = adam_claims.rule_p2_adam_negative(*looks_plain, WARMUP)
    assert outcome.verdict == INCONCLUSIVE and outcome.reason.startswith("no counted Adam blow-up")
    assert f"in {(GEN_ITERS - len(WARM_STEPS)) * STEPS} updates" in measured


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
    tables = adam_tables(adam_arm("adam", steps=WARM_STEPS, **blow_up),
                         adam_arm("rmsprop", steps=WARM_STEPS))
    _write_probe(tmp_path, tables, _config(warmup=warmup))
    negative, only, unstable = adam_claims.judge(tmp_path)
    assert negative.claim_id == adam_claims.P2_ADAM_NEGATIVE.claim_id
    assert negative.verdict == verdict
    assert negative.source == "probe_adam/adam_cosine.csv"


@pytest.mark.parametrize("config", [None, _config(radius=None), {"probe": {"blow_up_radius": 2}}])
def test_judge_without_the_config_is_inconclusive(tmp_path, config):
    tables = adam_tables(adam_arm("adam", **TWO_BLOW_UPS), adam_arm("rmsprop"))
    _write_probe(tmp_path, tables, config)
    for claim in adam_claims.judge(tmp_path):
        assert claim.verdict == INCONCLUSIVE
        assert claim.reason == adam_claims.NEEDS_CONFIG == (
            "needs probe_adam/config.yaml (probe.blow_up_radius, objective.warmup*)")
