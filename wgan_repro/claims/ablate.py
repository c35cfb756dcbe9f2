"""P2 Figures 5-7 (experiment ablate): WGAN against the standard GAN with a DCGAN generator (both
work), a generator without batch norm (the GAN fails) and an MLP generator (the GAN
mode-collapses, WGAN does not).

Files: ablate/metrics.csv (every evaluation of every run: variant, arm, seed; older files call
the arm column "objective"), ablate/summary.json. One claim per variant present: variants run on
other days keep their rows of claims.csv.

Every claim is judged on every seed (verdicts.seed_verdict): the two arms are compared seed by
seed, the same seed in both arms being one seed pair.

P2 = Arjovsky, Chintala & Bottou, "Wasserstein GAN" (ICML 2017, arXiv 1701.07875).
"""

from __future__ import annotations

import math
from pathlib import Path

from wgan_repro.claims import previous_sources, read_json, read_table
from wgan_repro.results import RENAMED_COLUMNS
from wgan_repro.stats import ARM_COLUMN, DIGIT_CLASSES, ablate_runs
from wgan_repro.verdicts import (
    MIN_SEEDS,
    SEED_RULE,
    Claim,
    Judged,
    SeedValue,
    describe,
    fmt,
    measured,
    missing,
    needs,
    seed_verdict,
    unmeasured,
)

EXPERIMENT = "ablate"
METRICS = "ablate/metrics.csv"

# Two arms are compared seed by seed: the same seed in both arms is one seed pair; a seed run in
# one arm only is not judged, so reproducing a claim needs >= MIN_SEEDS seeds in both arms.
ONE_ARM = "seed run in one arm only"
PAIRED = f"a seed run in one arm only is not judged (so >= {MIN_SEEDS} seeds per arm are needed)"

COMPARABLE_FCD_RATIO = 2.0  # "both ... high quality": neither FCD more than twice the other
COMPARABLE_MIN_CLASSES = 9  # and neither has dropped more than one digit class
P2_FIG5 = Claim(
    EXPERIMENT, "p2_fig5_dcgan_both_work",
    "with the DCGAN generator both WGAN and the standard GAN produce good samples (P2 Fig. 5)",
    "P2 Fig. 5: \"Algorithms trained with a DCGAN generator. Left: WGAN algorithm. Right: "
    "standard GAN formulation. Both algorithms produce high quality samples.\"",
    "per seed pair (the same seed in both arms), final evaluation: FCD ratio (larger / smaller) "
    f"<= {COMPARABLE_FCD_RATIO:g}, i.e. the two FCDs within a factor {COMPARABLE_FCD_RATIO:g} of "
    f"each other, and each arm covers >= {COMPARABLE_MIN_CLASSES} of the {DIGIT_CLASSES} digit "
    "classes (parts \"WGAN classes\", \"GAN classes\"); a diverged run is scored worst "
    f"(infinite FCD, no class); {PAIRED}. {SEED_RULE}",
    "both produce high quality samples")

LEARNED_MAX_FCD_RATIO = 0.25  # "was able to produce samples": FCD down to a quarter of its start
LEARNED_MIN_CLASSES = 7  # and most digit classes recognisable
FAILED_MIN_FCD_FACTOR = 2.0  # "failed to learn": at least twice the WGAN's FCD
P2_FIG6 = Claim(
    EXPERIMENT, "p2_fig6_no_bn_gan_fails",
    "without batch norm and with a constant filter count, the standard GAN fails to learn while "
    "WGAN still produces samples (P2 Fig. 6)",
    "P2 Fig. 6: \"Left: WGAN algorithm. Right: standard GAN formulation. As we can see the "
    "standard GAN failed to learn while the WGAN still was able to produce samples.\"",
    "per seed (this replaces the seed medians and the paired majority of earlier versions): the "
    "WGAN learned: final FCD / FCD at its first evaluation <= "
    f"{LEARNED_MAX_FCD_RATIO:g} and classes covered >= {LEARNED_MIN_CLASSES}; and the GAN of the "
    f"same seed did not: GAN FCD >= {FAILED_MIN_FCD_FACTOR:g} x WGAN FCD, paired (part \"GAN FCD "
    f"/ WGAN FCD\": its final FCD >= {FAILED_MIN_FCD_FACTOR:g} x the WGAN's). A diverged run is "
    f"scored worst (infinite FCD, no class); {PAIRED}; both arms failing is not reproduced. "
    f"{SEED_RULE}",
    "WGAN samples, GAN fails; the generator has ~10x fewer parameters than DCGAN's")

