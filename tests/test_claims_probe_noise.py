"""wgan_repro.claims.probe_noise: P1 section 3 (probe noise)'s rules at and just past their
thresholds on small hand-built tables; thresholds come from the module's named constants,
never literal numbers."""

from __future__ import annotations

import pandas as pd
from test_claims_fig2 import fig2_frame, orders

from wgan_repro import results
from wgan_repro.claims import probe_noise as noise_claims
from wgan_repro.verdicts import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED


def _verdict(result) -> str:
    outcome, measured = result
    assert isinstance(measured, str)
    return outcome.verdict



# ==== P1 section 3: probe noise ====================================================================
def noise_frame(**arms):
    """instance_noise.csv: {arm: (grad_norm_original (start, end), instance_noise_std (start, end))}."""
    parts = []
    for arm, (norm, sigma) in arms.items():
        part = fig2_frame(grad_norm_original=norm, instance_noise_std=sigma)
        part.insert(0, "arm", arm)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)[list(results.PROBE_NOISE_COLUMNS)]


CONTROL = (orders(noise_claims.CONTROL_MIN_DECAY_ORDERS), (0.0, 0.0))
KEPT = (orders(noise_claims.NOISE_MAX_DECAY_ORDERS, 0.99), (0.1, 0.1))  # decays just under the limit
LOST = (orders(noise_claims.NOISE_MAX_DECAY_ORDERS), (0.3, 0.3))  # decays exactly the limit: fails (<)


def test_rule_p1_noise_at_the_thresholds():
    outcome, measured = noise_claims.rule_p1_noise(noise_frame(without_noise=CONTROL, sigma_a=KEPT))
    assert outcome.verdict == REPRODUCED and "sigma 0.1:" in measured
    outcome, _ = noise_claims.rule_p1_noise(noise_frame(without_noise=CONTROL, sigma_b=LOST))
    assert outcome.verdict == NOT_REPRODUCED and "sigma 0.3" in outcome.reason


def test_rule_p1_noise_one_sigma_is_enough():
    frame = noise_frame(without_noise=CONTROL, sigma_a=KEPT, sigma_b=LOST)
    assert _verdict(noise_claims.rule_p1_noise(frame)) == REPRODUCED
    frame = noise_frame(without_noise=CONTROL, sigma_a=(LOST[0], (0.1, 0.1)), sigma_b=LOST)
    assert _verdict(noise_claims.rule_p1_noise(frame)) == NOT_REPRODUCED


def test_rule_p1_noise_needs_a_fixed_sigma():
    annealed = (KEPT[0], (1.0, 0.5))
    outcome, measured = noise_claims.rule_p1_noise(noise_frame(without_noise=CONTROL,
                                                               with_noise=annealed))
    assert outcome.verdict == INCONCLUSIVE and "fixed sigma" in outcome.reason
    assert "with_noise (annealed)" in measured
    zero = (KEPT[0], (0.0, 0.0))
    zero_frame = noise_frame(without_noise=CONTROL, zero=zero)
    assert _verdict(noise_claims.rule_p1_noise(zero_frame)) == INCONCLUSIVE
    both = noise_frame(without_noise=CONTROL, with_noise=annealed, sigma_a=KEPT)
    assert _verdict(noise_claims.rule_p1_noise(both)) == REPRODUCED


def test_rule_p1_noise_needs_the_control_to_vanish():
    weak = (orders(noise_claims.CONTROL_MIN_DECAY_ORDERS, 0.99), (0.0, 0.0))
    for frame in (noise_frame(without_noise=weak, sigma_a=KEPT), noise_frame(sigma_a=KEPT)):
        outcome, _ = noise_claims.rule_p1_noise(frame)
        assert outcome.verdict == INCONCLUSIVE and outcome.reason.startswith("precondition not met")
    outcome, _ = noise_claims.rule_p1_noise(noise_frame(without_noise=CONTROL))
    assert outcome.verdict == INCONCLUSIVE and outcome.reason == "no arm with noise"
    assert noise_claims.rule_p1_noise(None)[0].reason == "needs probe_noise/instance_noise.csv"
