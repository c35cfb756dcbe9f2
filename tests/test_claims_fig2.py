"""wgan_repro.claims.fig2: P1 Figures 1-3 (fig2)'s rules at and just past their thresholds on small
hand-built tables; thresholds come from the module's named constants, never literal numbers."""

from __future__ import annotations

import pandas as pd

from wgan_repro import results
from wgan_repro.claims import fig2 as fig2_claims
from wgan_repro.verdicts import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED


def _verdict(result) -> str:
    outcome, measured = result
    assert isinstance(measured, str)
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


def test_fig2_helper_has_the_declared_columns():
    assert tuple(fig2_frame().columns) == results.FIG2_COLUMNS


def test_rule_p1_fig1_accuracy_threshold():
    at = fig2_frame(d_accuracy=(0.5, fig2_claims.ACCURACY_MIN))
    assert _verdict(fig2_claims.rule_p1_fig1(at)) == REPRODUCED
    below = fig2_frame(d_accuracy=(0.5, fig2_claims.ACCURACY_MIN - 0.01))
    outcome, measured = fig2_claims.rule_p1_fig1(below)
    assert outcome.verdict == NOT_REPRODUCED and "epoch 1 accuracy" in outcome.reason
    assert "never" in measured
    one_epoch = fig2_frame(overrides={10: {"d_accuracy": (0.5, fig2_claims.ACCURACY_MIN - 0.01)}})
    outcome, _ = fig2_claims.rule_p1_fig1(one_epoch)
    assert outcome.verdict == NOT_REPRODUCED and "epoch 10" in outcome.reason
    assert "epoch 1 " not in outcome.reason


def test_rule_p1_fig1_takes_the_seed_median_and_reports_the_first_perfect_iteration():
    one_bad_seed = fig2_frame(overrides={(1, 0): {"d_accuracy": (0.5, 0.5)}})
    outcome, measured = fig2_claims.rule_p1_fig1(one_bad_seed)
    assert outcome.verdict == REPRODUCED
    assert f"epoch 1: {fig2_claims.PAPER_D_ITERS // 2} (2/3 seeds)" in measured
    two_bad_seeds = fig2_frame(overrides={(1, 0): {"d_accuracy": (0.5, 0.5)},
                                          (1, 1): {"d_accuracy": (0.5, 0.5)}})
    assert _verdict(fig2_claims.rule_p1_fig1(two_bad_seeds)) == NOT_REPRODUCED


def test_rule_p1_fig2_at_and_past_the_thresholds():
    at = fig2_frame(overrides={1: {"grad_norm_original": orders(fig2_claims.DECAY_MIN_ORDERS)},
                               10: {"grad_norm_original": orders(fig2_claims.BEST_DECAY_ORDERS)}})
    assert _verdict(fig2_claims.rule_p1_fig2(at)) == REPRODUCED
    best_short = fig2_frame(overrides={
        1: {"grad_norm_original": orders(fig2_claims.DECAY_MIN_ORDERS)},
        10: {"grad_norm_original": orders(fig2_claims.BEST_DECAY_ORDERS, 0.99)}})
    outcome, _ = fig2_claims.rule_p1_fig2(best_short)
    assert outcome.verdict == NOT_REPRODUCED and "best snapshot" in outcome.reason
    one_slow = fig2_frame(overrides={
        1: {"grad_norm_original": orders(fig2_claims.DECAY_MIN_ORDERS, 0.99)},
        10: {"grad_norm_original": orders(fig2_claims.BEST_DECAY_ORDERS)}})
    outcome, _ = fig2_claims.rule_p1_fig2(one_slow)
    assert outcome.verdict == NOT_REPRODUCED and "epoch 1 decays" in outcome.reason


