"""P2 Figures 3-4 (experiment curve): the WGAN critic's estimate of the EM distance tracks sample
quality, a WGAN run that fails to train shows it, and the standard GAN's JS estimate does not
track quality.

Files: curve/curve.csv (the estimates at every generator iteration of every run),
curve/quality.csv (sample quality at the evaluation points), curve/summary.json.

P2 = Arjovsky, Chintala & Bottou, "Wasserstein GAN" (ICML 2017, arXiv 1701.07875).
"""

from __future__ import annotations

import math
from pathlib import Path

from wgan_repro.claims import read_json, read_table, source_of
from wgan_repro.stats import curve_runs, ratio, spearman
from wgan_repro.verdicts import (
    Claim,
    Outcome,
    all_of,
    check,
    fmt,
    given,
    inconclusive,
    judge_all,
    missing,
    needs,
)

EXPERIMENT = "curve"
CURVE = "curve/curve.csv"
QUALITY = "curve/quality.csv"

TRACKS_MIN_SPEARMAN = 0.8  # "correlates well": a strong rank correlation
TRAINED_MAX_EMD_RATIO = 0.9  # a run "trained" when its EMD fell by at least 10%
TRACKING_RUNS = ("wgan_dcgan", "wgan_mlp")  # P2 Fig. 3's upper panels
P2_FIG3_TRACKS = Claim(
    EXPERIMENT, "p2_fig3_estimate_tracks_quality",
    "the WGAN critic's estimate is a loss that tracks sample quality (P2 Fig. 3, MLP and DCGAN "
    "generators)",
    "P2 section 4.2: \"Our first experiment illustrates how this estimate correlates well with "
    "the quality of the generated samples.\" Fig. 3: \"We can see a clear correlation between "
    "lower error and better sample quality.\"",
    "for each WGAN run (DCGAN and MLP generator): Spearman(median-filtered estimate, pixel EMD "
    f"to held-out digits) over the evaluation points >= {TRACKS_MIN_SPEARMAN:g}; precondition: "
    f"the run's quality improved (last EMD <= {TRAINED_MAX_EMD_RATIO:g} x first), otherwise that "
    "run is inconclusive (did not train at this budget) and the claim cannot be reproduced",
    "estimate falls as samples improve (MLP 1.5 -> 0.37, DCGAN 1.6 -> 0.12)")

JS_MAX_SPEARMAN = 0.5  # "correlates poorly": at most a weak positive rank correlation
JS_MAX_FALL = 0.05  # "stays constant or goes up instead of going down"
JS_NEAR_LOG2 = 0.1  # context only: "often remains very close to log 2"
CONSTANT_SPEARMAN = 0.0  # an estimate constant while EMD varies: no rank correlation
P2_FIG4_JS = Claim(
    EXPERIMENT, "p2_fig4_js_uninformative",
    "the standard GAN's JS estimate does not track sample quality and does not go down (P2 Fig. 4)",
    "P2 section 4.2: \"This quantity clearly correlates poorly the sample quality. Note also that "
    "the JS estimate usually stays constant or goes up instead of going down. In fact it often "
    "remains very close to log 2 ~ 0.69 which is the highest value taken by the JS distance.\"",
    "for each standard-GAN run: Spearman(median-filtered JS estimate 1/2 L + log 2, pixel EMD) "
    f"<= {JS_MAX_SPEARMAN:g} (one-sided: an estimate that rises while quality improves agrees "
    "with the paper; an estimate constant over the evaluation points while EMD varies counts as "
    f"{CONSTANT_SPEARMAN:g}), and the filtered estimate's last value >= its first - "
    f"{JS_MAX_FALL:g}; context: share of iterations within {JS_NEAR_LOG2:g} of log 2",
    "JS estimate stays near log 2 = 0.69 or rises while samples improve")

FAILED_MAX_CHANGE = 0.2  # "loss is constant": within 20%
FAILED_MIN_EMD_RATIO = 0.9  # "samples are constant": EMD falls by less than 10%
FAILING_RUN_PREFIX = "wgan_mlp_mlp"
P2_FIG3_FAILED = Claim(
    EXPERIMENT, "p2_fig3_failed_run_flat",
    "a WGAN run that fails to train shows it: flat estimate, samples that do not improve "
    "(P2 Fig. 3 lower half)",
    "P2 Fig. 3: \"Lower half: both the generator and the discriminator are MLPs with "
    "substantially high learning rates (so training failed). Loss is constant and samples are "
    "constant as well.\"",
    "for the MLP generator + MLP critic run at a high learning rate: the filtered estimate "
    f"changes < {FAILED_MAX_CHANGE:.0%} between the first and last evaluation points and the "
    f"last EMD >= {FAILED_MIN_EMD_RATIO:g} x the first",
    "estimate flat (~15) while samples stay bad")

