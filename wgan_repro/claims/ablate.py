"""P2 Figures 5-7 (experiment ablate): WGAN against the standard GAN with a DCGAN generator (both
work), a generator without batch norm (the GAN fails) and an MLP generator (the GAN
mode-collapses, WGAN does not).

Files: ablate/metrics.csv (every evaluation of every run: variant, arm, seed; older files call
the arm column "objective"), ablate/summary.json. One claim per variant present: variants run on
other days keep their rows of claims.csv.

P2 = Arjovsky, Chintala & Bottou, "Wasserstein GAN" (ICML 2017, arXiv 1701.07875).
"""

from __future__ import annotations

import math
from pathlib import Path

from wgan_repro.claims import previous_sources, read_json, read_table
from wgan_repro.results import RENAMED_COLUMNS
from wgan_repro.stats import ARM_COLUMN, DIGIT_CLASSES, ablate_runs, median
from wgan_repro.verdicts import (
    Claim,
    Outcome,
    all_of,
    check,
    given,
    majority,
    missing,
    needs,
)

EXPERIMENT = "ablate"
METRICS = "ablate/metrics.csv"

MIN_SEEDS = 3  # a comparison of two arms needs >= 3 seeds per arm; fewer -> inconclusive

COMPARABLE_FCD_RATIO = 2.0  # "both ... high quality": neither FCD more than twice the other
COMPARABLE_MIN_CLASSES = 9  # and neither has dropped more than one digit class
P2_FIG5 = Claim(
    EXPERIMENT, "p2_fig5_dcgan_both_work",
    "with the DCGAN generator both WGAN and the standard GAN produce good samples (P2 Fig. 5)",
    "P2 Fig. 5: \"Algorithms trained with a DCGAN generator. Left: WGAN algorithm. Right: "
    "standard GAN formulation. Both algorithms produce high quality samples.\"",
    f"final evaluation, seed median per arm (>= {MIN_SEEDS} seeds each): the two FCDs within a "
    f"factor {COMPARABLE_FCD_RATIO:g} of each other, and both arms cover >= "
    f"{COMPARABLE_MIN_CLASSES} of the {DIGIT_CLASSES} digit classes",
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
    "WGAN learned: seed median of final FCD / FCD at its first evaluation <= "
    f"{LEARNED_MAX_FCD_RATIO:g} and seed median classes covered >= {LEARNED_MIN_CLASSES}; and "
    f"the GAN did not: its seed-median final FCD >= {FAILED_MIN_FCD_FACTOR:g} x the WGAN's, and "
    f"GAN FCD >= {FAILED_MIN_FCD_FACTOR:g} x WGAN FCD in a majority of seeds (paired); >= "
    f"{MIN_SEEDS} seeds per arm. Both arms failing is not reproduced",
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
    f"GAN collapsed: KL(class histogram || uniform) >= {COLLAPSED_MIN_KL:.1f} nats in the seed "
    f"median and in a majority of seeds; WGAN did not: seed median >= {WGAN_MIN_CLASSES} of "
    f"{DIGIT_CLASSES} classes covered and KL <= {WGAN_MAX_KL:g}; >= {MIN_SEEDS} seeds per arm. "
    "A WGAN that has not trained (seed median of final FCD / first evaluation's > "
    f"{TRAINED_MAX_FCD_RATIO:g}, i.e. within {1 - TRAINED_MAX_FCD_RATIO:.0%}) makes its half "
    "inconclusive",
    "significant mode collapse for the GAN MLP; none for WGAN")

CLAIMS = (P2_FIG5, P2_FIG6, P2_FIG7)


def _arm_median(arm: dict[int, dict], key: str) -> float:
    values = [v[key] for v in arm.values()]
    return median(values) if values else math.nan


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
    blocked = needs(frame, ("variant", ARM_COLUMN, "fcd", "classes_covered"), METRICS)
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
    blocked = needs(frame, ("variant", ARM_COLUMN, "fcd", "classes_covered"), METRICS)
    if blocked:
        return blocked, ""
    runs = ablate_runs(frame, "no_bn")
    wgan, gan = runs.get("wgan", {}), runs.get("gan", {})
    learned = median([v["fcd_ratio"] for v in wgan.values()]) if wgan else math.nan
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
    blocked = needs(frame, ("variant", ARM_COLUMN, "fcd", "classes_covered", "kl_uniform"),
                    METRICS)
    if blocked:
        return blocked, ""
    runs = ablate_runs(frame, "mlp")
    wgan, gan = runs.get("wgan", {}), runs.get("gan", {})
    # A diverged GAN run shows no collapse (nothing was sampled): its KL is missing, not worst.
    g_kl, w_kl = _arm_median(gan, "kl_measured"), _arm_median(wgan, "kl_uniform")
    w_cls = _arm_median(wgan, "classes_covered")
    collapsed = sum(v["kl_measured"] >= COLLAPSED_MIN_KL for v in gan.values())
    unmeasured = sum(missing(v["kl_measured"]) for v in gan.values())
    # "Has not trained" is about runs that went on without learning; a diverged WGAN run is a
    # failure of the WGAN half itself (scored worst below), not a reason to withhold it.
    ratios = [v["fcd_ratio"] for v in wgan.values() if not v["diverged"]]
    trained = median(ratios) if ratios else 0.0
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
        outcome, measured = rule(frame)
        measured += _context(variant, entry, summary.get("generator_parameters", {}))
        claims.append(claim.judged(outcome, measured, source))
    return claims
