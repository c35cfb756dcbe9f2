"""Every claim of the two papers that wgan-repro tests: the paper's words, the rule, the verdict.

One place for all of them, so a reader can check each rule against its quote:

- a :class:`Claim` holds what the paper says (``paper_quote``, quoted with its section or
  figure) and the test written from it (``rule``), before any result is seen; its thresholds
  are the named constants right above it, never moved toward a measured value;
- a rule is a pure function of the experiment's CSV tables (``pandas.DataFrame``) that returns
  an :class:`Outcome` and the measured value in words;
- one verdict logic for all of them: :func:`check` turns one comparison into an Outcome
  (missing or NaN data is ``inconclusive`` with the reason), :func:`all_of` / :func:`any_of`
  combine parts with three-valued logic (a part that fails makes "every ..." fail even when
  another part has no data), and :func:`given` makes an unmet precondition ``inconclusive``;
- ``judge_<experiment>(results_dir)`` reads that experiment's files and returns its claims,
  :func:`record` writes them to claims.csv, :func:`rejudge` redoes every experiment from the
  files already there (``wgan-repro report --rejudge``): verdicts never need a retraining.

P1 = Arjovsky & Bottou, "Towards Principled Methods for Training GANs" (ICLR 2017, arXiv
1701.04862v1). P2 = Arjovsky, Chintala & Bottou, "Wasserstein GAN" (ICML 2017, arXiv 1701.07875).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from wgan_repro.results import CLAIMS_COLUMNS, VERDICTS
from wgan_repro.stats import per_seed_edges

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = VERDICTS


# ---- the verdict logic ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    verdict: str  # one of VERDICTS
    reason: str = ""  # why not reproduced / inconclusive; empty when reproduced


def _missing(value: Any) -> bool:
    if value is None or type(value).__name__ == "NAType":  # None, pandas.NA
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def check(label: str, ok: Callable[[], bool], *values: Any) -> Outcome:
    """One comparison. ``values`` are the numbers it reads: if any is missing or NaN the
    outcome is inconclusive (``ok`` is not even called); otherwise ``ok()`` decides."""
    if any(_missing(v) for v in values):
        return Outcome(INCONCLUSIVE, f"no data for: {label}")
    if ok():
        return Outcome(REPRODUCED)
    return Outcome(NOT_REPRODUCED, f"fails: {label}")


def inconclusive(reason: str) -> Outcome:
    return Outcome(INCONCLUSIVE, reason)


def _joined(outcomes: Iterable[Outcome]) -> str:
    reasons: list[str] = []
    for o in outcomes:
        if o.reason and o.reason not in reasons:
            reasons.append(o.reason)
    return "; ".join(reasons)


def all_of(outcomes: Sequence[Outcome]) -> Outcome:
    """Every part holds: one failing part fails the whole (even if another part has no data);
    otherwise one part without data leaves it inconclusive. No parts at all: inconclusive."""
    if not outcomes:
        return inconclusive("no data")
    failed = [o for o in outcomes if o.verdict == NOT_REPRODUCED]
    if failed:
        return Outcome(NOT_REPRODUCED, _joined(failed))
    unknown = [o for o in outcomes if o.verdict == INCONCLUSIVE]
    if unknown:
        return Outcome(INCONCLUSIVE, _joined(unknown))
    return Outcome(REPRODUCED)


def any_of(outcomes: Sequence[Outcome]) -> Outcome:
    """At least one part holds (the dual of all_of)."""
    if not outcomes:
        return inconclusive("no data")
    if any(o.verdict == REPRODUCED for o in outcomes):
        return Outcome(REPRODUCED)
    unknown = [o for o in outcomes if o.verdict == INCONCLUSIVE]
    if unknown:
        return Outcome(INCONCLUSIVE, _joined(unknown))
    return Outcome(NOT_REPRODUCED, _joined(outcomes))


def given(precondition: Outcome, then: Callable[[], Outcome]) -> Outcome:
    """``then`` is tested only where ``precondition`` holds; otherwise inconclusive."""
    if precondition.verdict == REPRODUCED:
        return then()
    reason = precondition.reason.replace("fails: ", "").replace("no data for: ", "no data for ")
    return inconclusive(f"precondition not met: {reason}")


# ---- the claim record ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Claim:
    """One claim: what the paper says and how it is tested; ``judged`` adds the measurement."""

    experiment: str  # fig2 | curve | ablate | toy | probe_adam | probe_noise
    claim_id: str
    claim: str
    paper_quote: str
    rule: str
    paper_value: str
    measured_value: str = ""
    verdict: str = INCONCLUSIVE
    reason: str = ""
    source: str = ""

    def judged(self, outcome: Outcome, measured: str, source: str) -> Claim:
        if outcome.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {outcome.verdict!r}")
        return replace(self, measured_value=measured or "not measured", verdict=outcome.verdict,
                       reason=outcome.reason, source=source)

    def row(self) -> dict[str, str]:
        row = asdict(self)
        return {column: row[column] for column in CLAIMS_COLUMNS}


# ---- shared measurements on the tables -------------------------------------------------------------
def _fmt(values: dict, spec: str = ".2f", unit: str = "") -> str:
    def one(v):
        return "n/a" if _missing(v) else f"{v:{spec}}{unit}"

    return ", ".join(f"{k}: {one(v)}" for k, v in values.items())


def _epoch_label(epoch) -> str:
    return f"epoch {int(epoch)}"


def _seed_median_by_epoch(edges, value: Callable) -> dict[str, float]:
    """{'epoch N': median over seeds of value(row)} (NaN where a seed's value is NaN)."""
    out = {}
    for epoch, group in edges.groupby("epoch"):
        values = [value(r) for r in group.to_dict("records")]
        out[_epoch_label(epoch)] = (math.nan if any(_missing(v) for v in values)
                                    else float(_median(values)))
    return out


def _every_snapshot(values: dict[str, float], label: str, ok: Callable[[float], bool]) -> Outcome:
    """"For every snapshot": one check per epoch label, all of them."""
    return all_of([check(f"{epoch} {label}", lambda v=v: ok(v), v) for epoch, v in values.items()])


def _growth(frame, column: str) -> dict[str, float]:
    """Per snapshot, seed median of (median over the last 5%) / (value at d_iter 0)."""
    return _seed_median_by_epoch(per_seed_edges(frame, column),
                                 lambda r: _ratio(r["last"], r["start"]))


def _median(values):
    import numpy as np

    return float(np.median(np.asarray(values, dtype=float)))


def _log10_ratio(numerator, denominator) -> float:
    if _missing(numerator) or _missing(denominator) or numerator <= 0 or denominator <= 0:
        return math.nan
    return math.log10(numerator / denominator)


def _ratio(numerator, denominator) -> float:
    if _missing(numerator) or _missing(denominator) or denominator == 0:
        return math.nan
    return numerator / denominator


def spearman(x, y) -> float:
    from scipy.stats import spearmanr

    if x is None or y is None or len(x) < 3:
        return math.nan
    with warnings.catch_warnings():  # a constant series has no rank correlation: NaN
        warnings.simplefilter("ignore")
        # rounded: scipy gives 0.7999999999999999 for an exact 0.8, which a >= 0.8 rule must pass
        return round(float(spearmanr(x, y).statistic), 12)


def _needs(frame, columns: Sequence[str], what: str) -> Outcome | None:
    """Inconclusive when the table or one of its columns is missing (files of an older run)."""
    if frame is None:
        return inconclusive(f"needs {what}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        return inconclusive(f"needs {', '.join(missing)} in {what} (rerun with this version)")
    if frame.empty:
        return inconclusive(f"{what} has no rows")
    return None


# ==== P1 Figures 1-3: fig2 =========================================================================
P1_FIG1 = Claim(
    "fig2", "p1_fig1_perfect_discriminator",
    "a discriminator trained from scratch against a frozen generator becomes perfect (P1 Fig. 1)",
    "P1 Fig. 1: \"We see the error quickly going to 0, even with very few iterations on the "
    "discriminator. [...] we also show the accuracy of the discriminator, which goes to 1 in "
    "sometimes less than 50 iterations.\"",
    "for every generator snapshot, the seed median of the discriminator's accuracy over the last "
    "5% of its iterations is >= 0.99; context: the first measured D iteration with accuracy 1.0",
    "accuracy 1 in sometimes less than 50 D iterations; error -> 0")
ACCURACY_MIN = 0.99  # "goes to 1": 0.99 allows one wrong call in a 64 + 64 batch

P1_FIG2 = Claim(
    "fig2", "p1_fig2_vanishing_gradient",
    "the original cost's generator gradient vanishes as the discriminator is trained (P1 Fig. 2)",
    "P1 Fig. 2: \"We see the gradient norms decay quickly, in the best case 5 orders of "
    "magnitude after 4000 discriminator iterations. Note the logarithmic scale.\"",
    "decay = log10(norm at d_iter 0, the untrained discriminator / median norm over the last 5% "
    "of D iterations), seed median per snapshot; >= 1 order for every snapshot, and >= 5 orders "
    "for the best snapshot where the discriminator ran >= 4000 iterations (with fewer, that "
    "part is inconclusive, never a lower threshold)",
    "5 orders of magnitude after 4000 D iterations in the best case")
DECAY_MIN_ORDERS = 1.0  # "decay quickly": at least a factor 10 for every snapshot
BEST_DECAY_ORDERS = 5.0  # "in the best case 5 orders of magnitude"
PAPER_D_ITERS = 4000  # "after 4000 discriminator iterations"

P1_FIG3_GROW = Claim(
    "fig2", "p1_fig3_gradient_grows",
    "the -log D cost's generator gradient grows as the discriminator is trained (P1 Fig. 3)",
    "P1 Fig. 3: \"We see the gradient norms grow quickly.\"",
    "median -log D norm over the last 5% of D iterations / norm at d_iter 0, seed median per "
    "snapshot, >= 10 for every snapshot",
    "norms grow quickly (log axis)")
GROW_MIN_RATIO = 10.0  # "grow quickly" on a log axis: at least one order of magnitude

P1_FIG3_VARIANCE = Claim(
    "fig2", "p1_fig3_variance_grows",
    "the -log D cost's gradient variance grows as the discriminator is trained (P1 Fig. 3)",
    "P1 Fig. 3: \"Furthermore, the noise in the curves shows that the variance of the gradients "
    "is also increasing.\"",
    "minibatch gradient variance of the -log D cost (mean over K noise batches of ||g_k - "
    "g_mean||^2), median over the last 5% of D iterations / its value at d_iter 0, seed median "
    "per snapshot, >= 2 for every snapshot",
    "the variance of the gradients increases")
VARIANCE_MIN_RATIO = 2.0  # "is also increasing": at least doubled, beyond the estimate's noise

P1_FIG3_QUALITY = Claim(
    "fig2", "p1_fig3_updates_lower_quality",
    "steps along the -log D gradient against the trained discriminator lower sample quality "
    "(P1 Fig. 3)",
    "P1 Fig. 3: \"All these gradients lead to updates that lower sample quality notoriously.\"",
    "a copy of each snapshot takes fig2.probe_steps Adam steps with the -log D cost against its "
    "frozen, trained-from-scratch discriminator; FCD after minus FCD before, seed median, is > 0 "
    "for every snapshot (the same steps with the original cost are reported as the control)",
    "updates lower sample quality notoriously")
QUALITY_DROP_MIN = 0.0  # "lower sample quality": any rise of FCD (lower FCD is better)


def rule_p1_fig1(frame) -> tuple[Outcome, str]:
    blocked = _needs(frame, ("d_accuracy",), "fig2/grad_norms.csv")
    if blocked:
        return blocked, ""
    edges = per_seed_edges(frame, "d_accuracy")
    accuracy = _seed_median_by_epoch(edges, lambda r: r["last"])
    first_perfect = {}
    for epoch, group in frame.groupby("epoch"):
        firsts = [g.loc[g["d_accuracy"] >= 1.0, "d_iter"].min() for _, g in group.groupby("seed")]
        reached = [f for f in firsts if not _missing(f)]
        first_perfect[_epoch_label(epoch)] = (
            f"{_median(reached):.0f}" + (f" ({len(reached)}/{len(firsts)} seeds)"
                                         if len(reached) < len(firsts) else "")
            if reached else "never")
    outcome = _every_snapshot(accuracy, f"accuracy >= {ACCURACY_MIN}", lambda a: a >= ACCURACY_MIN)
    measured = (f"last-5% accuracy (seed median): {_fmt(accuracy, '.3f')}; first D iteration "
                f"with accuracy 1.0 (seed median): "
                + ", ".join(f"{e}: {v}" for e, v in first_perfect.items()))
    return outcome, measured


def rule_p1_fig2(frame) -> tuple[Outcome, str]:
    blocked = _needs(frame, ("grad_norm_original",), "fig2/grad_norms.csv")
    if blocked:
        return blocked, ""
    edges = per_seed_edges(frame, "grad_norm_original")
    decay = _seed_median_by_epoch(edges, lambda r: _log10_ratio(r["start"], r["last"]))
    edge_decay = _seed_median_by_epoch(edges, lambda r: _log10_ratio(r["first"], r["last"]))
    d_iters = int(edges["d_iters"].min())
    every = _every_snapshot(decay, f"decays >= {DECAY_MIN_ORDERS:g} order",
                            lambda v: v >= DECAY_MIN_ORDERS)
    if d_iters < PAPER_D_ITERS:
        best = inconclusive(f"shorter than the paper's {PAPER_D_ITERS} D iterations (ran "
                            f"{d_iters}): the best-case {BEST_DECAY_ORDERS:g} orders is not tested")
    else:
        top = max((v for v in decay.values() if not _missing(v)), default=math.nan)
        best = check(f"best snapshot decays >= {BEST_DECAY_ORDERS:g} orders",
                     lambda: top >= BEST_DECAY_ORDERS, top)
    measured = (f"orders decayed from d_iter 0 after {d_iters} D iterations (seed median): "
                f"{_fmt(decay)}; context, first vs last 5%: {_fmt(edge_decay)}")
    return all_of([every, best]), measured


def rule_p1_fig3_grow(frame) -> tuple[Outcome, str]:
    blocked = _needs(frame, ("grad_norm_logd",), "fig2/grad_norms.csv")
    if blocked:
        return blocked, ""
    edges = per_seed_edges(frame, "grad_norm_logd")
    growth = _growth(frame, "grad_norm_logd")
    start = _seed_median_by_epoch(edges, lambda r: r["start"])
    last = _seed_median_by_epoch(edges, lambda r: r["last"])
    outcome = _every_snapshot(growth, f"grows >= {GROW_MIN_RATIO:g}x", lambda g: g >= GROW_MIN_RATIO)
    measured = (f"-log D norm last 5% / d_iter 0 (seed median): {_fmt(growth, '.3g', 'x')}; "
                f"at d_iter 0: {_fmt(start, '.3g')}; last 5%: {_fmt(last, '.3g')}")
    return outcome, measured


def rule_p1_fig3_variance(frame) -> tuple[Outcome, str]:
    blocked = _needs(frame, ("grad_var_logd",), "fig2/grad_norms.csv")
    if blocked:
        return blocked, ""
    growth = _growth(frame, "grad_var_logd")
    outcome = _every_snapshot(growth, f"variance grows >= {VARIANCE_MIN_RATIO:g}x",
                              lambda g: g >= VARIANCE_MIN_RATIO)
    measured = f"-log D gradient variance last 5% / d_iter 0 (seed median): {_fmt(growth, '.3g', 'x')}"
    if "grad_var_original" in frame:
        context = _growth(frame, "grad_var_original")
        measured += f"; original cost, for contrast: {_fmt(context, '.3g', 'x')}"
    return outcome, measured


def rule_p1_fig3_quality(updates) -> tuple[Outcome, str]:
    blocked = _needs(updates, ("cost", "steps", "fcd", "emd"), "fig2/update_quality.csv")
    if blocked:
        return blocked, ""
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
        value = math.nan if any(_missing(d) for d in deltas) else _median(deltas)
        change.setdefault(str(cost), {})[_epoch_label(epoch)] = value
        if cost == "logd" and emd_deltas:
            emd_change[_epoch_label(epoch)] = _median(emd_deltas)
    steps = int(updates["steps"].max())
    outcome = all_of([check(f"{e} FCD rises after {steps} -log D steps",
                            lambda d=d: d > QUALITY_DROP_MIN, d)
                      for e, d in change["logd"].items()])
    measured = (f"FCD change after {steps} steps, -log D cost (seed median): "
                f"{_fmt(change['logd'], '+.4g')}; pixel EMD change: {_fmt(emd_change, '+.3g')}; "
                f"control, original cost: {_fmt(change.get('original', {}), '+.4g')}")
    return outcome, measured


# ==== P2 Figures 3-4: curve ========================================================================
P2_FIG3_TRACKS = Claim(
    "curve", "p2_fig3_estimate_tracks_quality",
    "the WGAN critic's estimate is a loss that tracks sample quality (P2 Fig. 3, MLP and DCGAN "
    "generators)",
    "P2 section 4.2: \"Our first experiment illustrates how this estimate correlates well with "
    "the quality of the generated samples.\" Fig. 3: \"We can see a clear correlation between "
    "lower error and better sample quality.\"",
    "for each WGAN run (DCGAN and MLP generator): Spearman(median-filtered estimate, pixel EMD "
    "to held-out digits) over the evaluation points >= 0.8; precondition: the run's quality "
    "improved (last EMD <= 0.9 x first), otherwise that run is inconclusive (did not train at "
    "this budget) and the claim cannot be reproduced",
    "estimate falls as samples improve (MLP 1.5 -> 0.37, DCGAN 1.6 -> 0.12)")
TRACKS_MIN_SPEARMAN = 0.8  # "correlates well": a strong rank correlation
TRAINED_MAX_EMD_RATIO = 0.9  # a run "trained" when its EMD fell by at least 10%
TRACKING_RUNS = ("wgan_dcgan", "wgan_mlp")  # P2 Fig. 3's upper panels

P2_FIG4_JS = Claim(
    "curve", "p2_fig4_js_uninformative",
    "the standard GAN's JS estimate does not track sample quality and does not go down (P2 Fig. 4)",
    "P2 section 4.2: \"This quantity clearly correlates poorly the sample quality. Note also that "
    "the JS estimate usually stays constant or goes up instead of going down. In fact it often "
    "remains very close to log 2 ~ 0.69 which is the highest value taken by the JS distance.\"",
    "for each standard-GAN run: Spearman(median-filtered JS estimate 1/2 L + log 2, pixel EMD) "
    "<= 0.5 (one-sided: an estimate that rises while quality improves agrees with the paper; "
    "an estimate constant over the evaluation points while EMD varies counts as 0), "
    "and the filtered estimate's last value >= its first - 0.05; context: share of iterations "
    "within 0.1 of log 2",
    "JS estimate stays near log 2 = 0.69 or rises while samples improve")
JS_MAX_SPEARMAN = 0.5  # "correlates poorly": at most a weak positive rank correlation
JS_MAX_FALL = 0.05  # "stays constant or goes up instead of going down"
JS_NEAR_LOG2 = 0.1  # context only: "often remains very close to log 2"

P2_FIG3_FAILED = Claim(
    "curve", "p2_fig3_failed_run_flat",
    "a WGAN run that fails to train shows it: flat estimate, samples that do not improve "
    "(P2 Fig. 3 lower half)",
    "P2 Fig. 3: \"Lower half: both the generator and the discriminator are MLPs with "
    "substantially high learning rates (so training failed). Loss is constant and samples are "
    "constant as well.\"",
    "for the MLP generator + MLP critic run at a high learning rate: the filtered estimate "
    "changes < 20% between the first and last evaluation points and the last EMD >= 0.9 x the "
    "first",
    "estimate flat (~15) while samples stay bad")
FAILED_MAX_CHANGE = 0.2  # "loss is constant": within 20%
FAILED_MIN_EMD_RATIO = 0.9  # "samples are constant": EMD falls by less than 10%
FAILING_RUN_PREFIX = "wgan_mlp_mlp"


def curve_runs(curve, quality) -> dict[str, dict[str, Any]]:
    """Per run and seed: the median-filtered estimate (the WGAN's W estimate or the GAN's JS
    estimate), its values at the evaluation points, and the quality measured there."""
    from wgan_repro.stats import median_filtered

    runs = {}
    for (run, seed), group in curve.groupby(["run", "seed"]):
        column = ("wasserstein_estimate" if group["wasserstein_estimate"].notna().any()
                  else "js_estimate")
        group = group.sort_values("gen_iter")
        filtered = median_filtered(group.set_index("gen_iter")[column].astype(float))
        q = quality[(quality["run"] == run) & (quality["seed"] == seed)].dropna(subset=["emd"])
        q = q[q["gen_iter"].isin(filtered.index)].sort_values("gen_iter")
        runs[f"{run}/s{int(seed)}"] = {
            "run": str(run), "estimate": column, "filtered": filtered,
            "at_eval": filtered.reindex(q["gen_iter"]).to_numpy(), "emd": q["emd"].to_numpy(),
            "fcd": q["fcd"].to_numpy() if "fcd" in q else None}
    return runs


def _constant(values) -> bool:
    import numpy as np

    values = np.asarray(values, dtype=float)
    return len(values) >= 3 and bool(np.all(values == values[0]))


def _emd_ratio(entry) -> float:
    emd = entry["emd"]
    return _ratio(emd[-1], emd[0]) if len(emd) >= 2 else math.nan


def rule_p2_fig3_tracks(curve, quality) -> tuple[Outcome, str]:
    blocked = _needs(curve, ("run", "wasserstein_estimate"), "curve/curve.csv") or _needs(
        quality, ("emd",), "curve/quality.csv")
    if blocked:
        return blocked, ""
    runs = {k: v for k, v in curve_runs(curve, quality).items() if v["run"] in TRACKING_RUNS}
    outcomes, rho, gain = [], {}, {}
    for key, entry in runs.items():
        rho[key] = spearman(entry["at_eval"], entry["emd"])
        gain[key] = _emd_ratio(entry)
        trained = check(f"{key} trained at this budget (last EMD <= {TRAINED_MAX_EMD_RATIO:g} x "
                        "first)",
                        lambda g=gain[key]: g <= TRAINED_MAX_EMD_RATIO, gain[key])
        outcomes.append(given(trained, lambda k=key: check(
            f"{k} Spearman >= {TRACKS_MIN_SPEARMAN:g}",
            lambda r=rho[k]: r >= TRACKS_MIN_SPEARMAN, rho[k])))
    measured = (f"Spearman(filtered estimate, EMD): {_fmt(rho)}; EMD last/first: {_fmt(gain)}")
    if not runs:
        return inconclusive(f"no run named {' or '.join(TRACKING_RUNS)}"), measured
    return all_of(outcomes), measured


def rule_p2_fig4_js(curve, quality) -> tuple[Outcome, str]:
    blocked = _needs(curve, ("run", "js_estimate"), "curve/curve.csv") or _needs(
        quality, ("emd",), "curve/quality.csv")
    if blocked:
        return blocked, ""
    runs = {k: v for k, v in curve_runs(curve, quality).items() if v["run"].startswith("gan_")}
    outcomes, rho, moved, near, gain = [], {}, {}, {}, {}
    for key, entry in runs.items():
        filtered = entry["filtered"]
        rho[key] = spearman(entry["at_eval"], entry["emd"])
        if _missing(rho[key]) and _constant(entry["at_eval"]) and not _constant(entry["emd"]):
            rho[key] = 0.0  # "stays constant": no rank correlation with a quality that changes
        moved[key] = float(filtered.iloc[-1] - filtered.iloc[0])
        near[key] = float((abs(filtered - math.log(2)) <= JS_NEAR_LOG2).mean())
        gain[key] = _emd_ratio(entry)
        outcomes.append(all_of([
            check(f"{key} Spearman <= {JS_MAX_SPEARMAN:g}", lambda r=rho[key]: r <= JS_MAX_SPEARMAN,
                  rho[key]),
            check(f"{key} JS estimate falls by <= {JS_MAX_FALL:g}",
                  lambda m=moved[key]: m >= -JS_MAX_FALL, moved[key])]))
    measured = (f"Spearman(filtered JS, EMD): {_fmt(rho)}; filtered JS last - first: "
                f"{_fmt(moved, '+.3f')}; context: share within {JS_NEAR_LOG2:g} of log 2: "
                f"{_fmt(near, '.0%')}; EMD last/first: {_fmt(gain)}")
    if not runs:
        return inconclusive("no standard-GAN run (gan_*)"), measured
    return all_of(outcomes), measured


def rule_p2_fig3_failed(curve, quality) -> tuple[Outcome, str]:
    blocked = _needs(curve, ("run", "wasserstein_estimate"), "curve/curve.csv") or _needs(
        quality, ("emd",), "curve/quality.csv")
    if blocked:
        return blocked, ""
    runs = {k: v for k, v in curve_runs(curve, quality).items()
            if v["run"].startswith(FAILING_RUN_PREFIX)}
    outcomes, change, gain = [], {}, {}
    for key, entry in runs.items():
        at_eval = entry["at_eval"]
        change[key] = (abs(at_eval[-1] - at_eval[0]) / max(abs(at_eval[0]), 1e-12)
                       if len(at_eval) >= 2 else math.nan)
        gain[key] = _emd_ratio(entry)
        outcomes.append(all_of([
            check(f"{key} estimate changes < {FAILED_MAX_CHANGE:.0%}",
                  lambda c=change[key]: c < FAILED_MAX_CHANGE, change[key]),
            check(f"{key} last EMD >= {FAILED_MIN_EMD_RATIO:g} x first",
                  lambda g=gain[key]: g >= FAILED_MIN_EMD_RATIO, gain[key])]))
    measured = f"relative change of the estimate: {_fmt(change)}; EMD last/first: {_fmt(gain)}"
    if not runs:
        return inconclusive(f"no run named {FAILING_RUN_PREFIX}*"), measured
    return all_of(outcomes), measured


# ==== P2 Figures 5-7: ablate ========================================================================
MIN_SEEDS = 3  # a comparison of two arms needs >= 3 seeds per arm; fewer -> inconclusive

P2_FIG5 = Claim(
    "ablate", "p2_fig5_dcgan_both_work",
    "with the DCGAN generator both WGAN and the standard GAN produce good samples (P2 Fig. 5)",
    "P2 Fig. 5: \"Algorithms trained with a DCGAN generator. Left: WGAN algorithm. Right: "
    "standard GAN formulation. Both algorithms produce high quality samples.\"",
    "final evaluation, seed median per arm (>= 3 seeds each): the two FCDs within a factor 2 of "
    "each other, and both arms cover >= 9 of the 10 digit classes",
    "both produce high quality samples")
COMPARABLE_FCD_RATIO = 2.0  # "both ... high quality": neither FCD more than twice the other
COMPARABLE_MIN_CLASSES = 9  # and neither has dropped more than one digit class

P2_FIG6 = Claim(
    "ablate", "p2_fig6_no_bn_gan_fails",
    "without batch norm and with a constant filter count, the standard GAN fails to learn while "
    "WGAN still produces samples (P2 Fig. 6)",
    "P2 Fig. 6: \"Left: WGAN algorithm. Right: standard GAN formulation. As we can see the "
    "standard GAN failed to learn while the WGAN still was able to produce samples.\"",
    "WGAN learned: seed median of final FCD / FCD at its first evaluation <= 0.25 and seed "
    "median classes covered >= 7; and the GAN did not: its seed-median final FCD >= 2 x the "
    "WGAN's, and GAN FCD >= 2 x WGAN FCD in a majority of seeds (paired); >= 3 seeds per arm. "
    "Both arms failing is not reproduced",
    "WGAN samples, GAN fails; the generator has ~10x fewer parameters than DCGAN's")
LEARNED_MAX_FCD_RATIO = 0.25  # "was able to produce samples": FCD down to a quarter of its start
LEARNED_MIN_CLASSES = 7  # and most digit classes recognisable
FAILED_MIN_FCD_FACTOR = 2.0  # "failed to learn": at least twice the WGAN's FCD

P2_FIG7 = Claim(
    "ablate", "p2_fig7_mlp_gan_collapses",
    "with an MLP generator the standard GAN mode-collapses and WGAN does not (P2 Fig. 7)",
    "P2 Fig. 7: \"The WGAN method still was able to produce samples, lower quality than the "
    "DCGAN, and of higher quality than the MLP of the standard GAN. Note the significant degree "
    "of mode collapse in the GAN MLP.\" Section 4.3: \"In no experiment did we see evidence of "
    "mode collapse for the WGAN algorithm.\"",
    "GAN collapsed: KL(class histogram || uniform) >= 1.0 nats in the seed median and in a "
    "majority of seeds; WGAN did not: seed median >= 9 of 10 classes covered and KL <= 0.5; "
    ">= 3 seeds per arm. A WGAN that has not trained (seed median of final FCD / first "
    "evaluation's > 0.8, i.e. within 20%) makes its half inconclusive",
    "significant mode collapse for the GAN MLP; none for WGAN")
COLLAPSED_MIN_KL = 1.0  # "significant mode collapse": e.g. about 3 equally used classes of 10
WGAN_MIN_CLASSES = 9  # "no evidence of mode collapse": at most one class missing ...
WGAN_MAX_KL = 0.5  # ... and a histogram close to uniform
TRAINED_MAX_FCD_RATIO = 0.8  # "has not trained": FCD within 20% of its first evaluation


def scored_final(row) -> dict[str, float]:
    """A run's final evaluation; a diverged or unmeasurable run loses every comparison: it is
    scored with the worst values (infinite FCD, no class, KL of a single class)."""
    if bool(row["diverged"]) or not all(not _missing(row[k]) and math.isfinite(float(row[k]))
                                        for k in ("emd", "fcd", "kl_uniform")):
        return {"emd": math.inf, "fcd": math.inf, "classes_covered": 0.0,
                "kl_uniform": math.log(10)}
    return {k: float(row[k]) for k in ("emd", "fcd", "classes_covered", "kl_uniform")}


def ablate_runs(frame, variant: str) -> dict[str, dict[int, dict[str, Any]]]:
    """{arm: {seed: final evaluation (scored_final), the measured final KL (NaN when diverged),
    first finite FCD, final / first FCD (inf when diverged), diverged}}."""
    out: dict[str, dict[int, dict[str, Any]]] = {}
    mine = frame[frame["variant"] == variant].sort_values("gen_iters")
    for (arm, seed), run in mine.groupby(["objective", "seed"]):
        final = run.iloc[-1]
        finite = run["fcd"].dropna()
        scored = scored_final(final)
        first = float(finite.iloc[0]) if len(finite) else math.nan
        diverged = bool(final["diverged"])
        out.setdefault(str(arm), {})[int(seed)] = {
            **scored, "first_fcd": first, "diverged": diverged,
            "fcd_ratio": math.inf if math.isinf(scored["fcd"]) else _ratio(scored["fcd"], first),
            "kl_measured": math.nan if diverged else float(final["kl_uniform"])}
    return out


def majority(label: str, yes: int, unknown: int, total: int) -> Outcome:
    """"In a majority of seeds": decided when the unknown seeds cannot change the answer."""
    if 2 * yes > total:
        return Outcome(REPRODUCED)
    if 2 * (yes + unknown) <= total:
        return Outcome(NOT_REPRODUCED, f"fails: {label}")
    return inconclusive(f"no data for: {label} ({unknown} of {total} seeds not measured)")


def _arm_median(arm: dict[int, dict], key: str) -> float:
    values = [v[key] for v in arm.values()]
    return _median(values) if values else math.nan


def _enough_seeds(runs) -> Outcome:
    counts = {arm: len(runs.get(arm, {})) for arm in ("wgan", "gan")}
    return check(f">= {MIN_SEEDS} seeds per arm (have WGAN {counts['wgan']}, GAN {counts['gan']})",
                 lambda: min(counts.values()) >= MIN_SEEDS)


def _ablate_measured(runs) -> str:
    w, g = runs.get("wgan", {}), runs.get("gan", {})
    return (f"median over {len(w)}/{len(g)} seeds (WGAN/GAN): FCD {_arm_median(w, 'fcd'):.4g} / "
            f"{_arm_median(g, 'fcd'):.4g}; classes {_arm_median(w, 'classes_covered'):.0f} / "
            f"{_arm_median(g, 'classes_covered'):.0f}; KL to uniform "
            f"{_arm_median(w, 'kl_uniform'):.3f} / {_arm_median(g, 'kl_uniform'):.3f}; diverged "
            f"{sum(v['diverged'] for v in w.values())} / {sum(v['diverged'] for v in g.values())}")


def rule_p2_fig5(frame) -> tuple[Outcome, str]:
    blocked = _needs(frame, ("variant", "fcd", "classes_covered"), "ablate/metrics.csv")
    if blocked:
        return blocked, ""
    runs = ablate_runs(frame, "dcgan")
    w_fcd, g_fcd = _arm_median(runs.get("wgan", {}), "fcd"), _arm_median(runs.get("gan", {}), "fcd")
    w_cls = _arm_median(runs.get("wgan", {}), "classes_covered")
    g_cls = _arm_median(runs.get("gan", {}), "classes_covered")
    ratio = max(w_fcd, g_fcd) / min(w_fcd, g_fcd) if min(w_fcd, g_fcd) > 0 else math.nan
    outcome = given(_enough_seeds(runs), lambda: all_of([
        check(f"FCDs within a factor {COMPARABLE_FCD_RATIO:g}",
              lambda: ratio <= COMPARABLE_FCD_RATIO, ratio),
        check(f"both arms cover >= {COMPARABLE_MIN_CLASSES} classes",
              lambda: min(w_cls, g_cls) >= COMPARABLE_MIN_CLASSES, w_cls, g_cls)]))
    return outcome, f"{_ablate_measured(runs)}; FCD ratio {ratio:.3g}"


def rule_p2_fig6(frame) -> tuple[Outcome, str]:
    blocked = _needs(frame, ("variant", "fcd", "classes_covered"), "ablate/metrics.csv")
    if blocked:
        return blocked, ""
    runs = ablate_runs(frame, "no_bn")
    wgan, gan = runs.get("wgan", {}), runs.get("gan", {})
    learned = _median([v["fcd_ratio"] for v in wgan.values()]) if wgan else math.nan
    w_cls = _arm_median(wgan, "classes_covered")
    w_fcd, g_fcd = _arm_median(wgan, "fcd"), _arm_median(gan, "fcd")
    common = sorted(set(wgan) & set(gan))
    worse = sum(gan[s]["fcd"] >= FAILED_MIN_FCD_FACTOR * wgan[s]["fcd"] for s in common)
    outcome = given(_enough_seeds(runs), lambda: all_of([
        check(f"WGAN final FCD <= {LEARNED_MAX_FCD_RATIO:g} x its first evaluation",
              lambda: learned <= LEARNED_MAX_FCD_RATIO, learned),
        check(f"WGAN covers >= {LEARNED_MIN_CLASSES} classes",
              lambda: w_cls >= LEARNED_MIN_CLASSES, w_cls),
        check(f"GAN FCD >= {FAILED_MIN_FCD_FACTOR:g} x WGAN's (seed median)",
              lambda: g_fcd >= FAILED_MIN_FCD_FACTOR * w_fcd, g_fcd, w_fcd),
        check(f"GAN FCD >= {FAILED_MIN_FCD_FACTOR:g} x WGAN's in a majority of seeds",
              lambda: 2 * worse > len(common))]))
    measured = (f"{_ablate_measured(runs)}; WGAN final/first FCD {learned:.3g}; GAN >= "
                f"{FAILED_MIN_FCD_FACTOR:g}x WGAN in {worse}/{len(common)} seeds")
    return outcome, measured


def rule_p2_fig7(frame) -> tuple[Outcome, str]:
    blocked = _needs(frame, ("variant", "fcd", "classes_covered", "kl_uniform"),
                     "ablate/metrics.csv")
    if blocked:
        return blocked, ""
    runs = ablate_runs(frame, "mlp")
    wgan, gan = runs.get("wgan", {}), runs.get("gan", {})
    # A diverged GAN run shows no collapse (nothing was sampled): its KL is missing, not worst.
    g_kl, w_kl = _arm_median(gan, "kl_measured"), _arm_median(wgan, "kl_uniform")
    w_cls = _arm_median(wgan, "classes_covered")
    collapsed = sum(v["kl_measured"] >= COLLAPSED_MIN_KL for v in gan.values())
    unmeasured = sum(_missing(v["kl_measured"]) for v in gan.values())
    # "Has not trained" is about runs that went on without learning; a diverged WGAN run is a
    # failure of the WGAN half itself (scored worst below), not a reason to withhold it.
    ratios = [v["fcd_ratio"] for v in wgan.values() if not v["diverged"]]
    trained = _median(ratios) if ratios else 0.0
    gan_half = all_of([
        check(f"GAN KL >= {COLLAPSED_MIN_KL:g} (seed median)", lambda: g_kl >= COLLAPSED_MIN_KL, g_kl),
        majority(f"GAN KL >= {COLLAPSED_MIN_KL:g} in a majority of seeds", collapsed, unmeasured,
                 len(gan))])
    wgan_half = given(
        check(f"the WGAN trained (final FCD <= {TRAINED_MAX_FCD_RATIO:g} x first evaluation)",
              lambda: trained <= TRAINED_MAX_FCD_RATIO, trained),
        lambda: all_of([
            check(f"WGAN covers >= {WGAN_MIN_CLASSES} classes", lambda: w_cls >= WGAN_MIN_CLASSES,
                  w_cls),
            check(f"WGAN KL <= {WGAN_MAX_KL:g}", lambda: w_kl <= WGAN_MAX_KL, w_kl)]))
    outcome = given(_enough_seeds(runs), lambda: all_of([gan_half, wgan_half]))
    measured = (f"{_ablate_measured(runs)}; GAN KL >= {COLLAPSED_MIN_KL:g} in {collapsed}/{len(gan)} "
                f"seeds; WGAN final/first FCD {trained:.3g}")
    return outcome, measured


# ==== P2 Figures 1-2: toy ===========================================================================
P2_FIG1_W = Claim(
    "toy", "p2_fig1_em_continuous",
    "parallel lines: the EM distance is |theta|, continuous in theta, and the clipped critic "
    "estimates it (P2 Fig. 1, Example 1)",
    "P2 Example 1: \"W(P0, P_theta) = |theta|\". Fig. 1: \"The EM plot is continuous and provides "
    "a usable gradient everywhere.\"",
    "at every theta on the grid, |critic estimate (divided by the critic's measured Lipschitz "
    "constant) - |theta|| <= 5% of the theta range, and so is the exact sample EMD",
    "W(P0, P_theta) = |theta|, continuous in theta")
W_TOLERANCE = 0.05  # 5% of the theta range: a line visibly on |theta| in the figure
THETA_RANGE = 2.0  # the grid spans [-1, 1]

P2_FIG1_JS = Claim(
    "toy", "p2_fig1_js_flat",
    "parallel lines: the JS divergence is log 2 for every theta != 0, blind to the distance "
    "(P2 Fig. 1, Example 1)",
    "P2 Example 1: \"JS(P0, P_theta) = log 2 if theta != 0, 0 if theta = 0\". Fig. 1: \"The JS "
    "plot is not continuous and does not provide a usable gradient.\"",
    "the trained discriminator's JS estimate is within 5% of log 2 at every theta != 0",
    "JS = log 2 for theta != 0, 0 at theta = 0: not continuous")
JS_FLAT_TOLERANCE = 0.05  # relative to log 2

P2_FIG2 = Claim(
    "toy", "p2_fig2_saturation",
    "two Gaussians: the optimal GAN discriminator saturates, the WGAN critic is nearly linear "
    "(P2 Fig. 2)",
    "P2 Fig. 2: \"As we can see, the discriminator of a minimax GAN saturates and results in "
    "vanishing gradients. Our WGAN critic provides very clean gradients on all parts of the "
    "space.\"",
    "mean |dD/dx| on the fake samples < 1% of its largest value on the grid, and the critic's "
    "R^2 of a straight-line fit over both distributions >= 0.95",
    "D flat (no gradient) on the fake data; critic linear, useful gradient")
SATURATED_RATIO = 0.01  # "saturates ... vanishing gradients": under 1% of the steepest slope
LINEAR_R2 = 0.95  # "very clean gradients": a near-constant slope


def rule_p2_fig1_w(summary: dict) -> tuple[Outcome, str]:
    tolerance = W_TOLERANCE * THETA_RANGE
    critic, emd = summary.get("critic_error_max"), summary.get("emd_error_max")
    outcome = all_of([check(f"critic within {tolerance:g} of |theta|", lambda: critic <= tolerance,
                            critic),
                      check(f"sample EMD within {tolerance:g} of |theta|", lambda: emd <= tolerance,
                            emd)])
    return outcome, (f"largest error: critic {_num(critic, '.3f')}, sample EMD {_num(emd, '.3f')} "
                     f"(tolerance {tolerance:.2f})")


def rule_p2_fig1_js(summary: dict) -> tuple[Outcome, str]:
    deviation, at_zero = summary.get("js_deviation_max"), summary.get("js_at_zero")
    outcome = check(f"JS within {JS_FLAT_TOLERANCE:.0%} of log 2",
                    lambda: deviation <= JS_FLAT_TOLERANCE, deviation)
    return outcome, (f"largest relative deviation from log 2: {_num(deviation, '.3f')}; at theta "
                     f"= 0: {_num(at_zero, '.3f')}")


def rule_p2_fig2(summary: dict) -> tuple[Outcome, str]:
    ratio, r2 = summary.get("discriminator_saturation_ratio"), summary.get("critic_linear_r2")
    outcome = all_of([check(f"saturation ratio < {SATURATED_RATIO:g}",
                            lambda: ratio < SATURATED_RATIO, ratio),
                      check(f"critic R^2 >= {LINEAR_R2:g}", lambda: r2 >= LINEAR_R2, r2)])
    return outcome, f"saturation ratio {_num(ratio, '.2e')}; critic R^2 {_num(r2, '.4f')}"


def _num(value, spec: str) -> str:
    return "n/a" if _missing(value) else f"{value:{spec}}"


# ==== P2 section 4.2: probe adam ====================================================================
P2_ADAM_QUOTE = (
    "P2 section 4.2: \"we report that WGAN training becomes unstable at times when one uses a "
    "momentum based optimizer such as Adam (with beta1 > 0) on the critic, or when one uses high "
    "learning rates. [...] as the loss blew up and samples got worse, the cosine between the Adam "
    "step and the gradient usually turned negative. The only places where this cosine was "
    "negative was in these situations of instability.\"")
BLOW_UP_RULE = (
    "A blow-up is a critic update whose estimate jumps > probe.blow_up_threshold robust "
    "deviations from the previous probe.jump_window updates; it counts only outside the warm-up "
    "(the generator iterations with the 100-step critic loop) and only when the next quality "
    "evaluation's FCD is worse than the one before it; its window is +-probe.blow_up_radius "
    "critic updates. No counted Adam blow-up: inconclusive. ")
P2_ADAM_NEGATIVE = Claim(
    "probe_adam", "p2_s42_negative_cosine_at_blow_ups",
    "when Adam's critic loss blows up and samples get worse, the step's cosine with the gradient "
    "turns negative (P2 section 4.2)", P2_ADAM_QUOTE,
    BLOW_UP_RULE + "Rule: in >= 50% of Adam's counted blow-ups a negative cosine (step vs "
    "-gradient) occurs within the window",
    "the cosine usually turned negative as the loss blew up")
NEGATIVE_AT_BLOW_UPS_MIN = 0.5  # "usually turned negative": at least half of the blow-ups

P2_ADAM_ONLY = Claim(
    "probe_adam", "p2_s42_negative_cosine_only_at_blow_ups",
    "Adam's step cosine is negative only in situations of instability (P2 section 4.2)",
    P2_ADAM_QUOTE,
    BLOW_UP_RULE + "Rule: >= 80% of Adam's negative cosines outside the warm-up fall inside "
    "counted blow-up windows (none at all: inconclusive)",
    "the only places where the cosine was negative were the instabilities")
NEGATIVE_INSIDE_MIN = 0.8  # "the only places": nearly all, allowing a few borderline windows

P2_ADAM_UNSTABLE = Claim(
    "probe_adam", "p2_s42_adam_blows_up_more",
    "with Adam on the critic, WGAN training blows up more often than with RMSProp at the same "
    "learning rate (P2 section 4.2)", P2_ADAM_QUOTE,
    BLOW_UP_RULE.replace("No counted Adam blow-up", "No counted blow-up in either arm")
    + "Rule: Adam's counted blow-ups per 1000 critic updates (outside the warm-up, "
    "seeds pooled) > RMSProp's, at the same learning rate",
    "training becomes unstable at times with Adam; RMSProp was chosen for it")


def adam_stats(cosine, quality, radius: int) -> dict[str, dict[str, Any]]:
    """Per arm (seeds pooled): counted blow-ups, how many have a negative cosine within the
    window, negative cosines outside the warm-up and how many fall inside a window."""
    stats: dict[str, dict[str, Any]] = {}
    for (arm, seed), group in cosine.groupby(["arm", "seed"]):
        group = group.sort_values("critic_step")
        per_iter = group.groupby("gen_iter")["critic_step"].count()
        warmup = set(per_iter[per_iter > per_iter.median()].index)  # the 100-step iterations
        outside = ~group["gen_iter"].isin(warmup)
        q = quality[(quality["arm"] == arm) & (quality["seed"] == seed)].sort_values("gen_iter")
        counted, undetermined = [], 0
        candidates = group[group["blow_up"].astype(bool) & outside]
        for row in candidates.itertuples():
            before = q[q["gen_iter"] < row.gen_iter]
            after = q[q["gen_iter"] >= row.gen_iter]
            if before.empty or after.empty:
                undetermined += 1
            elif after["fcd"].iloc[0] > before["fcd"].iloc[-1]:
                counted.append(row.critic_step)
        steps = group["critic_step"].to_numpy()
        negative = (group["step_cosine"] < 0).to_numpy() & outside.to_numpy()
        in_window = _within(steps, counted, radius)
        s = stats.setdefault(str(arm), {"blow_ups": 0, "jumps_outside": 0, "with_negative": 0,
                                        "negatives": 0, "negatives_inside": 0, "undetermined": 0,
                                        "updates_outside": 0, "lr": set()})
        s["blow_ups"] += len(counted)
        s["jumps_outside"] += len(candidates)
        s["with_negative"] += sum(bool((negative & _within(steps, [b], radius)).any())
                                  for b in counted)
        s["negatives"] += int(negative.sum())
        s["negatives_inside"] += int((negative & in_window).sum())
        s["undetermined"] += undetermined
        s["updates_outside"] += int(outside.sum())
        s["lr"] |= set(group["lr"].astype(float))
    return stats


def _within(steps, centres, radius: int):
    import numpy as np

    mask = np.zeros(len(steps), dtype=bool)
    for c in centres:
        mask |= np.abs(steps - c) <= radius
    return mask


def _adam_inputs(cosine, quality, radius, arm_needing_blow_ups: tuple[str, ...] = ("adam",)
                 ) -> tuple[Outcome | None, dict]:
    blocked = (_needs(cosine, ("arm", "seed", "lr", "gen_iter", "step_cosine", "blow_up",
                              "critic_step"), "probe/adam_cosine.csv")
               or _needs(quality, ("arm", "gen_iter", "fcd"), "probe/adam_quality.csv "
                         "(quality evaluations during the probe: rerun probe adam)"))
    if blocked:
        return blocked, {}
    if radius is None:
        return inconclusive("needs probe.blow_up_radius (probe/config_adam.yaml)"), {}
    stats = adam_stats(cosine, quality, int(radius))
    if "adam" not in stats or "rmsprop" not in stats:
        return inconclusive("needs both arms, adam and rmsprop"), stats
    if all(stats[arm]["blow_ups"] == 0 for arm in arm_needing_blow_ups):
        who = "Adam" if arm_needing_blow_ups == ("adam",) else "in either arm"
        return inconclusive(f"no counted {'Adam blow-up' if who == 'Adam' else 'blow-up ' + who} "
                            "(outside the warm-up, with samples getting worse): nothing to test "
                            "at this length and learning rate"), stats
    return None, stats


def _adam_context(stats: dict) -> str:
    parts = []
    for arm in ("adam", "rmsprop"):
        if arm in stats:
            s = stats[arm]
            parts.append(f"{arm}: {s['jumps_outside']} estimate jumps outside the warm-up, "
                         f"{s['blow_ups']} of them followed by worse samples (counted blow-ups; "
                         f"{s['undetermined']} before the first evaluation), {s['negatives']} "
                         f"negative cosines outside the warm-up in {s['updates_outside']} updates")
    return "; ".join(parts)


def rule_p2_adam_negative(cosine, quality, radius) -> tuple[Outcome, str]:
    blocked, stats = _adam_inputs(cosine, quality, radius)
    if blocked:
        return blocked, _adam_context(stats)
    a = stats["adam"]
    share = a["with_negative"] / a["blow_ups"]
    outcome = check(f"negative cosine in >= {NEGATIVE_AT_BLOW_UPS_MIN:.0%} of Adam's blow-ups",
                    lambda: share >= NEGATIVE_AT_BLOW_UPS_MIN, share)
    return outcome, (f"Adam blow-ups with a negative cosine in the window: {a['with_negative']}/"
                     f"{a['blow_ups']} ({share:.0%}); {_adam_context(stats)}")


def rule_p2_adam_only(cosine, quality, radius) -> tuple[Outcome, str]:
    blocked, stats = _adam_inputs(cosine, quality, radius)
    if blocked:
        return blocked, _adam_context(stats)
    a = stats["adam"]
    if a["negatives"] == 0:
        return inconclusive("no negative Adam cosine outside the warm-up"), _adam_context(stats)
    share = a["negatives_inside"] / a["negatives"]
    outcome = check(f">= {NEGATIVE_INSIDE_MIN:.0%} of Adam's negative cosines inside blow-up windows",
                    lambda: share >= NEGATIVE_INSIDE_MIN, share)
    return outcome, (f"Adam negative cosines inside blow-up windows: {a['negatives_inside']}/"
                     f"{a['negatives']} ({share:.0%}); {_adam_context(stats)}")


def rule_p2_adam_unstable(cosine, quality, radius) -> tuple[Outcome, str]:
    # Fewer Adam than RMSProp blow-ups contradicts the claim: inconclusive only if neither arm
    # blew up.
    blocked, stats = _adam_inputs(cosine, quality, radius, ("adam", "rmsprop"))
    if blocked:
        return blocked, _adam_context(stats)
    rate = {arm: 1000 * s["blow_ups"] / max(s["updates_outside"], 1) for arm, s in stats.items()}
    lrs = stats["adam"]["lr"] | stats["rmsprop"]["lr"]
    same_lr = check(f"both arms at the same learning rate (have {sorted(lrs)})",
                    lambda: len(lrs) == 1)
    outcome = given(same_lr, lambda: check("Adam blows up more often than RMSProp",
                                           lambda: rate["adam"] > rate["rmsprop"]))
    return outcome, (f"counted blow-ups per 1000 critic updates: Adam {rate['adam']:.2f}, RMSProp "
                     f"{rate['rmsprop']:.2f}; {_adam_context(stats)}")


# ==== P1 section 3: probe noise =====================================================================
P1_NOISE = Claim(
    "probe_noise", "p1_s3_noise_keeps_gradient",
    "noise on the discriminator's inputs keeps the original cost's gradient from vanishing "
    "(P1 section 3)",
    "P1 section 3: \"Something we can do to break the assumptions of these theorems is add "
    "continuous noise to the inputs of the discriminator, therefore smoothening the distribution "
    "of the probability mass. [...] Because of the noise, we can train the discriminator till "
    "optimality without any problems and get smooth interpretable gradients\"",
    "P1 proposes the noise and runs no experiment; its prediction is tested with a fixed sigma "
    "(no annealing during the discriminator's run): for at least one sigma tried (all reported), "
    "the original cost's norm decays < 1 order from d_iter 0 (seed median) for every snapshot; "
    "precondition: without noise it decays >= 1 order for every snapshot (the control)",
    "with noise, D can be trained to optimality and the gradients stay useful")
NOISE_MAX_DECAY_ORDERS = 1.0  # "get smooth interpretable gradients": no vanishing (< 10x)
CONTROL_MIN_DECAY_ORDERS = 1.0  # the control must show P1 Fig. 2's vanishing (>= 10x)
CONTROL_ARM = "without_noise"


def _arm_decay(frame) -> dict[str, float]:
    edges = per_seed_edges(frame, "grad_norm_original")
    return _seed_median_by_epoch(edges, lambda r: _log10_ratio(r["start"], r["last"]))


def rule_p1_noise(frame) -> tuple[Outcome, str]:
    blocked = _needs(frame, ("arm", "grad_norm_original", "instance_noise_std"),
                     "probe/instance_noise.csv")
    if blocked:
        return blocked, ""
    control = frame[frame["arm"] == CONTROL_ARM]
    decay_control = _arm_decay(control) if not control.empty else {}
    parts, text = [], []
    for arm, group in frame[frame["arm"] != CONTROL_ARM].groupby("arm"):
        sigmas = sorted(set(group["instance_noise_std"].round(12)))
        decay = _arm_decay(group)
        label = f"sigma {sigmas[0]:g}" if len(sigmas) == 1 else f"{arm} (annealed)"
        text.append(f"{label}: {_fmt(decay)}")
        if len(sigmas) != 1 or sigmas[0] <= 0:
            parts.append(inconclusive(f"{arm}: the rule needs a fixed sigma > 0, this run's noise "
                                      f"went {sigmas[0]:g} .. {sigmas[-1]:g}"))
            continue
        parts.append(all_of([check(f"{label}, {e}: decays < {NOISE_MAX_DECAY_ORDERS:g} order",
                                   lambda v=v: v < NOISE_MAX_DECAY_ORDERS, v)
                             for e, v in decay.items()]))
    control_ok = all_of([check(f"control, {e}: decays >= {CONTROL_MIN_DECAY_ORDERS:g} order",
                               lambda v=v: v >= CONTROL_MIN_DECAY_ORDERS, v)
                         for e, v in decay_control.items()])
    outcome = given(control_ok, lambda: any_of(parts) if parts
                    else inconclusive("no arm with noise"))
    measured = (f"orders decayed from d_iter 0 (seed median), without noise: {_fmt(decay_control)}; "
                + "; ".join(text))
    return outcome, measured


# ==== from files to claims.csv =====================================================================
def _read(path: Path):
    import pandas as pd

    return pd.read_csv(path) if Path(path).exists() else None


def _load_json(path: Path) -> dict:
    return json.loads(Path(path).read_text()) if Path(path).exists() else {}


def _load_yaml(path: Path) -> dict:
    import yaml

    return yaml.safe_load(Path(path).read_text()) or {} if Path(path).exists() else {}


def _previous_sources(results_dir: Path, experiment: str) -> list[str]:
    """The sources an older claims.csv recorded for this experiment (rejudging old runs)."""
    old = _read(Path(results_dir) / "claims.csv")
    if old is None or "source" not in old.columns:
        return []
    return [str(s) for s in old.loc[old["experiment"] == experiment, "source"].dropna()]


def _source(results_dir: Path, experiment: str, summary: dict, default: str) -> str:
    previous = _previous_sources(results_dir, experiment)
    return summary.get("source") or (previous[0] if previous else default)


def _judged(claims_and_rules, source: str, blocked: Outcome | None = None) -> list[Claim]:
    if blocked is not None:
        return [claim.judged(blocked, blocked.reason, source) for claim, _ in claims_and_rules]
    return [claim.judged(*rule(), source) for claim, rule in claims_and_rules]


def judge_fig2(results_dir: Path) -> list[Claim]:
    out = Path(results_dir) / "fig2"
    frame, updates = _read(out / "grad_norms.csv"), _read(out / "update_quality.csv")
    summary = _load_json(out / "summary.json")
    source = _source(results_dir, "fig2", summary, "fig2/grad_norms.csv")
    blocked = None
    if (frame is None or frame.empty) and summary.get("diverged_dcgan"):
        blocked = inconclusive("every seed's DCGAN diverged: no snapshots")
    return _judged([(P1_FIG1, lambda: rule_p1_fig1(frame)), (P1_FIG2, lambda: rule_p1_fig2(frame)),
                    (P1_FIG3_GROW, lambda: rule_p1_fig3_grow(frame)),
                    (P1_FIG3_VARIANCE, lambda: rule_p1_fig3_variance(frame)),
                    (P1_FIG3_QUALITY, lambda: rule_p1_fig3_quality(updates))], source, blocked)


def judge_curve(results_dir: Path) -> list[Claim]:
    out = Path(results_dir) / "curve"
    curve, quality = _read(out / "curve.csv"), _read(out / "quality.csv")
    source = _source(results_dir, "curve", _load_json(out / "summary.json"),
                     "curve/curve.csv, curve/quality.csv")
    return _judged([(P2_FIG3_TRACKS, lambda: rule_p2_fig3_tracks(curve, quality)),
                    (P2_FIG4_JS, lambda: rule_p2_fig4_js(curve, quality)),
                    (P2_FIG3_FAILED, lambda: rule_p2_fig3_failed(curve, quality))], source)


ABLATE_RULES = {"dcgan": (P2_FIG5, rule_p2_fig5), "no_bn": (P2_FIG6, rule_p2_fig6),
                "mlp": (P2_FIG7, rule_p2_fig7)}


def judge_ablate(results_dir: Path) -> list[Claim]:
    """One claim per variant present in ablate/metrics.csv (variants run on other days stay)."""
    out = Path(results_dir) / "ablate"
    frame = _read(out / "metrics.csv")
    summary = _load_json(out / "summary.json")
    variants = summary.get("variants", {})
    present = set(frame["variant"]) if frame is not None and "variant" in frame else set()
    previous = _previous_sources(results_dir, "ablate")
    claims = []
    for variant, (claim, rule) in ABLATE_RULES.items():
        if variant not in present:
            continue
        entry = variants.get(variant, {})
        source = entry.get("source") or (previous[0] if previous else "ablate/metrics.csv")
        outcome, measured = rule(frame)
        measured += _ablate_context(variant, entry, summary.get("generator_parameters", {}))
        claims.append(claim.judged(outcome, measured, source))
    return claims


def _ablate_context(variant: str, entry: dict, params: dict) -> str:
    text = ""
    if not _missing(entry.get("fcd_real_vs_real")):
        text += f"; real-vs-real FCD {entry['fcd_real_vs_real']:.4g}"
    dcgan = params.get("dcgan_at_no_bn_size") or params.get("dcgan")  # same image size first
    if variant == "no_bn" and dcgan and params.get("no_bn"):
        text += (f"; generator parameters DCGAN {dcgan} vs no-BN {params['no_bn']} "
                 f"({dcgan / params['no_bn']:.1f}x fewer)")
    return text


def judge_toy(results_dir: Path) -> list[Claim]:
    summary = _load_json(Path(results_dir) / "toy" / "summary.json")
    source = _source(results_dir, "toy", summary, "toy/parallel_lines.csv, toy/two_gaussians.csv")
    return _judged([(P2_FIG1_W, lambda: rule_p2_fig1_w(summary)),
                    (P2_FIG1_JS, lambda: rule_p2_fig1_js(summary)),
                    (P2_FIG2, lambda: rule_p2_fig2(summary))], source)


def judge_probe_adam(results_dir: Path) -> list[Claim]:
    out = Path(results_dir) / "probe"
    cosine, quality = _read(out / "adam_cosine.csv"), _read(out / "adam_quality.csv")
    summary = _load_json(out / "adam_summary.json")
    radius = summary.get("blow_up_radius")
    if radius is None:
        radius = (_load_yaml(out / "config_adam.yaml").get("probe") or {}).get("blow_up_radius")
    source = _source(results_dir, "probe_adam", summary, "probe/adam_cosine.csv")
    return _judged([(P2_ADAM_NEGATIVE, lambda: rule_p2_adam_negative(cosine, quality, radius)),
                    (P2_ADAM_ONLY, lambda: rule_p2_adam_only(cosine, quality, radius)),
                    (P2_ADAM_UNSTABLE, lambda: rule_p2_adam_unstable(cosine, quality, radius))],
                   source)


def judge_probe_noise(results_dir: Path) -> list[Claim]:
    out = Path(results_dir) / "probe"
    frame = _read(out / "instance_noise.csv")
    summary = _load_json(out / "noise_summary.json")
    source = _source(results_dir, "probe_noise", summary, "probe/instance_noise.csv")
    blocked = None
    if (frame is None or frame.empty) and summary.get("diverged_dcgan"):
        blocked = inconclusive("every seed's DCGAN diverged: no snapshots")
    return _judged([(P1_NOISE, lambda: rule_p1_noise(frame))], source, blocked)


# experiment -> (judge, the file whose presence means the experiment ran, its summary.json)
JUDGES: dict[str, tuple[Callable[[Path], list[Claim]], str, str]] = {
    "fig2": (judge_fig2, "fig2/grad_norms.csv", "fig2/summary.json"),
    "curve": (judge_curve, "curve/curve.csv", "curve/summary.json"),
    "ablate": (judge_ablate, "ablate/metrics.csv", "ablate/summary.json"),
    "toy": (judge_toy, "toy/summary.json", "toy/summary.json"),
    "probe_adam": (judge_probe_adam, "probe/adam_cosine.csv", "probe/adam_summary.json"),
    "probe_noise": (judge_probe_noise, "probe/instance_noise.csv", "probe/noise_summary.json"),
}
ALL_CLAIMS = (P1_FIG1, P1_FIG2, P1_FIG3_GROW, P1_FIG3_VARIANCE, P1_FIG3_QUALITY, P2_FIG3_TRACKS,
              P2_FIG4_JS, P2_FIG3_FAILED, P2_FIG5, P2_FIG6, P2_FIG7, P2_FIG1_W, P2_FIG1_JS, P2_FIG2,
              P2_ADAM_NEGATIVE, P2_ADAM_ONLY, P2_ADAM_UNSTABLE, P1_NOISE)


def record(results_dir: Path, experiment: str) -> list[dict[str, str]]:
    """Judge one experiment from its files, replace its rows of claims.csv, and keep the
    claims in its summary.json too; returns the rows."""
    from wgan_repro.results import update_claims, write_json

    judge, _, summary_file = JUDGES[experiment]
    rows = [claim.row() for claim in judge(Path(results_dir))]
    update_claims(Path(results_dir), experiment, rows)
    summary_path = Path(results_dir) / summary_file
    if summary_path.exists():
        summary = _load_json(summary_path)
        summary["claims"] = rows
        write_json(summary_path, summary)
    return rows


def rejudge(results_dir: Path) -> dict[str, list[dict[str, str]]]:
    """Recompute the claims of every experiment that has results in ``results_dir`` from its
    files, with the rules of this version (no training)."""
    return {experiment: record(results_dir, experiment)
            for experiment, (_, marker, _) in JUDGES.items()
            if (Path(results_dir) / marker).exists()}