COLLAPSED_MIN_KL = 1.0  # "significant mode collapse": e.g. about 3 equally used classes of 10
WGAN_MIN_CLASSES = 9  # "no evidence of mode collapse": at most one class missing ...
WGAN_MAX_KL = 0.5  # ... and a histogram close to uniform
TRAINED_MAX_FCD_RATIO = 0.8  # "has not trained": FCD within 20% of its first evaluation
P2_FIG7 = Claim(
    EXPERIMENT, "p2_fig7_mlp_gan_collapses",
    "with an MLP generator the standard GAN mode-collapses and WGAN does not (P2 Fig. 7)",
    "P2 Fig. 7: \"The WGAN method still was able to produce samples, lower quality than the "
    "DCGAN, and of higher quality than the MLP of the standard GAN. Note the significant degree "
    "of mode collapse in the GAN MLP.\" Section 4.3: \"In no experiment did we see evidence of "
    "mode collapse for the WGAN algorithm.\"",
    "per seed: the GAN collapsed: KL(class histogram || uniform) >= "
    f"{COLLAPSED_MIN_KL:.1f} nats (a diverged GAN run sampled nothing: not judged); the WGAN of "
    f"the same seed did not: >= {WGAN_MIN_CLASSES} of {DIGIT_CLASSES} classes covered and KL <= "
    f"{WGAN_MAX_KL:g}; these two WGAN parts are not judged for a seed whose WGAN has not trained "
    f"(final FCD / first evaluation's > {TRAINED_MAX_FCD_RATIO:g}, i.e. within "
    f"{1 - TRAINED_MAX_FCD_RATIO:.0%}), while a diverged WGAN run is scored worst (no class, KL "
    f"log {DIGIT_CLASSES}); {PAIRED}. {SEED_RULE}",
    "significant mode collapse for the GAN MLP; none for WGAN")

GP_ARM = "wgan_gp"  # ablate --gp's third arm
WGANGP_FIG2 = Claim(
    EXPERIMENT, "wgangp_fig2_shared_hparams",
    "with one shared set of hyperparameters WGAN-GP trains every generator variant run, while the "
    "clipped WGAN and the standard GAN each fail on at least one (WGAN-GP Fig. 2; ablate --gp)",
    "WGAN-GP section 5.1 and Fig. 2, re-running P2's generators without batch norm and MLP "
    "generators among others: \"We only succeeded in training every architecture with a shared "
    "set of hyperparameters using WGAN-GP.\"",
    "per seed, over the variants run with all three arms: WGAN-GP learned on each variant "
    f"(final FCD / FCD at its first evaluation <= {LEARNED_MAX_FCD_RATIO:g} and classes covered "
    f">= {LEARNED_MIN_CLASSES}, P2 Fig. 6's \"was able to produce samples\" test; parts "
    "\"<variant> WGAN-GP FCD ratio\", \"<variant> WGAN-GP classes\"), and, for \"only\", the "
    "clipped WGAN and the GAN each failed that test on >= 1 of those variants (parts \"WGAN "
    "variants failed\", \"GAN variants failed\": the number of variants; a diverged run "
    f"failed); {PAIRED}. {SEED_RULE}",
    "WGAN-GP trains every architecture with shared hyperparameters; the others do not")

CLAIMS = (P2_FIG5, P2_FIG6, P2_FIG7, WGANGP_FIG2)
ARM_NAMES = {"wgan": "WGAN", "gan": "GAN", GP_ARM: "WGAN-GP"}
CLASSES = "digit classes covered"
KL = "KL(class histogram || uniform)"


