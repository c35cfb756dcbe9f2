"""P1 Figures 1-3 (experiment fig2): a discriminator trained from scratch against frozen DCGAN
generator snapshots becomes perfect; the original cost's generator gradient vanishes while the
-log D cost's grows, with a growing variance, and steps along it lower sample quality.

Files: fig2/grad_norms.csv (one row per measured D iteration), fig2/update_quality.csv (sample
quality before and after fig2.update_steps generator steps), fig2/summary.json.
Every rule judges each seed on each part (wgan_repro.verdicts.seed_verdict).

P1 = Arjovsky & Bottou, "Towards Principled Methods for Training GANs" (ICLR 2017, arXiv
1701.04862v1).
"""

from __future__ import annotations

import math
from pathlib import Path

from wgan_repro.claims import read_json, read_table, source_of
from wgan_repro.stats import (
    EDGE_FRACTION,
    epoch_label,
    growth,
    log10_ratio,
    median,
    per_seed_edges,
    ratio,
    seed_median_by_epoch,
)
from wgan_repro.verdicts import (
    SEED_RULE,
    Claim,
    Judged,
    SeedValue,
    describe,
    fmt,
    inconclusive,
    judge_all,
    measured,
    missing,
    needs,
    seed_verdict,
    unmeasured,
)

EXPERIMENT = "fig2"
GRAD_NORMS = "fig2/grad_norms.csv"
UPDATE_QUALITY = "fig2/update_quality.csv"
LAST = f"the last {EDGE_FRACTION:.0%}"  # the end of a discriminator's run (stats.EDGE_FRACTION)
EACH_SNAPSHOT = "for every snapshot (part: epoch N)"

ACCURACY_MIN = 0.99  # "goes to 1": 0.99 allows one wrong call in a 64 + 64 batch
PERFECT_ACCURACY = 1.0  # context: the first D iteration that classifies every sample right
P1_FIG1 = Claim(
    EXPERIMENT, "p1_fig1_perfect_discriminator",
    "a discriminator trained from scratch against a frozen generator becomes perfect (P1 Fig. 1)",
    "P1 Fig. 1: \"We see the error quickly going to 0, even with very few iterations on the "
    "discriminator. [...] we also show the accuracy of the discriminator, which goes to 1 in "
    "sometimes less than 50 iterations.\"",
    f"per seed and {EACH_SNAPSHOT}, the discriminator's accuracy over {LAST} of its iterations "
    f"is >= {ACCURACY_MIN:g}; context: each seed's first measured D iteration with accuracy "
    f"{PERFECT_ACCURACY:.1f}. {SEED_RULE}",
    "accuracy 1 in sometimes less than 50 D iterations; error -> 0")

DECAY_MIN_ORDERS = 1.0  # "decay quickly": at least a factor 10 for every snapshot
BEST_DECAY_ORDERS = 5.0  # "in the best case 5 orders of magnitude"
PAPER_D_ITERS = 4000  # "after 4000 discriminator iterations"
SHORTER = f"shorter than the paper's {PAPER_D_ITERS} D iterations"  # the best case not judged
P1_FIG2 = Claim(
    EXPERIMENT, "p1_fig2_vanishing_gradient",
    "the original cost's generator gradient vanishes as the discriminator is trained (P1 Fig. 2)",
    "P1 Fig. 2: \"We see the gradient norms decay quickly, in the best case 5 orders of "
    "magnitude after 4000 discriminator iterations. Note the logarithmic scale.\"",
    f"per seed, decay = log10(norm at d_iter 0, the untrained discriminator / median norm over "
    f"{LAST} of D iterations); it is >= {DECAY_MIN_ORDERS:g} order for every snapshot (part: "
    f"epoch N), and the seed's best snapshot decays >= {BEST_DECAY_ORDERS:g} orders (part: best "
    f"snapshot), judged where the discriminator ran >= {PAPER_D_ITERS} iterations (with fewer, "
    f"that seed's best case is not judged, never a lower threshold). {SEED_RULE}",
    "5 orders of magnitude after 4000 D iterations in the best case")

GROW_MIN_RATIO = 10.0  # "grow quickly" on a log axis: at least one order of magnitude
P1_FIG3_GROW = Claim(
    EXPERIMENT, "p1_fig3_gradient_grows",
    "the -log D cost's generator gradient grows as the discriminator is trained (P1 Fig. 3)",
    "P1 Fig. 3: \"We see the gradient norms grow quickly.\"",
    f"per seed, median -log D norm over {LAST} of D iterations / norm at d_iter 0 >= "
    f"{GROW_MIN_RATIO:g} {EACH_SNAPSHOT}. {SEED_RULE}",
    "norms grow quickly (log axis)")

