"""wgan_repro.claims.toy: P2 Figures 1-2 (toy)'s rules at and just past their thresholds on small
hand-built tables; thresholds come from the module's named constants, never literal numbers."""

from __future__ import annotations

import pytest

from wgan_repro.claims import toy as toy_claims
from wgan_repro.verdicts import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED


def _verdict(result) -> str:
    outcome, measured = result
    assert isinstance(measured, str)
    return outcome.verdict



# ==== P2 Figures 1-2: toy ==========================================================================
TOLERANCE = toy_claims.W_TOLERANCE * toy_claims.THETA_RANGE
TOY_PASS = {"critic_error_max": TOLERANCE, "emd_error_max": TOLERANCE,
            "js_deviation_max": toy_claims.JS_FLAT_TOLERANCE, "js_at_zero": 0.0,
            "discriminator_saturation_ratio": 0.99 * toy_claims.SATURATED_RATIO,
            "critic_linear_r2": toy_claims.LINEAR_R2}


@pytest.mark.parametrize("rule", [toy_claims.rule_p2_fig1_w, toy_claims.rule_p2_fig1_js,
                                  toy_claims.rule_p2_fig2])
def test_toy_rules_pass_at_their_thresholds_and_need_data(rule):
    assert _verdict(rule(TOY_PASS)) == REPRODUCED
    assert _verdict(rule({})) == INCONCLUSIVE


@pytest.mark.parametrize("rule, key, value", [
    (toy_claims.rule_p2_fig1_w, "critic_error_max", 1.01 * TOLERANCE),
    (toy_claims.rule_p2_fig1_w, "emd_error_max", 1.01 * TOLERANCE),
    (toy_claims.rule_p2_fig1_js, "js_deviation_max", 1.01 * toy_claims.JS_FLAT_TOLERANCE),
    (toy_claims.rule_p2_fig2, "discriminator_saturation_ratio", toy_claims.SATURATED_RATIO),  # strict <
    (toy_claims.rule_p2_fig2, "critic_linear_r2", 0.99 * toy_claims.LINEAR_R2),
])
def test_toy_rules_fail_just_past_their_thresholds(rule, key, value):
    outcome, _ = rule({**TOY_PASS, key: value})
    assert outcome.verdict == NOT_REPRODUCED


def test_toy_rule_fails_even_when_its_other_part_has_no_data():
    summary = {"critic_error_max": None, "emd_error_max": 2 * TOLERANCE}
    outcome, measured = toy_claims.rule_p2_fig1_w(summary)
    assert outcome.verdict == NOT_REPRODUCED and "critic n/a" in measured
    assert _verdict(toy_claims.rule_p2_fig1_w({"emd_error_max": TOLERANCE})) == INCONCLUSIVE
