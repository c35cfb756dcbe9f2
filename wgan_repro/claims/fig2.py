"""P1 Figures 1-3 (experiment fig2): a discriminator trained from scratch against frozen DCGAN
generator snapshots becomes perfect; the original cost's generator gradient vanishes while the
-log D cost's grows, with a growing variance, and steps along it lower sample quality.

Files: fig2/grad_norms.csv (one row per measured D iteration), fig2/update_quality.csv (sample
quality before and after fig2.update_steps generator steps), fig2/summary.json.

P1 = Arjovsky & Bottou, "Towards Principled Methods for Training GANs" (ICLR 2017, arXiv
1701.04862v1).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from wgan_repro.claims import read_json, read_table, source_of
from wgan_repro.stats import (
    EDGE_FRACTION,
    epoch_label,
    growth,
    log10_ratio,
    median,
    per_seed_edges,
    seed_median_by_epoch,
)
from wgan_repro.verdicts import (
    Claim,
    Outcome,
    all_of,
    check,
    fmt,
    inconclusive,
    judge_all,
    missing,
    needs,
)

EXPERIMENT = "fig2"
GRAD_NORMS = "fig2/grad_norms.csv"
UPDATE_QUALITY = "fig2/update_quality.csv"
LAST = f"the last {EDGE_FRACTION:.0%}"  # the end of a discriminator's run (stats.EDGE_FRACTION)

ACCURACY_MIN = 0.99  # "goes to 1": 0.99 allows one wrong call in a 64 + 64 batch
PERFECT_ACCURACY = 1.0  # context: the first D iteration that classifies every sample right
P1_FIG1 = Claim(
    EXPERIMENT, "p1_fig1_perfect_discriminator",
    "a discriminator trained from scratch against a frozen generator becomes perfect (P1 Fig. 1)",
    "P1 Fig. 1: \"We see the error quickly going to 0, even with very few iterations on the "
    "discriminator. [...] we also show the accuracy of the discriminator, which goes to 1 in "
    "sometimes less than 50 iterations.\"",
    f"for every generator snapshot, the seed median of the discriminator's accuracy over {LAST} "
    f"of its iterations is >= {ACCURACY_MIN:g}; context: the first measured D iteration with "
    f"accuracy {PERFECT_ACCURACY:.1f}",
    "accuracy 1 in sometimes less than 50 D iterations; error -> 0")

DECAY_MIN_ORDERS = 1.0  # "decay quickly": at least a factor 10 for every snapshot
BEST_DECAY_ORDERS = 5.0  # "in the best case 5 orders of magnitude"
PAPER_D_ITERS = 4000  # "after 4000 discriminator iterations"
P1_FIG2 = Claim(
    EXPERIMENT, "p1_fig2_vanishing_gradient",
    "the original cost's generator gradient vanishes as the discriminator is trained (P1 Fig. 2)",
    "P1 Fig. 2: \"We see the gradient norms decay quickly, in the best case 5 orders of "
    "magnitude after 4000 discriminator iterations. Note the logarithmic scale.\"",
    f"decay = log10(norm at d_iter 0, the untrained discriminator / median norm over {LAST} "
    f"of D iterations), seed median per snapshot; >= {DECAY_MIN_ORDERS:g} order for every "
    f"snapshot, and >= {BEST_DECAY_ORDERS:g} orders for the best snapshot where the "
    f"discriminator ran >= {PAPER_D_ITERS} iterations (with fewer, that part is inconclusive, "
    "never a lower threshold)",
    "5 orders of magnitude after 4000 D iterations in the best case")

GROW_MIN_RATIO = 10.0  # "grow quickly" on a log axis: at least one order of magnitude
P1_FIG3_GROW = Claim(
    EXPERIMENT, "p1_fig3_gradient_grows",
    "the -log D cost's generator gradient grows as the discriminator is trained (P1 Fig. 3)",
    "P1 Fig. 3: \"We see the gradient norms grow quickly.\"",
    f"median -log D norm over {LAST} of D iterations / norm at d_iter 0, seed median per "
    f"snapshot, >= {GROW_MIN_RATIO:g} for every snapshot",
    "norms grow quickly (log axis)")

VARIANCE_MIN_RATIO = 2.0  # "is also increasing": at least doubled, beyond the estimate's noise
P1_FIG3_VARIANCE = Claim(
    EXPERIMENT, "p1_fig3_variance_grows",
    "the -log D cost's gradient variance grows as the discriminator is trained (P1 Fig. 3)",
    "P1 Fig. 3: \"Furthermore, the noise in the curves shows that the variance of the gradients "
    "is also increasing.\"",
    "minibatch gradient variance of the -log D cost (mean over K noise batches of ||g_k - "
    f"g_mean||^2), median over {LAST} of D iterations / its value at d_iter 0, seed median "
    f"per snapshot, >= {VARIANCE_MIN_RATIO:g} for every snapshot",
    "the variance of the gradients increases")

QUALITY_DROP_MIN = 0.0  # "lower sample quality": any rise of FCD (lower FCD is better)
P1_FIG3_QUALITY = Claim(
    EXPERIMENT, "p1_fig3_updates_lower_quality",
    "steps along the -log D gradient against the trained discriminator lower sample quality "
    "(P1 Fig. 3)",
    "P1 Fig. 3: \"All these gradients lead to updates that lower sample quality notoriously.\"",
    "a copy of each snapshot takes fig2.update_steps Adam steps with the -log D cost against its "
    "frozen, trained-from-scratch discriminator; FCD after minus FCD before, seed median, is > "
    f"{QUALITY_DROP_MIN:g} for every snapshot (the same steps with the original cost are "
    "reported as the control)",
    "updates lower sample quality notoriously")

CLAIMS = (P1_FIG1, P1_FIG2, P1_FIG3_GROW, P1_FIG3_VARIANCE, P1_FIG3_QUALITY)


def _every_snapshot(values: dict[str, float], label: str, ok: Callable[[float], bool]) -> Outcome:
    """"For every snapshot": one check per epoch label, all of them."""
    return all_of([check(f"{epoch} {label}", lambda v=v: ok(v), v) for epoch, v in values.items()])


def rule_p1_fig1(frame) -> tuple[Outcome, str]:
    blocked = needs(frame, ("d_accuracy",), GRAD_NORMS)
    if blocked:
        return blocked, ""
    edges = per_seed_edges(frame, "d_accuracy")
    accuracy = seed_median_by_epoch(edges, lambda r: r["last"])
    first_perfect = {}
    for epoch, group in frame.groupby("epoch"):
        firsts = [g.loc[g["d_accuracy"] >= PERFECT_ACCURACY, "d_iter"].min()
                  for _, g in group.groupby("seed")]
        reached = [f for f in firsts if not missing(f)]
        first_perfect[epoch_label(epoch)] = (
            f"{median(reached):.0f}" + (f" ({len(reached)}/{len(firsts)} seeds)"
                                        if len(reached) < len(firsts) else "")
            if reached else "never")
    outcome = _every_snapshot(accuracy, f"accuracy >= {ACCURACY_MIN}", lambda a: a >= ACCURACY_MIN)
    measured = (f"last-{EDGE_FRACTION:.0%} accuracy (seed median): {fmt(accuracy, '.3f')}; first "
                f"D iteration with accuracy {PERFECT_ACCURACY:.1f} (seed median): "
                + ", ".join(f"{e}: {v}" for e, v in first_perfect.items()))
    return outcome, measured


def rule_p1_fig2(frame) -> tuple[Outcome, str]:
    blocked = needs(frame, ("grad_norm_original",), GRAD_NORMS)
    if blocked:
        return blocked, ""
    edges = per_seed_edges(frame, "grad_norm_original")
    decay = seed_median_by_epoch(edges, lambda r: log10_ratio(r["start"], r["last"]))
    edge_decay = seed_median_by_epoch(edges, lambda r: log10_ratio(r["first"], r["last"]))
    d_iters = int(edges["d_iters"].min())
    every = _every_snapshot(decay, f"decays >= {DECAY_MIN_ORDERS:g} order",
                            lambda v: v >= DECAY_MIN_ORDERS)
    if d_iters < PAPER_D_ITERS:
        best = inconclusive(f"shorter than the paper's {PAPER_D_ITERS} D iterations (ran "
                            f"{d_iters}): the best-case {BEST_DECAY_ORDERS:g} orders is not tested")
    else:
        top = max((v for v in decay.values() if not missing(v)), default=math.nan)
        best = check(f"best snapshot decays >= {BEST_DECAY_ORDERS:g} orders",
                     lambda: top >= BEST_DECAY_ORDERS, top)
    measured = (f"orders decayed from d_iter 0 after {d_iters} D iterations (seed median): "
                f"{fmt(decay)}; context, first vs last {EDGE_FRACTION:.0%}: {fmt(edge_decay)}")
    return all_of([every, best]), measured


def rule_p1_fig3_grow(frame) -> tuple[Outcome, str]:
    blocked = needs(frame, ("grad_norm_logd",), GRAD_NORMS)
    if blocked:
        return blocked, ""
    edges = per_seed_edges(frame, "grad_norm_logd")
    grown = growth(frame, "grad_norm_logd")
    start = seed_median_by_epoch(edges, lambda r: r["start"])
    last = seed_median_by_epoch(edges, lambda r: r["last"])
    outcome = _every_snapshot(grown, f"grows >= {GROW_MIN_RATIO:g}x", lambda g: g >= GROW_MIN_RATIO)
    measured = (f"-log D norm last {EDGE_FRACTION:.0%} / d_iter 0 (seed median): "
                f"{fmt(grown, '.3g', 'x')}; at d_iter 0: {fmt(start, '.3g')}; last "
                f"{EDGE_FRACTION:.0%}: {fmt(last, '.3g')}")
    return outcome, measured


def rule_p1_fig3_variance(frame) -> tuple[Outcome, str]:
    blocked = needs(frame, ("grad_var_logd",), GRAD_NORMS)
    if blocked:
        return blocked, ""
    grown = growth(frame, "grad_var_logd")
    outcome = _every_snapshot(grown, f"variance grows >= {VARIANCE_MIN_RATIO:g}x",
                              lambda g: g >= VARIANCE_MIN_RATIO)
    measured = (f"-log D gradient variance last {EDGE_FRACTION:.0%} / d_iter 0 (seed median): "
                f"{fmt(grown, '.3g', 'x')}")
    if "grad_var_original" in frame:
        context = growth(frame, "grad_var_original")
        measured += f"; original cost, for contrast: {fmt(context, '.3g', 'x')}"
    return outcome, measured


def _fcd_changes(updates) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Per cost and snapshot, the seed median of FCD after minus FCD before the steps; per
    snapshot, the same of the pixel EMD for the -log D cost."""
    change: dict[str, dict[str, float]] = {"logd": {}, "original": {}}
    emd_change: dict[str, float] = {}
    for (epoch, cost), group in updates.groupby(["epoch", "cost"]):
        deltas, emd_deltas = [], []
        for _, run in group.groupby("seed"):
            before = run.loc[run["steps"] == 0]
            after = run.loc[run["steps"] == run["steps"].max()]
            if before.empty or after.empty or run["steps"].max() == 0:
                deltas.append(math.nan)
                continue
            deltas.append(float(after["fcd"].iloc[0] - before["fcd"].iloc[0]))
            emd_deltas.append(float(after["emd"].iloc[0] - before["emd"].iloc[0]))
        value = math.nan if any(missing(d) for d in deltas) else median(deltas)
        change.setdefault(str(cost), {})[epoch_label(epoch)] = value
        if cost == "logd" and emd_deltas:
            emd_change[epoch_label(epoch)] = median(emd_deltas)
    return change, emd_change


