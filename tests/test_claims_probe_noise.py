"""wgan_repro.claims.probe_noise: P1 section 3 (probe noise)'s rule, each sigma judged on every
seed, at and just past its thresholds on small hand-built tables (3 seeds unless a test says
otherwise); thresholds come from the module's named constants, never literal numbers."""

from __future__ import annotations

import pandas as pd
from test_claims_fig2 import fig2_frame, orders, two_seeds

from wgan_repro import results
from wgan_repro.claims import probe_noise as noise_claims
from wgan_repro.verdicts import INCONCLUSIVE, MIN_SEEDS, NOT_REPRODUCED, REPRODUCED, SEED_RULE


def _verdict(result) -> str:
    outcome, measured, _ = result
    assert isinstance(measured, str)
    return outcome.verdict


# ==== P1 section 3: probe noise ====================================================================
def noise_frame(overrides: dict | None = None, **arms):
    """instance_noise.csv: {arm: (grad_norm_original (start, end), instance_noise_std (start,
    end))}; ``overrides``: {(arm, epoch, seed): grad_norm_original (start, end)}."""
    overrides = overrides or {}
    parts = []
    for arm, (norm, sigma) in arms.items():
        one = {key[1:]: {"grad_norm_original": v} for key, v in overrides.items() if key[0] == arm}
        part = fig2_frame(grad_norm_original=norm, instance_noise_std=sigma, overrides=one)
        part.insert(0, "arm", arm)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)[list(results.PROBE_NOISE_COLUMNS)]


CONTROL = (orders(noise_claims.CONTROL_MIN_DECAY_ORDERS), (0.0, 0.0))
KEPT = (orders(noise_claims.NOISE_MAX_DECAY_ORDERS, 0.99), (0.1, 0.1))  # decays just under the limit
LOST = (orders(noise_claims.NOISE_MAX_DECAY_ORDERS), (0.3, 0.3))  # decays exactly the limit: fails (<)
WEAK = orders(noise_claims.CONTROL_MIN_DECAY_ORDERS, 0.99)  # a control that does not vanish


def test_rule_text_states_the_per_seed_test():
    rule = noise_claims.P1_NOISE.rule
    assert "per seed" in rule and "seed median" not in rule and rule.endswith(SEED_RULE)


def test_rule_p1_noise_every_seed_kept_is_reproduced():
    outcome, measured, values = noise_claims.rule_p1_noise(
        noise_frame(without_noise=CONTROL, sigma_a=KEPT))
    assert outcome.verdict == REPRODUCED
    assert "sigma 0.1, epoch 1: orders decayed from d_iter 0" in measured
    assert "without noise, epoch 10: orders decayed from d_iter 0 1 (seeds 0, 1, 2:" in measured
    assert [(v.part, v.seed) for v in values] == [
        (f"sigma 0.1, epoch {e}", s) for e in (1, 10) for s in (0, 1, 2)]  # no control rows
    assert {v.threshold for v in values} == {f"< {noise_claims.NOISE_MAX_DECAY_ORDERS:g}"}


def test_rule_p1_noise_exactly_at_the_limit_is_not_reproduced():
    outcome, _, _ = noise_claims.rule_p1_noise(noise_frame(without_noise=CONTROL, sigma_b=LOST))
    assert outcome.verdict == NOT_REPRODUCED
    limit = f"{noise_claims.NOISE_MAX_DECAY_ORDERS:g}"
    assert outcome.reason.startswith(
        f"sigma 0.3: sigma 0.3, epoch 1: orders decayed from d_iter 0 seeds 0, 1, 2: 1, 1, 1 "
        f"(needs < {limit}); 0 of 3 seeds pass; sigma 0.3, epoch 10: ")


def test_rule_p1_noise_one_sigma_is_enough():
    frame = noise_frame(without_noise=CONTROL, sigma_a=KEPT, sigma_b=LOST)
    outcome, _, values = noise_claims.rule_p1_noise(frame)
    assert outcome.verdict == REPRODUCED
    assert {v.part.split(",")[0] for v in values} == {"sigma 0.1", "sigma 0.3"}  # both reported
    frame = noise_frame(without_noise=CONTROL, sigma_a=(LOST[0], (0.1, 0.1)), sigma_b=LOST)
    outcome, _, _ = noise_claims.rule_p1_noise(frame)
    assert outcome.verdict == NOT_REPRODUCED
    assert "sigma 0.1: " in outcome.reason and "sigma 0.3: " in outcome.reason


