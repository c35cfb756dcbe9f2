"""wgan_repro.claims.fig2: P1 Figures 1-3 (fig2)'s rules, judged on every seed, at and just past
their thresholds on small hand-built tables (3 seeds unless a test says otherwise); thresholds
come from the module's named constants, never literal numbers."""

from __future__ import annotations

import pandas as pd
import pytest

from wgan_repro import results
from wgan_repro.claims import fig2 as fig2_claims
from wgan_repro.verdicts import INCONCLUSIVE, MIN_SEEDS, NOT_REPRODUCED, REPRODUCED, seed_verdict


def _verdict(result) -> str:
    outcome, measured, values = result
    assert isinstance(measured, str)
    if values:  # the outcome is the seed rule's, from the values it returns
        assert outcome == seed_verdict(values)
    return outcome.verdict


# ==== P1 Figures 1-3: fig2 =========================================================================
EPOCHS, SEEDS = (1, 10), (0, 1, 2)
# (value at d_iter 0, value at the end of the discriminator's run): a passing snapshot by default
FIG2_DEFAULTS = {"d_loss": (0.7, 0.01), "d_accuracy": (0.5, 1.0), "grad_norm_original": (1.0, 1e-6),
                 "grad_norm_logd": (1.0, 100.0), "grad_var_original": (1.0, 1.0),
                 "grad_var_logd": (1.0, 10.0), "instance_noise_std": (0.0, 0.0)}


