"""P2 Figures 3-4 (experiment curve): the WGAN critic's estimate of the EM distance tracks sample
quality, a WGAN run that fails to train shows it, and the standard GAN's JS estimate does not
track quality.

Files: curve/curve.csv (the estimates at every generator iteration of every run),
curve/quality.csv (sample quality at the evaluation points), curve/summary.json.

Every claim is judged on every seed (verdicts.seed_verdict): one value per run and seed, the
rank correlations computed here only (summary.json and the figures quote claims_seeds.csv).

P2 = Arjovsky, Chintala & Bottou, "Wasserstein GAN" (ICML 2017, arXiv 1701.07875).
"""

from __future__ import annotations

import math
from pathlib import Path

from wgan_repro.claims import read_json, read_table, source_of
from wgan_repro.stats import curve_runs, ratio, spearman
from wgan_repro.verdicts import (
    SEED_RULE,
    Claim,
    Judged,
    Outcome,
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

EXPERIMENT = "curve"
CURVE = "curve/curve.csv"
QUALITY = "curve/quality.csv"

TRACKS_MIN_SPEARMAN = 0.8  # "correlates well": a strong rank correlation
TRAINED_MAX_EMD_RATIO = 0.9  # a run "trained" when its EMD fell by at least 10%
TRACKING_RUNS = ("wgan_dcgan", "wgan_mlp")  # P2 Fig. 3's upper panels
TRACKS_STATISTIC = "Spearman(filtered estimate, EMD)"
P2_FIG3_TRACKS = Claim(
    EXPERIMENT, "p2_fig3_estimate_tracks_quality",
    "the WGAN critic's estimate is a loss that tracks sample quality (P2 Fig. 3, MLP and DCGAN "
    "generators)",
    "P2 section 4.2: \"Our first experiment illustrates how this estimate correlates well with "
    "the quality of the generated samples.\" Fig. 3: \"We can see a clear correlation between "
    "lower error and better sample quality.\"",
    f"per seed, for each WGAN run ({' and '.join(TRACKING_RUNS)}: DCGAN and MLP generator), one "
    "part each: Spearman(median-filtered estimate, pixel EMD to held-out digits) over the "
    f"evaluation points >= {TRACKS_MIN_SPEARMAN:g}; precondition, per seed: the run trained "
    f"(last EMD <= {TRAINED_MAX_EMD_RATIO:g} x first), else that seed's value is not judged (the "
    f"run did not train at this budget). {SEED_RULE}",
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
    "per seed, for each standard-GAN run (gan_*), two parts: \"Spearman\": Spearman(median-"
    f"filtered JS estimate 1/2 L + log 2, pixel EMD) <= {JS_MAX_SPEARMAN:g} (one-sided: an "
    "estimate that rises while quality improves agrees with the paper; an estimate constant over "
    f"the evaluation points while EMD varies counts as {CONSTANT_SPEARMAN:g}), and \"JS change\": "
    f"the filtered estimate's last value >= its first - {JS_MAX_FALL:g}; context: share of "
    f"iterations within {JS_NEAR_LOG2:g} of log 2. {SEED_RULE}",
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
    "per seed, for the MLP generator + MLP critic run at a high learning rate "
    f"({FAILING_RUN_PREFIX}*), two parts: \"estimate change\": the filtered estimate changes "
    f"< {FAILED_MAX_CHANGE:.0%} between the first and last evaluation points, and \"EMD "
    f"last/first\": the last EMD >= {FAILED_MIN_EMD_RATIO:g} x the first. {SEED_RULE}",
    "estimate flat (~15) while samples stay bad")

CLAIMS = (P2_FIG3_TRACKS, P2_FIG4_JS, P2_FIG3_FAILED)


def spearman_part(run: str) -> tuple[str, str]:
    """(claim_id, part) of the claims_seeds.csv rows that hold a run's judged Spearman (the
    figures quote them): a standard-GAN run's in P2 Fig. 4's claim, a WGAN run's in Fig. 3's."""
    if run.startswith("gan_"):
        return P2_FIG4_JS.claim_id, f"{run}: Spearman"
    return P2_FIG3_TRACKS.claim_id, run


def _constant(values) -> bool:
    import numpy as np

    values = np.asarray(values, dtype=float)
    return len(values) >= 3 and bool(np.all(values == values[0]))


def _emd_ratio(entry) -> float:
    emd = entry["emd"]
    return ratio(emd[-1], emd[0]) if len(emd) >= 2 else math.nan


def _blocked(curve, quality, estimate: str) -> Outcome | None:
    return needs(curve, ("run", estimate), CURVE) or needs(quality, ("emd",), QUALITY)


def _runs(curve, quality, keep) -> dict[str, dict[int, dict]]:
    """{run: {seed: curve_runs' entry}} for the runs ``keep`` selects by name."""
    runs: dict[str, dict[int, dict]] = {}
    for key, entry in curve_runs(curve, quality).items():
        if keep(entry["run"]):
            runs.setdefault(entry["run"], {})[int(key.rpartition("/s")[2])] = entry
    return dict(sorted(runs.items()))


def _gains(runs: dict[str, dict[int, dict]]) -> str:
    gains = {f"{run}/s{seed}": _emd_ratio(e) for run, seeds in runs.items()
             for seed, e in sorted(seeds.items())}
    return f"EMD last/first: {fmt(gains)}"


def _tracks_value(run: str, seed: int, entry) -> SeedValue:
    rho, gain = spearman(entry["at_eval"], entry["emd"]), _emd_ratio(entry)
    required = f">= {TRACKS_MIN_SPEARMAN:g}"
    if missing(gain):
        return unmeasured(run, seed, TRACKS_STATISTIC, required, "no EMD to tell whether the "
                          "run trained", rho)
    if gain > TRAINED_MAX_EMD_RATIO:
        return unmeasured(run, seed, TRACKS_STATISTIC, required,
                          "the run did not train at this budget", rho)
    return measured(run, seed, TRACKS_STATISTIC, rho, ">=", TRACKS_MIN_SPEARMAN)


def rule_p2_fig3_tracks(curve, quality) -> Judged:
    blocked = _blocked(curve, quality, "wasserstein_estimate")
    if blocked:
        return blocked, "", []
    runs = _runs(curve, quality, lambda name: name in TRACKING_RUNS)
    if not runs:
        return inconclusive(f"no run named {' or '.join(TRACKING_RUNS)}"), "", []
    seeds = sorted({seed for entries in runs.values() for seed in entries})
    values = []
    for run in TRACKING_RUNS:  # a tracking run that is not there: its part is not judged
        for seed in seeds:
            entry = runs.get(run, {}).get(seed)
            values.append(_tracks_value(run, seed, entry) if entry is not None else unmeasured(
                run, seed, TRACKS_STATISTIC, f">= {TRACKS_MIN_SPEARMAN:g}", "the run is missing"))
    return seed_verdict(values), f"{describe(values)}; {_gains(runs)}", values


def _js_values(run: str, seed: int, entry) -> tuple[SeedValue, SeedValue]:
    filtered = entry["filtered"]
    rho = spearman(entry["at_eval"], entry["emd"])
    if missing(rho) and _constant(entry["at_eval"]) and not _constant(entry["emd"]):
        rho = CONSTANT_SPEARMAN  # "stays constant": no rank correlation with a change
    moved = float(filtered.iloc[-1] - filtered.iloc[0])
    return (measured(f"{run}: Spearman", seed, "filtered JS vs EMD", rho, "<=",
                     JS_MAX_SPEARMAN),
            measured(f"{run}: JS change", seed, "filtered JS last - first", moved, ">=",
                     -JS_MAX_FALL))


def rule_p2_fig4_js(curve, quality) -> Judged:
    blocked = _blocked(curve, quality, "js_estimate")
    if blocked:
        return blocked, "", []
    runs = _runs(curve, quality, lambda name: name.startswith("gan_"))
    if not runs:
        return inconclusive("no standard-GAN run (gan_*)"), "", []
    values, near = [], {}
    for run, seeds in runs.items():
        for seed, entry in sorted(seeds.items()):
            values += _js_values(run, seed, entry)
            near[f"{run}/s{seed}"] = float((abs(entry["filtered"] - math.log(2))
                                            <= JS_NEAR_LOG2).mean())
    text = (f"{describe(values)}; context: share within {JS_NEAR_LOG2:g} of log 2: "
            f"{fmt(near, '.0%')}; {_gains(runs)}")
    return seed_verdict(values), text, values


def rule_p2_fig3_failed(curve, quality) -> Judged:
    blocked = _blocked(curve, quality, "wasserstein_estimate")
    if blocked:
        return blocked, "", []
    runs = _runs(curve, quality, lambda name: name.startswith(FAILING_RUN_PREFIX))
    if not runs:
        return inconclusive(f"no run named {FAILING_RUN_PREFIX}*"), "", []
    values = []
    for run, seeds in runs.items():
        for seed, entry in sorted(seeds.items()):
            at_eval = entry["at_eval"]
            change = (abs(at_eval[-1] - at_eval[0]) / max(abs(at_eval[0]), 1e-12)
                      if len(at_eval) >= 2 else math.nan)
            values += [measured(f"{run}: estimate change", seed,
                                "relative change", change, "<",
                                FAILED_MAX_CHANGE),
                       measured(f"{run}: EMD last/first", seed, "ratio",
                                _emd_ratio(entry), ">=", FAILED_MIN_EMD_RATIO)]
    return seed_verdict(values), describe(values), values


def judge(results_dir: Path) -> list[Claim]:
    out = Path(results_dir) / EXPERIMENT
    curve, quality = read_table(out / "curve.csv"), read_table(out / "quality.csv")
    source = source_of(results_dir, EXPERIMENT, read_json(out / "summary.json"),
                       f"{CURVE}, {QUALITY}")
    return judge_all([(P2_FIG3_TRACKS, lambda: rule_p2_fig3_tracks(curve, quality)),
                      (P2_FIG4_JS, lambda: rule_p2_fig4_js(curve, quality)),
                      (P2_FIG3_FAILED, lambda: rule_p2_fig3_failed(curve, quality))], source)