CLAIMS = (P2_FIG3_TRACKS, P2_FIG4_JS, P2_FIG3_FAILED)


def _constant(values) -> bool:
    import numpy as np

    values = np.asarray(values, dtype=float)
    return len(values) >= 3 and bool(np.all(values == values[0]))


def _emd_ratio(entry) -> float:
    emd = entry["emd"]
    return ratio(emd[-1], emd[0]) if len(emd) >= 2 else math.nan


def _blocked(curve, quality, estimate: str) -> Outcome | None:
    return needs(curve, ("run", estimate), CURVE) or needs(quality, ("emd",), QUALITY)


def rule_p2_fig3_tracks(curve, quality) -> tuple[Outcome, str]:
    blocked = _blocked(curve, quality, "wasserstein_estimate")
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
    measured = (f"Spearman(filtered estimate, EMD): {fmt(rho)}; EMD last/first: {fmt(gain)}")
    if not runs:
        return inconclusive(f"no run named {' or '.join(TRACKING_RUNS)}"), measured
    return all_of(outcomes), measured


def rule_p2_fig4_js(curve, quality) -> tuple[Outcome, str]:
    blocked = _blocked(curve, quality, "js_estimate")
    if blocked:
        return blocked, ""
    runs = {k: v for k, v in curve_runs(curve, quality).items() if v["run"].startswith("gan_")}
    outcomes, rho, moved, near, gain = [], {}, {}, {}, {}
    for key, entry in runs.items():
        filtered = entry["filtered"]
        rho[key] = spearman(entry["at_eval"], entry["emd"])
        if missing(rho[key]) and _constant(entry["at_eval"]) and not _constant(entry["emd"]):
            rho[key] = CONSTANT_SPEARMAN  # "stays constant": no rank correlation with a change
        moved[key] = float(filtered.iloc[-1] - filtered.iloc[0])
        near[key] = float((abs(filtered - math.log(2)) <= JS_NEAR_LOG2).mean())
        gain[key] = _emd_ratio(entry)
        outcomes.append(all_of([
            check(f"{key} Spearman <= {JS_MAX_SPEARMAN:g}", lambda r=rho[key]: r <= JS_MAX_SPEARMAN,
                  rho[key]),
            check(f"{key} JS estimate falls by <= {JS_MAX_FALL:g}",
                  lambda m=moved[key]: m >= -JS_MAX_FALL, moved[key])]))
    measured = (f"Spearman(filtered JS, EMD): {fmt(rho)}; filtered JS last - first: "
                f"{fmt(moved, '+.3f')}; context: share within {JS_NEAR_LOG2:g} of log 2: "
                f"{fmt(near, '.0%')}; EMD last/first: {fmt(gain)}")
    if not runs:
        return inconclusive("no standard-GAN run (gan_*)"), measured
    return all_of(outcomes), measured


def rule_p2_fig3_failed(curve, quality) -> tuple[Outcome, str]:
    blocked = _blocked(curve, quality, "wasserstein_estimate")
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
    measured = f"relative change of the estimate: {fmt(change)}; EMD last/first: {fmt(gain)}"
    if not runs:
        return inconclusive(f"no run named {FAILING_RUN_PREFIX}*"), measured
    return all_of(outcomes), measured


def judge(results_dir: Path) -> list[Claim]:
    out = Path(results_dir) / EXPERIMENT
    curve, quality = read_table(out / "curve.csv"), read_table(out / "quality.csv")
    source = source_of(results_dir, EXPERIMENT, read_json(out / "summary.json"),
                       f"{CURVE}, {QUALITY}")
    return judge_all([(P2_FIG3_TRACKS, lambda: rule_p2_fig3_tracks(curve, quality)),
                      (P2_FIG4_JS, lambda: rule_p2_fig4_js(curve, quality)),
                      (P2_FIG3_FAILED, lambda: rule_p2_fig3_failed(curve, quality))], source)