def test_rule_p1_fig2_shorter_than_the_paper_is_inconclusive_never_a_lower_threshold():
    short = fig2_claims.PAPER_D_ITERS - 1
    every_decays = fig2_frame(short, grad_norm_original=orders(fig2_claims.BEST_DECAY_ORDERS + 1))
    outcome, measured = fig2_claims.rule_p1_fig2(every_decays)
    assert outcome.verdict == INCONCLUSIVE
    assert f"shorter than the paper's {fig2_claims.PAPER_D_ITERS}" in outcome.reason
    assert f"after {short} D iterations" in measured
    one_slow = fig2_frame(short, grad_norm_original=orders(fig2_claims.BEST_DECAY_ORDERS + 1),
                          overrides={10: {"grad_norm_original":
                                          orders(fig2_claims.DECAY_MIN_ORDERS, 0.99)}})
    assert _verdict(fig2_claims.rule_p1_fig2(one_slow)) == NOT_REPRODUCED
    long_enough = fig2_frame(fig2_claims.PAPER_D_ITERS,
                             grad_norm_original=orders(fig2_claims.BEST_DECAY_ORDERS))
    assert _verdict(fig2_claims.rule_p1_fig2(long_enough)) == REPRODUCED


def test_rule_p1_fig2_without_data():
    assert fig2_claims.rule_p1_fig2(None)[0].reason == "needs fig2/grad_norms.csv"
    no_start = fig2_frame()
    no_start = no_start[~((no_start["epoch"] == 1) & (no_start["d_iter"] == 0))]
    assert _verdict(fig2_claims.rule_p1_fig2(no_start)) == INCONCLUSIVE


def test_rule_p1_fig3_grow_threshold():
    at = fig2_frame(grad_norm_logd=(1.0, fig2_claims.GROW_MIN_RATIO))
    assert _verdict(fig2_claims.rule_p1_fig3_grow(at)) == REPRODUCED
    below = fig2_frame(overrides={10: {"grad_norm_logd": (1.0, 0.99 * fig2_claims.GROW_MIN_RATIO)}})
    outcome, _ = fig2_claims.rule_p1_fig3_grow(below)
    assert outcome.verdict == NOT_REPRODUCED and "epoch 10 grows" in outcome.reason


def test_rule_p1_fig3_variance_threshold_and_older_tables():
    at = fig2_frame(grad_var_logd=(1.0, fig2_claims.VARIANCE_MIN_RATIO))
    outcome, measured = fig2_claims.rule_p1_fig3_variance(at)
    assert outcome.verdict == REPRODUCED and "original cost, for contrast" in measured
    below = fig2_frame(grad_var_logd=(1.0, 0.99 * fig2_claims.VARIANCE_MIN_RATIO))
    assert _verdict(fig2_claims.rule_p1_fig3_variance(below)) == NOT_REPRODUCED
    older = fig2_frame().drop(columns=["grad_var_logd", "grad_var_original"])
    outcome, _ = fig2_claims.rule_p1_fig3_variance(older)
    assert outcome.verdict == INCONCLUSIVE and outcome.reason.startswith("needs grad_var_logd")
    no_contrast = fig2_frame().drop(columns=["grad_var_original"])
    outcome, measured = fig2_claims.rule_p1_fig3_variance(no_contrast)
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


def test_rule_p1_fig3_quality():
    rises = update_frame(logd=(10.0, 10.0 + 1e-3))  # any rise, whatever the control does
    outcome, measured = fig2_claims.rule_p1_fig3_quality(rises)
    assert outcome.verdict == REPRODUCED
    assert "after 5 steps" in measured and "control, original cost" in measured
    flat = update_frame(logd=(10.0, 10.0 + fig2_claims.QUALITY_DROP_MIN))
    assert _verdict(fig2_claims.rule_p1_fig3_quality(flat)) == NOT_REPRODUCED
    one_seed_falls = update_frame(overrides={(1, 0, "logd"): (10.0, 5.0)})  # the seed median rises
    assert _verdict(fig2_claims.rule_p1_fig3_quality(one_seed_falls)) == REPRODUCED
    outcome, measured = fig2_claims.rule_p1_fig3_quality(None)
    assert outcome.verdict == INCONCLUSIVE and outcome.reason == "needs fig2/update_quality.csv"
    assert measured == ""
    only_before = update_frame()
    only_before = only_before[only_before["steps"] == 0]
    assert _verdict(fig2_claims.rule_p1_fig3_quality(only_before)) == INCONCLUSIVE