VARIANCE_MIN_RATIO = 2.0  # "is also increasing": at least doubled, beyond the estimate's noise
P1_FIG3_VARIANCE = Claim(
    EXPERIMENT, "p1_fig3_variance_grows",
    "the -log D cost's gradient variance grows as the discriminator is trained (P1 Fig. 3)",
    "P1 Fig. 3: \"Furthermore, the noise in the curves shows that the variance of the gradients "
    "is also increasing.\"",
    "minibatch gradient variance of the -log D cost (mean over K noise batches of ||g_k - "
    f"g_mean||^2); per seed, its median over {LAST} of D iterations / its value at d_iter 0 >= "
    f"{VARIANCE_MIN_RATIO:g} for every snapshot (part: epoch N; the original cost's ratio is "
    f"reported for contrast). {SEED_RULE}",
    "the variance of the gradients increases")

QUALITY_DROP_MIN = 0.0  # "lower sample quality": any rise of FCD (lower FCD is better)
P1_FIG3_QUALITY = Claim(
    EXPERIMENT, "p1_fig3_updates_lower_quality",
    "steps along the -log D gradient against the trained discriminator lower sample quality "
    "(P1 Fig. 3)",
    "P1 Fig. 3: \"All these gradients lead to updates that lower sample quality notoriously.\"",
    "a copy of each snapshot takes fig2.update_steps Adam steps with the -log D cost against its "
    "frozen, trained-from-scratch discriminator; per seed, FCD after minus FCD before is > "
    f"{QUALITY_DROP_MIN:g} for every snapshot (part: epoch N; the same steps with the original "
    f"cost are reported as the control). {SEED_RULE}",
    "updates lower sample quality notoriously")

CLAIMS = (P1_FIG1, P1_FIG2, P1_FIG3_GROW, P1_FIG3_VARIANCE, P1_FIG3_QUALITY)

# The statistics as claims_seeds.csv and the reasons name them.
ACCURACY = f"accuracy over {LAST} of D iterations"
DECAY = "orders decayed from d_iter 0"
BEST_PART, BEST_DECAY = "best snapshot", "most orders decayed over the seed's snapshots"
GROWN = f"-log D norm over {LAST} / at d_iter 0"
VARIANCE_GROWN = f"-log D gradient variance over {LAST} / at d_iter 0"



def _edge_values(edges, statistic: str, value, comparison: str, threshold: float
                 ) -> list[SeedValue]:
    """One SeedValue per (snapshot, seed) of per_seed_edges' rows: value(row) against the
    threshold, the part named after the snapshot ("epoch N")."""
    return [measured(epoch_label(r["epoch"]), r["seed"], statistic, value(r), comparison,
                     threshold) for r in edges.to_dict("records")]


def _first_perfect(frame) -> str:
    """Context: per snapshot, each seed's first measured D iteration with perfect accuracy."""
    out = []
    for epoch, group in frame.groupby("epoch"):
        firsts = {int(seed): g.loc[g["d_accuracy"] >= PERFECT_ACCURACY, "d_iter"].min()
                  for seed, g in group.groupby("seed")}
        numbers = ", ".join("never" if missing(f) else f"{f:.0f}" for f in firsts.values())
        out.append(f"{epoch_label(epoch)}: seeds {', '.join(map(str, firsts))}: {numbers}")
    return "; ".join(out)


def rule_p1_fig1(frame) -> Judged:
    blocked = needs(frame, ("d_accuracy",), GRAD_NORMS)
    if blocked:
        return blocked, "", []
    edges = per_seed_edges(frame, "d_accuracy")
    values = _edge_values(edges, ACCURACY, lambda r: r["last"], ">=", ACCURACY_MIN)
    text = (f"{describe(values)}; context, first D iteration with accuracy "
            f"{PERFECT_ACCURACY:.1f}: {_first_perfect(frame)}")
    return seed_verdict(values), text, values