def rule_p1_fig3_quality(updates) -> tuple[Outcome, str]:
    blocked = needs(updates, ("cost", "steps", "fcd", "emd"), UPDATE_QUALITY)
    if blocked:
        return blocked, ""
    change, emd_change = _fcd_changes(updates)
    steps = int(updates["steps"].max())
    outcome = all_of([check(f"{e} FCD rises after {steps} -log D steps",
                            lambda d=d: d > QUALITY_DROP_MIN, d)
                      for e, d in change["logd"].items()])
    measured = (f"FCD change after {steps} steps, -log D cost (seed median): "
                f"{fmt(change['logd'], '+.4g')}; pixel EMD change: {fmt(emd_change, '+.3g')}; "
                f"control, original cost: {fmt(change.get('original', {}), '+.4g')}")
    return outcome, measured


def judge(results_dir: Path) -> list[Claim]:
    out = Path(results_dir) / EXPERIMENT
    frame, updates = read_table(out / "grad_norms.csv"), read_table(out / "update_quality.csv")
    summary = read_json(out / "summary.json")
    source = source_of(results_dir, EXPERIMENT, summary, GRAD_NORMS)
    blocked = None
    if (frame is None or frame.empty) and summary.get("diverged_dcgan"):
        blocked = inconclusive("every seed's DCGAN diverged: no snapshots")
    return judge_all([(P1_FIG1, lambda: rule_p1_fig1(frame)), (P1_FIG2, lambda: rule_p1_fig2(frame)),
                      (P1_FIG3_GROW, lambda: rule_p1_fig3_grow(frame)),
                      (P1_FIG3_VARIANCE, lambda: rule_p1_fig3_variance(frame)),
                      (P1_FIG3_QUALITY, lambda: rule_p1_fig3_quality(updates))], source, blocked)