def _arms(frame, variant: str) -> tuple[dict[int, dict], dict[int, dict], list[int]]:
    """The WGAN and GAN arm's runs by seed (stats.ablate_runs), and every seed of either arm."""
    runs = ablate_runs(frame, variant)
    wgan, gan = runs.get("wgan", {}), runs.get("gan", {})
    return wgan, gan, sorted(set(wgan) | set(gan))


def _arm_value(arm: dict[int, dict], name: str, part: str, seed: int, statistic: str,
               key: str, comparison: str, threshold: float) -> SeedValue:
    """One arm's own statistic for one seed; a seed that arm did not run is not judged."""
    if seed not in arm:
        return unmeasured(part, seed, statistic, f"{comparison} {threshold:g}",
                          f"no {name} run of this seed ({ONE_ARM})")
    return measured(part, seed, statistic, arm[seed][key], comparison, threshold)


def _diverged(wgan: dict[int, dict], gan: dict[int, dict]) -> str:
    return (f"runs diverged {sum(v['diverged'] for v in wgan.values())} / "
            f"{sum(v['diverged'] for v in gan.values())} (WGAN / GAN, of {len(wgan)} / "
            f"{len(gan)} seeds)")


def _judged(values: list[SeedValue], context: str) -> Judged:
    return seed_verdict(values, MIN_SEEDS), f"{describe(values)}; {context}", values


def _fcd_ratio(w: dict, g: dict) -> float:
    """Larger / smaller final FCD of a seed pair; a diverged run (infinite FCD) makes it
    infinite: that pair's arms are not comparable."""
    if math.isinf(w["fcd"]) or math.isinf(g["fcd"]):
        return math.inf
    low, high = sorted((w["fcd"], g["fcd"]))
    return high / low if low > 0 else math.nan


def rule_p2_fig5(frame) -> Judged:
    blocked = needs(frame, ("variant", ARM_COLUMN, "fcd", "classes_covered"), METRICS)
    if blocked:
        return blocked, "", []
    wgan, gan, seeds = _arms(frame, "dcgan")
    values = []
    for seed in seeds:
        part, statistic = "FCD ratio (larger / smaller)", "ratio of the final FCDs"
        if seed in wgan and seed in gan:
            values.append(measured(part, seed, statistic, _fcd_ratio(wgan[seed], gan[seed]), "<=",
                                   COMPARABLE_FCD_RATIO))
        else:
            values.append(unmeasured(part, seed, statistic, f"<= {COMPARABLE_FCD_RATIO:g}", ONE_ARM))
        values += [_arm_value(arm, ARM_NAMES[name], f"{ARM_NAMES[name]} classes", seed, CLASSES,
                              "classes_covered", ">=", COMPARABLE_MIN_CLASSES)
                   for name, arm in (("wgan", wgan), ("gan", gan))]
    return _judged(values, _diverged(wgan, gan))


def _gan_over_wgan(w: dict, g: dict) -> float:
    """GAN FCD / WGAN FCD of a seed pair (a diverged run's FCD is infinite: a diverged GAN
    failed, a diverged WGAN did not learn); NaN when both diverged."""
    if math.isinf(w["fcd"]) and math.isinf(g["fcd"]):
        return math.nan
    if math.isinf(g["fcd"]) or w["fcd"] == 0:
        return math.inf
    return g["fcd"] / w["fcd"]