def _best_snapshot(seed: int, runs) -> SeedValue:
    """One seed's best case: its largest decay over its snapshots, judged only where its
    discriminator ran as long as the paper's (a missing snapshot leaves a short best unknown)."""
    decays = runs["decay"].tolist()
    known = [d for d in decays if not missing(d)]
    top = max(known) if known else math.nan
    if len(known) < len(decays) and not top >= BEST_DECAY_ORDERS:
        top = math.nan
    if int(runs["d_iters"].min()) < PAPER_D_ITERS:
        return unmeasured(BEST_PART, seed, BEST_DECAY, f">= {BEST_DECAY_ORDERS:g}", SHORTER, top)
    return measured(BEST_PART, seed, BEST_DECAY, top, ">=", BEST_DECAY_ORDERS)


def rule_p1_fig2(frame) -> Judged:
    blocked = needs(frame, ("grad_norm_original",), GRAD_NORMS)
    if blocked:
        return blocked, "", []
    edges = per_seed_edges(frame, "grad_norm_original")
    edges["decay"] = [log10_ratio(r["start"], r["last"]) for r in edges.to_dict("records")]
    values = _edge_values(edges, DECAY, lambda r: r["decay"], ">=", DECAY_MIN_ORDERS)
    values += [_best_snapshot(seed, runs) for seed, runs in edges.groupby("seed")]
    edge_decay = seed_median_by_epoch(edges, lambda r: log10_ratio(r["first"], r["last"]))
    text = (f"after {int(edges['d_iters'].min())} D iterations: {describe(values)}; context, "
            f"first vs last {EDGE_FRACTION:.0%} (seed median): {fmt(edge_decay)}")
    return seed_verdict(values), text, values


def rule_p1_fig3_grow(frame) -> Judged:
    blocked = needs(frame, ("grad_norm_logd",), GRAD_NORMS)
    if blocked:
        return blocked, "", []
    values = _edge_values(per_seed_edges(frame, "grad_norm_logd"), GROWN,
                          lambda r: ratio(r["last"], r["start"]), ">=", GROW_MIN_RATIO)
    return seed_verdict(values), describe(values), values


def rule_p1_fig3_variance(frame) -> Judged:
    blocked = needs(frame, ("grad_var_logd",), GRAD_NORMS)
    if blocked:
        return blocked, "", []
    values = _edge_values(per_seed_edges(frame, "grad_var_logd"), VARIANCE_GROWN,
                          lambda r: ratio(r["last"], r["start"]), ">=", VARIANCE_MIN_RATIO)
    text = describe(values)
    if "grad_var_original" in frame:
        context = growth(frame, "grad_var_original")
        text += f"; original cost, for contrast (seed median): {fmt(context, '.3g', 'x')}"
    return seed_verdict(values), text, values


def _change(run, column: str) -> float:
    """One seed's ``column`` after its largest number of steps minus before any (NaN when
    either is missing or no step was taken)."""
    most = run["steps"].max()
    before = run.loc[run["steps"] == 0, column]
    after = run.loc[run["steps"] == most, column]
    if before.empty or after.empty or most == 0:
        return math.nan
    return float(after.iloc[0] - before.iloc[0])


def _median_changes(updates, cost: str, column: str) -> dict[str, float]:
    """Context: per snapshot, the seed median of one cost's change of ``column``."""
    out = {}
    for epoch, group in updates[updates["cost"] == cost].groupby("epoch"):
        changes = [_change(run, column) for _, run in group.groupby("seed")]
        known = [c for c in changes if not missing(c)]
        out[epoch_label(epoch)] = median(known) if known else math.nan
    return out


def rule_p1_fig3_quality(updates) -> Judged:
    blocked = needs(updates, ("cost", "steps", "fcd", "emd"), UPDATE_QUALITY)
    if blocked:
        return blocked, "", []
    steps = int(updates["steps"].max())
    statistic = f"FCD change after {steps} -log D steps"
    values = [measured(epoch_label(epoch), seed, statistic, _change(run, "fcd"), ">",
                       QUALITY_DROP_MIN)
              for (epoch, seed), run in updates[updates["cost"] == "logd"].groupby(
                  ["epoch", "seed"])]
    text = (f"{describe(values, '+.4g')}; context (seed median), pixel EMD change: "
            f"{fmt(_median_changes(updates, 'logd', 'emd'), '+.3g')}; control, FCD change after "
            f"{steps} original-cost steps: "
            f"{fmt(_median_changes(updates, 'original', 'fcd'), '+.4g')}")
    return seed_verdict(values, spec="+.4g"), text, values


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