def test_rule_p1_noise_a_split_is_inconclusive():
    one_seed_lost = {("sigma_a", 10, 1): LOST[0]}
    frame = noise_frame(one_seed_lost, without_noise=CONTROL, sigma_a=KEPT)
    outcome, _, _ = noise_claims.rule_p1_noise(frame)
    assert outcome.verdict == INCONCLUSIVE
    assert outcome.reason.startswith("sigma 0.1: 2 of 3 seeds pass every part; sigma 0.1, epoch "
                                     "10: orders decayed from d_iter 0 seeds 0, 1, 2: 0.996, 1, ")
    frame = noise_frame(one_seed_lost, without_noise=CONTROL, sigma_a=KEPT, sigma_b=LOST)
    assert _verdict(noise_claims.rule_p1_noise(frame)) == INCONCLUSIVE  # sigma 0.1 might hold


def test_rule_p1_noise_two_seeds_decide_nothing():
    outcome, _, _ = noise_claims.rule_p1_noise(
        two_seeds(noise_frame(without_noise=CONTROL, sigma_a=KEPT)))
    assert outcome.verdict == INCONCLUSIVE and f"2 seeds (needs >= {MIN_SEEDS})" in outcome.reason


def test_rule_p1_noise_needs_a_fixed_sigma():
    annealed = (KEPT[0], (1.0, 0.5))
    outcome, measured, values = noise_claims.rule_p1_noise(
        noise_frame(without_noise=CONTROL, with_noise=annealed))
    assert outcome.verdict == INCONCLUSIVE and "fixed sigma" in outcome.reason
    assert "with_noise (annealed), epoch 1: orders decayed" in measured and values == []
    zero = (KEPT[0], (0.0, 0.0))
    zero_frame = noise_frame(without_noise=CONTROL, zero=zero)
    assert _verdict(noise_claims.rule_p1_noise(zero_frame)) == INCONCLUSIVE
    both = noise_frame(without_noise=CONTROL, with_noise=annealed, sigma_a=KEPT)
    assert _verdict(noise_claims.rule_p1_noise(both)) == REPRODUCED


def test_rule_p1_noise_a_seed_whose_control_does_not_vanish_is_not_judged():
    one_weak = {("without_noise", 10, 2): WEAK}
    frame = noise_frame(one_weak, without_noise=CONTROL, sigma_a=KEPT)
    outcome, _, values = noise_claims.rule_p1_noise(frame)
    assert outcome.verdict == INCONCLUSIVE
    assert "not judged where the control did not vanish; 2 of 3 seeds pass" in outcome.reason
    assert [v.passes for v in values if v.seed == 2] == [None, None]  # every snapshot of seed 2
    assert all(v.passes for v in values if v.seed != 2)
    # two seeds fail, the third is not judged: not every seed of a part measured, so no
    # "not reproduced" either (the seed rule)
    lost = noise_frame(one_weak, without_noise=CONTROL, sigma_b=LOST)
    outcome, _, _ = noise_claims.rule_p1_noise(lost)
    assert outcome.verdict == INCONCLUSIVE
    assert outcome.reason.startswith("sigma 0.3: 0 of 3 seeds pass every part")


def test_rule_p1_noise_needs_the_control_to_vanish():
    for frame in (noise_frame(without_noise=(WEAK, (0.0, 0.0)), sigma_a=KEPT),
                  noise_frame(sigma_a=KEPT)):
        outcome, _, values = noise_claims.rule_p1_noise(frame)
        assert outcome.verdict == INCONCLUSIVE and "0 of 3 seeds pass every part" in outcome.reason
        assert {v.passes for v in values} == {None}
    weak_reason = noise_claims.rule_p1_noise(noise_frame(without_noise=(WEAK, (0.0, 0.0)),
                                                         sigma_a=KEPT))[0].reason
    assert "not judged where the control did not vanish" in weak_reason
    no_control = noise_claims.rule_p1_noise(noise_frame(sigma_a=KEPT))[0].reason
    assert "not judged where the control was not measured" in no_control
    outcome, _, _ = noise_claims.rule_p1_noise(noise_frame(without_noise=CONTROL))
    assert outcome.verdict == INCONCLUSIVE and outcome.reason == "no arm with noise"
    assert noise_claims.rule_p1_noise(None)[0].reason == "needs probe_noise/instance_noise.csv"