def rule_p2_fig6(frame) -> Judged:
    blocked = needs(frame, ("variant", ARM_COLUMN, "fcd", "classes_covered"), METRICS)
    if blocked:
        return blocked, "", []
    wgan, gan, seeds = _arms(frame, "no_bn")
    values = []
    for seed in seeds:
        values += [
            _arm_value(wgan, "WGAN", "WGAN final/first FCD", seed, "ratio",
                       "fcd_ratio", "<=", LEARNED_MAX_FCD_RATIO),
            _arm_value(wgan, "WGAN", "WGAN classes", seed, CLASSES, "classes_covered", ">=",
                       LEARNED_MIN_CLASSES)]
        part, statistic = "GAN FCD / WGAN FCD", "ratio of the final FCDs"
        if seed in wgan and seed in gan:
            both = wgan[seed]["diverged"] and gan[seed]["diverged"]
            values.append(unmeasured(part, seed, statistic, f">= {FAILED_MIN_FCD_FACTOR:g}",
                                     "both arms diverged") if both else
                          measured(part, seed, statistic, _gan_over_wgan(wgan[seed], gan[seed]),
                                   ">=", FAILED_MIN_FCD_FACTOR))
        else:
            values.append(unmeasured(part, seed, statistic, f">= {FAILED_MIN_FCD_FACTOR:g}",
                                     ONE_ARM))
    return _judged(values, _diverged(wgan, gan))


def _fig7_wgan(wgan: dict[int, dict], seed: int) -> list[SeedValue]:
    """The WGAN half of one seed: not judged where that WGAN has not trained (a diverged
    WGAN is scored worst instead: a failure of the WGAN half itself, not a reason to withhold)."""
    parts = (("WGAN classes", CLASSES, "classes_covered", ">=", WGAN_MIN_CLASSES),
             ("WGAN KL", KL, "kl_uniform", "<=", WGAN_MAX_KL))
    run = wgan.get(seed)
    why = None
    if run is not None and not run["diverged"]:
        if missing(run["fcd_ratio"]):
            why = "no first FCD to tell whether the WGAN trained"
        elif run["fcd_ratio"] > TRAINED_MAX_FCD_RATIO:
            why = (f"the WGAN has not trained (final/first FCD > {TRAINED_MAX_FCD_RATIO:g})")
    if why:
        return [unmeasured(part, seed, statistic, f"{comparison} {threshold:g}", why, run[key])
                for part, statistic, key, comparison, threshold in parts]
    return [_arm_value(wgan, "WGAN", part, seed, statistic, key, comparison, threshold)
            for part, statistic, key, comparison, threshold in parts]


def rule_p2_fig7(frame) -> Judged:
    blocked = needs(frame, ("variant", ARM_COLUMN, "fcd", "classes_covered", "kl_uniform"),
                    METRICS)
    if blocked:
        return blocked, "", []
    wgan, gan, seeds = _arms(frame, "mlp")
    values = []
    for seed in seeds:
        part, required = "GAN KL to uniform", f">= {COLLAPSED_MIN_KL:g}"
        if seed in gan and gan[seed]["diverged"]:  # no collapse shown: nothing was sampled
            values.append(unmeasured(part, seed, KL, required, "diverged: nothing sampled"))
        else:
            values.append(_arm_value(gan, "GAN", part, seed, KL, "kl_measured", ">=",
                                     COLLAPSED_MIN_KL))
        values += _fig7_wgan(wgan, seed)
    trained = {f"s{seed}": run["fcd_ratio"] for seed, run in wgan.items()}
    return _judged(values, f"{_diverged(wgan, gan)}; WGAN final/first FCD: {fmt(trained, '.3g')}")


def learned(run: dict) -> bool:
    """P2 Fig. 6's "was able to produce samples": FCD down to LEARNED_MAX_FCD_RATIO of its first
    evaluation and >= LEARNED_MIN_CLASSES classes; a diverged run did not learn."""
    return (not run["diverged"] and not missing(run["fcd_ratio"])
            and run["fcd_ratio"] <= LEARNED_MAX_FCD_RATIO
            and run["classes_covered"] >= LEARNED_MIN_CLASSES)