def fig2_frame(d_iters: int = fig2_claims.PAPER_D_ITERS, overrides: dict | None = None, **columns):
    """grad_norms.csv: per (epoch, seed) rows at d_iter 0, d_iters // 2 and d_iters. A column is
    (value at d_iter 0, value from the middle on); ``columns`` sets it for every snapshot,
    ``overrides`` for one: {epoch or (epoch, seed): {column: (start, end)}}."""
    overrides = overrides or {}
    rows = []
    for epoch in EPOCHS:
        for seed in SEEDS:
            values = {**FIG2_DEFAULTS, **columns, **overrides.get(epoch, {}),
                      **overrides.get((epoch, seed), {})}
            for d_iter in (0, d_iters // 2, d_iters):
                rows.append({"epoch": epoch, "seed": seed, "d_iter": d_iter,
                             **{c: v[0 if d_iter == 0 else 1] for c, v in values.items()}})
    return pd.DataFrame(rows, columns=list(results.FIG2_COLUMNS))


def orders(n: float, factor: float = 1.0) -> tuple[float, float]:
    """A norm that decays by n orders of magnitude (times ``factor``) from d_iter 0."""
    return (10.0 ** n * factor, 1.0)


def two_seeds(frame):
    """The same table with one seed fewer than the claims need."""
    return frame[frame["seed"] != SEEDS[-1]]


def test_fig2_helper_has_the_declared_columns():
    assert tuple(fig2_frame().columns) == results.FIG2_COLUMNS


def test_every_rule_text_states_the_per_seed_test_and_ends_with_the_seed_rule():
    from wgan_repro.verdicts import SEED_RULE

    for claim in fig2_claims.CLAIMS:
        assert claim.rule.startswith(("per seed", "minibatch", "a copy")), claim.claim_id
        assert "per seed" in claim.rule and claim.rule.endswith(SEED_RULE), claim.claim_id
        assert "seed median" not in claim.rule, claim.claim_id


# ---- P1 Fig. 1 ------------------------------------------------------------------------------------
def test_rule_p1_fig1_every_seed_at_the_threshold_is_reproduced():
    outcome, measured, values = fig2_claims.rule_p1_fig1(
        fig2_frame(d_accuracy=(0.5, fig2_claims.ACCURACY_MIN)))
    assert outcome.verdict == REPRODUCED
    assert [(v.part, v.seed) for v in values] == [(f"epoch {e}", s) for e in EPOCHS for s in SEEDS]
    assert {v.threshold for v in values} == {f">= {fig2_claims.ACCURACY_MIN:g}"}
    assert "epoch 1: seeds 0, 1, 2: never, never, never" in measured  # 0.99 is not 1.0
    _, measured, _ = fig2_claims.rule_p1_fig1(fig2_frame())
    half = fig2_claims.PAPER_D_ITERS // 2
    assert f"accuracy 1.0: epoch 1: seeds 0, 1, 2: {half}, {half}, {half}; " in measured


def test_rule_p1_fig1_one_snapshot_where_no_seed_passes_is_not_reproduced():
    below = fig2_claims.ACCURACY_MIN - 0.01
    outcome, measured, _ = fig2_claims.rule_p1_fig1(
        fig2_frame(overrides={10: {"d_accuracy": (0.5, below)}}))
    assert outcome.verdict == NOT_REPRODUCED
    assert outcome.reason == (f"epoch 10: {fig2_claims.ACCURACY} seeds 0, 1, 2: {below:.3g}, "
                              f"{below:.3g}, {below:.3g} (needs >= {fig2_claims.ACCURACY_MIN:g}); "
                              "0 of 3 seeds pass")
    assert "epoch 10: seeds 0, 1, 2: never, never, never" in measured


def test_rule_p1_fig1_a_split_is_inconclusive_and_the_context_is_per_seed():
    one_bad_seed = fig2_frame(overrides={(1, 0): {"d_accuracy": (0.5, 0.5)}})
    outcome, measured, _ = fig2_claims.rule_p1_fig1(one_bad_seed)
    assert outcome.verdict == INCONCLUSIVE
    assert outcome.reason.startswith("2 of 3 seeds pass every part; epoch 1: ")
    assert "1 of 3 seeds pass" not in outcome.reason and "2 of 3 seeds pass" in outcome.reason
    half = fig2_claims.PAPER_D_ITERS // 2
    assert f"epoch 1: seeds 0, 1, 2: never, {half}, {half}" in measured


def test_rule_p1_fig1_two_seeds_decide_nothing():
    outcome, _, values = fig2_claims.rule_p1_fig1(two_seeds(fig2_frame()))
    assert outcome.verdict == INCONCLUSIVE and f"2 seeds (needs >= {MIN_SEEDS})" in outcome.reason
    assert all(v.passes for v in values)


# ---- P1 Fig. 2 ------------------------------------------------------------------------------------
def _decays(first: tuple, tenth: tuple, per_seed: dict | None = None):
    """grad_norm_original decaying ``first`` at epoch 1 and ``tenth`` at epoch 10."""
    return fig2_frame(overrides={1: {"grad_norm_original": first},
                                 10: {"grad_norm_original": tenth}, **(per_seed or {})})


def test_rule_p1_fig2_every_seed_at_the_thresholds_is_reproduced():
    outcome, measured, values = fig2_claims.rule_p1_fig2(
        _decays(orders(fig2_claims.DECAY_MIN_ORDERS), orders(fig2_claims.BEST_DECAY_ORDERS)))
    assert outcome.verdict == REPRODUCED
    parts = {v.part for v in values}
    assert parts == {"epoch 1", "epoch 10", fig2_claims.BEST_PART} and len(values) == 9
    best = [v for v in values if v.part == fig2_claims.BEST_PART]
    assert [v.value for v in best] == pytest.approx([fig2_claims.BEST_DECAY_ORDERS] * 3)
    assert f"after {fig2_claims.PAPER_D_ITERS} D iterations" in measured


def test_rule_p1_fig2_best_snapshot_just_short_for_every_seed_is_not_reproduced():
    short = orders(fig2_claims.BEST_DECAY_ORDERS, 0.9)
    outcome, _, _ = fig2_claims.rule_p1_fig2(
        _decays(orders(fig2_claims.DECAY_MIN_ORDERS), short))
    assert outcome.verdict == NOT_REPRODUCED
    assert outcome.reason == (f"best snapshot: {fig2_claims.BEST_DECAY} seeds 0, 1, 2: 4.95, 4.95, "
                              f"4.95 (needs >= {fig2_claims.BEST_DECAY_ORDERS:g}); 0 of 3 seeds pass")


def test_rule_p1_fig2_one_slow_snapshot_is_not_reproduced():
    outcome, _, _ = fig2_claims.rule_p1_fig2(
        _decays(orders(fig2_claims.DECAY_MIN_ORDERS, 0.99), orders(fig2_claims.BEST_DECAY_ORDERS)))
    assert outcome.verdict == NOT_REPRODUCED
    assert outcome.reason.startswith(f"epoch 1: {fig2_claims.DECAY} seeds 0, 1, 2: 0.996, ")
    assert f"(needs >= {fig2_claims.DECAY_MIN_ORDERS:g}); 0 of 3 seeds pass" in outcome.reason


def test_rule_p1_fig2_a_split_is_inconclusive():
    one_short = {(10, 0): {"grad_norm_original": orders(fig2_claims.BEST_DECAY_ORDERS, 0.99)}}
    outcome, _, _ = fig2_claims.rule_p1_fig2(_decays(orders(fig2_claims.DECAY_MIN_ORDERS),
                                                     orders(fig2_claims.BEST_DECAY_ORDERS),
                                                     one_short))
    assert outcome.verdict == INCONCLUSIVE
    assert outcome.reason.startswith("2 of 3 seeds pass every part; best snapshot: ")
    assert outcome.reason.endswith("2 of 3 seeds pass")


def test_rule_p1_fig2_shorter_than_the_paper_is_inconclusive_never_a_lower_threshold():
    short = fig2_claims.PAPER_D_ITERS - 1
    every_decays = fig2_frame(short, grad_norm_original=orders(fig2_claims.BEST_DECAY_ORDERS + 1))
    outcome, measured, values = fig2_claims.rule_p1_fig2(every_decays)
    assert outcome.verdict == INCONCLUSIVE
    assert (f"not judged where shorter than the paper's {fig2_claims.PAPER_D_ITERS} D iterations"
            in outcome.reason)
    assert f"after {short} D iterations" in measured
    best = [v for v in values if v.part == fig2_claims.BEST_PART]
    assert [v.passes for v in best] == [None] * 3  # measured, reported, not judged
    one_slow = fig2_frame(short, grad_norm_original=orders(fig2_claims.BEST_DECAY_ORDERS + 1),
                          overrides={10: {"grad_norm_original":
                                          orders(fig2_claims.DECAY_MIN_ORDERS, 0.99)}})
    assert _verdict(fig2_claims.rule_p1_fig2(one_slow)) == NOT_REPRODUCED
    long_enough = fig2_frame(fig2_claims.PAPER_D_ITERS,
                             grad_norm_original=orders(fig2_claims.BEST_DECAY_ORDERS))
    assert _verdict(fig2_claims.rule_p1_fig2(long_enough)) == REPRODUCED


def test_rule_p1_fig2_without_data_and_with_two_seeds():
    outcome, measured, values = fig2_claims.rule_p1_fig2(None)
    assert outcome.reason == "needs fig2/grad_norms.csv" and measured == "" and values == []
    no_start = fig2_frame()
    no_start = no_start[~((no_start["epoch"] == 1) & (no_start["d_iter"] == 0))]
    assert _verdict(fig2_claims.rule_p1_fig2(no_start)) == INCONCLUSIVE
    outcome, _, _ = fig2_claims.rule_p1_fig2(two_seeds(fig2_frame()))
    assert outcome.verdict == INCONCLUSIVE and f"2 seeds (needs >= {MIN_SEEDS})" in outcome.reason


# ---- P1 Fig. 3 ------------------------------------------------------------------------------------
def test_rule_p1_fig3_grow_threshold():
    at = fig2_frame(grad_norm_logd=(1.0, fig2_claims.GROW_MIN_RATIO))
    assert _verdict(fig2_claims.rule_p1_fig3_grow(at)) == REPRODUCED
    just_below = 0.99 * fig2_claims.GROW_MIN_RATIO
    below = fig2_frame(overrides={10: {"grad_norm_logd": (1.0, just_below)}})
    outcome, _, _ = fig2_claims.rule_p1_fig3_grow(below)
    assert outcome.verdict == NOT_REPRODUCED
    assert outcome.reason == (f"epoch 10: {fig2_claims.GROWN} seeds 0, 1, 2: {just_below:.3g}, "
                              f"{just_below:.3g}, {just_below:.3g} (needs >= "
                              f"{fig2_claims.GROW_MIN_RATIO:g}); 0 of 3 seeds pass")
    split = fig2_frame(overrides={(10, 1): {"grad_norm_logd": (1.0, just_below)}})
    outcome, _, _ = fig2_claims.rule_p1_fig3_grow(split)
    assert outcome.verdict == INCONCLUSIVE and outcome.reason.startswith("2 of 3 seeds pass")
    outcome, _, _ = fig2_claims.rule_p1_fig3_grow(two_seeds(at))
    assert outcome.verdict == INCONCLUSIVE and "(needs >= 3)" in outcome.reason


def test_rule_p1_fig3_variance_threshold_and_older_tables():
    at = fig2_frame(grad_var_logd=(1.0, fig2_claims.VARIANCE_MIN_RATIO))
    outcome, measured, _ = fig2_claims.rule_p1_fig3_variance(at)
    assert outcome.verdict == REPRODUCED and "original cost, for contrast" in measured
    below = fig2_frame(grad_var_logd=(1.0, 0.99 * fig2_claims.VARIANCE_MIN_RATIO))
    outcome, _, _ = fig2_claims.rule_p1_fig3_variance(below)
    assert outcome.verdict == NOT_REPRODUCED
    assert f"(needs >= {fig2_claims.VARIANCE_MIN_RATIO:g}); 0 of 3 seeds pass" in outcome.reason
    split = fig2_frame(overrides={(1, 2): {"grad_var_logd": (1.0, 1.0)}})
    outcome, _, _ = fig2_claims.rule_p1_fig3_variance(split)
    assert outcome.verdict == INCONCLUSIVE and outcome.reason.startswith("2 of 3 seeds pass")
    older = fig2_frame().drop(columns=["grad_var_logd", "grad_var_original"])
    outcome, _, _ = fig2_claims.rule_p1_fig3_variance(older)
    assert outcome.verdict == INCONCLUSIVE and outcome.reason.startswith("needs grad_var_logd")
    no_contrast = fig2_frame().drop(columns=["grad_var_original"])
    outcome, measured, _ = fig2_claims.rule_p1_fig3_variance(no_contrast)
    assert outcome.verdict == REPRODUCED and "contrast" not in measured


def update_frame(logd=(10.0, 11.0), original=(10.0, 9.0), steps: int = 5, overrides=None):
    """update_quality.csv: FCD (before, after ``steps`` steps) per cost, every (epoch, seed);
    ``overrides``: {(epoch, seed, cost): (before, after)}; the pixel EMD is FCD / 100."""
    overrides = overrides or {}
    rows = []
    for epoch in EPOCHS:
        for seed in SEEDS:
            for cost, fcds in (("logd", logd), ("original", original)):
                fcds = overrides.get((epoch, seed, cost), fcds)
                for step, fcd in zip((0, steps), fcds):
                    rows.append({"epoch": epoch, "seed": seed, "cost": cost, "steps": step,
                                 "fcd": fcd, "emd": fcd / 100})
    return pd.DataFrame(rows, columns=list(results.FIG2_UPDATE_QUALITY_COLUMNS))


def test_rule_p1_fig3_quality_every_seed_rising_is_reproduced():
    rises = update_frame(logd=(10.0, 10.0 + 1e-3))  # any rise, whatever the control does
    outcome, measured, values = fig2_claims.rule_p1_fig3_quality(rises)
    assert outcome.verdict == REPRODUCED
    assert "FCD change after 5 -log D steps" in measured and "original-cost steps" in measured
    assert len(values) == len(EPOCHS) * len(SEEDS)
    assert {v.threshold for v in values} == {f"> {fig2_claims.QUALITY_DROP_MIN:g}"}


def test_rule_p1_fig3_quality_flat_is_not_reproduced_and_a_split_inconclusive():
    flat = update_frame(logd=(10.0, 10.0 + fig2_claims.QUALITY_DROP_MIN))
    outcome, _, _ = fig2_claims.rule_p1_fig3_quality(flat)
    assert outcome.verdict == NOT_REPRODUCED
    assert outcome.reason.startswith("epoch 1: FCD change after 5 -log D steps seeds 0, 1, 2: "
                                     f"+0, +0, +0 (needs > {fig2_claims.QUALITY_DROP_MIN:g}); "
                                     "0 of 3 seeds pass")
    one_seed_falls = update_frame(overrides={(1, 0, "logd"): (10.0, 5.0)})  # no seed median now
    outcome, _, _ = fig2_claims.rule_p1_fig3_quality(one_seed_falls)
    assert outcome.verdict == INCONCLUSIVE
    assert outcome.reason.startswith("2 of 3 seeds pass every part; epoch 1: FCD change after 5 "
                                     "-log D steps seeds 0, 1, 2: -5, +1, +1 (needs > 0)")


def test_rule_p1_fig3_quality_without_data_and_with_two_seeds():
    outcome, measured, _ = fig2_claims.rule_p1_fig3_quality(None)
    assert outcome.verdict == INCONCLUSIVE and outcome.reason == "needs fig2/update_quality.csv"
    assert measured == ""
    only_before = update_frame()
    only_before = only_before[only_before["steps"] == 0]
    assert _verdict(fig2_claims.rule_p1_fig3_quality(only_before)) == INCONCLUSIVE
    outcome, _, _ = fig2_claims.rule_p1_fig3_quality(two_seeds(update_frame()))
    assert outcome.verdict == INCONCLUSIVE and "2 seeds (needs >= 3)" in outcome.reason