def rule_wgangp_fig2(frame) -> Judged:
    blocked = needs(frame, ("variant", ARM_COLUMN, "fcd", "classes_covered"), METRICS)
    if blocked:
        return blocked, "", []
    runs = {v: ablate_runs(frame, v) for v in sorted(set(frame["variant"]))}
    variants = [v for v, arms in runs.items() if {"wgan", "gan", GP_ARM} <= set(arms)]
    seeds = sorted({s for v in variants for arm in runs[v].values() for s in arm})
    values: list[SeedValue] = []
    for seed in seeds:
        for variant in variants:
            gp = runs[variant][GP_ARM]
            values += [_arm_value(gp, "WGAN-GP", f"{variant} WGAN-GP FCD ratio", seed,
                                  "final / first FCD", "fcd_ratio", "<=", LEARNED_MAX_FCD_RATIO),
                       _arm_value(gp, "WGAN-GP", f"{variant} WGAN-GP classes", seed, CLASSES,
                                  "classes_covered", ">=", LEARNED_MIN_CLASSES)]
        for arm in ("wgan", "gan"):
            part = f"{ARM_NAMES[arm]} variants failed"
            statistic = f"variants of {', '.join(variants)} where it did not learn"
            if all(seed in runs[v][arm] for v in variants):
                failed = sum(not learned(runs[v][arm][seed]) for v in variants)
                values.append(measured(part, seed, statistic, failed, ">=", 1))
            else:
                values.append(unmeasured(part, seed, statistic, ">= 1", ONE_ARM))
    learned_by = "; ".join(
        f"{variant} learned (WGAN / GAN / WGAN-GP): " + ", ".join(
            f"s{seed} " + "/".join("yes" if seed in runs[variant][arm] and
                                   learned(runs[variant][arm][seed]) else "no"
                                   for arm in ("wgan", "gan", GP_ARM)) for seed in seeds)
        for variant in variants)
    return _judged(values, f"variants with all three arms: {', '.join(variants)}; {learned_by}")


RULES = {"dcgan": (P2_FIG5, rule_p2_fig5), "no_bn": (P2_FIG6, rule_p2_fig6),
         "mlp": (P2_FIG7, rule_p2_fig7)}  # variant -> its claim and rule


def read_metrics(path: Path):
    """ablate/metrics.csv, or None when the file is not there; a column renamed since is read
    under its new name (results.RENAMED_COLUMNS: older files call the arm column "objective")."""
    frame = read_table(path)
    if frame is None:
        return None
    return frame.rename(columns={old: new for old, new in RENAMED_COLUMNS.items()
                                 if old in frame.columns and new not in frame.columns})


def _context(variant: str, entry: dict, params: dict) -> str:
    text = ""
    if not missing(entry.get("fcd_real_vs_real")):
        text += f"; real-vs-real FCD {entry['fcd_real_vs_real']:.4g}"
    dcgan = params.get("dcgan_at_no_bn_size") or params.get("dcgan")  # same image size first
    if variant == "no_bn" and dcgan and params.get("no_bn"):
        text += (f"; generator parameters DCGAN {dcgan} vs no-BN {params['no_bn']} "
                 f"({dcgan / params['no_bn']:.1f}x fewer)")
    return text


def judge(results_dir: Path) -> list[Claim]:
    """One claim per variant present in ablate/metrics.csv (variants run on other days stay)."""
    out = Path(results_dir) / EXPERIMENT
    frame = read_metrics(out / "metrics.csv")
    summary = read_json(out / "summary.json")
    variants = summary.get("variants", {})
    present = set(frame["variant"]) if frame is not None and "variant" in frame else set()
    previous = previous_sources(results_dir, EXPERIMENT)
    claims = []
    for variant, (claim, rule) in RULES.items():
        if variant not in present:
            continue
        entry = variants.get(variant, {})
        source = entry.get("source") or (previous[0] if previous else METRICS)
        outcome, text, values = rule(frame)
        text += _context(variant, entry, summary.get("generator_parameters", {}))
        claims.append(claim.judged(outcome, text, source, values))
    if frame is not None and ARM_COLUMN in frame and GP_ARM in set(frame[ARM_COLUMN]):
        outcome, text, values = rule_wgangp_fig2(frame)
        sources = sorted({variants.get(v, {}).get("source", METRICS)
                          for v in set(frame.loc[frame[ARM_COLUMN] == GP_ARM, "variant"])})
        claims.append(WGANGP_FIG2.judged(outcome, text, "; ".join(sources), values))
    return claims
