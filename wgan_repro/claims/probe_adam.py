"""P2 section 4.2 (experiment probe_adam): with Adam on the critic WGAN training blows up more
often than with RMSProp, and Adam's step turns against the gradient (negative cosine) at those
blow-ups and only there.

Files: probe_adam/adam_cosine.csv (every critic update of both arms: step cosine, estimate,
blow-up marks), probe_adam/adam_quality.csv (sample quality during the probe),
probe_adam/config.yaml (the run's configuration: the blow-up window probe.blow_up_radius and the
critic warm-up objective.warmup*, read, never inferred from the tables), probe_adam/summary.json.
Every rule judges each seed (wgan_repro.verdicts.seed_verdict): the critics are trained networks,
so a verdict needs >= MIN_SEEDS seeds; the two arms are compared seed by seed.

P2 = Arjovsky, Chintala & Bottou, "Wasserstein GAN" (ICML 2017, arXiv 1701.07875).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from wgan_repro.claims import read_json, read_table, read_yaml, source_of
from wgan_repro.stats import adam_seed_stats
from wgan_repro.verdicts import (
    SEED_RULE,
    Claim,
    Judged,
    Outcome,
    SeedValue,
    describe,
    inconclusive,
    judge_all,
    measured,
    needs,
    seed_verdict,
    unmeasured,
)

EXPERIMENT = "probe_adam"
COSINE = "probe_adam/adam_cosine.csv"
QUALITY = "probe_adam/adam_quality.csv"
CONFIG = "probe_adam/config.yaml"
NEEDS_CONFIG = f"needs {CONFIG} (probe.blow_up_radius, objective.warmup*)"

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
    "critic updates. ")

# The parts, statistics and why-not-judged notes as claims_seeds.csv and the reasons name them.
NO_ADAM_BLOW_UP = "no counted blow-up"
BLOW_UPS_PART = "Adam blow-ups"
WITH_NEGATIVE = "share of counted blow-ups with a negative cosine in the window"
NEGATIVES_PART = "Adam negative cosines"
INSIDE = "share of negative cosines outside the warm-up inside blow-up windows"
NO_NEGATIVE = "no negative cosine outside the warm-up"
ARMS_PART = "Adam vs RMSProp"
NEITHER = "neither arm blew up"

NEGATIVE_AT_BLOW_UPS_MIN = 0.5  # "usually turned negative": at least half of the blow-ups
P2_ADAM_NEGATIVE = Claim(
    EXPERIMENT, "p2_s42_negative_cosine_at_blow_ups",
    "when Adam's critic loss blows up and samples get worse, the step's cosine with the gradient "
    "turns negative (P2 section 4.2)", P2_ADAM_QUOTE,
    BLOW_UP_RULE + f"Rule: per seed, in >= {NEGATIVE_AT_BLOW_UPS_MIN:.0%} of Adam's counted "
    f"blow-ups a negative cosine (step vs -gradient) occurs within the window (part: "
    f"{BLOW_UPS_PART}; a seed with {NO_ADAM_BLOW_UP} of Adam is not judged). {SEED_RULE}",
    "the cosine usually turned negative as the loss blew up")

NEGATIVE_INSIDE_MIN = 0.8  # "the only places": nearly all, allowing a few borderline windows
P2_ADAM_ONLY = Claim(
    EXPERIMENT, "p2_s42_negative_cosine_only_at_blow_ups",
    "Adam's step cosine is negative only in situations of instability (P2 section 4.2)",
    P2_ADAM_QUOTE,
    BLOW_UP_RULE + f"Rule: per seed, >= {NEGATIVE_INSIDE_MIN:.0%} of Adam's negative cosines "
    f"outside the warm-up fall inside counted blow-up windows (part: {NEGATIVES_PART}; a seed "
    f"with {NO_ADAM_BLOW_UP} of Adam, or with {NO_NEGATIVE}, is not judged). {SEED_RULE}",
    "the only places where the cosine was negative were the instabilities")

RATE_PER_UPDATES = 1000  # blow-up rates are counted per 1000 critic updates
MORE_MIN = 0.0  # "more often": Adam's rate minus RMSProp's above zero
P2_ADAM_UNSTABLE = Claim(
    EXPERIMENT, "p2_s42_adam_blows_up_more",
    "with Adam on the critic, WGAN training blows up more often than with RMSProp at the same "
    "learning rate (P2 section 4.2)", P2_ADAM_QUOTE,
    BLOW_UP_RULE + f"Rule: per seed, Adam's counted blow-ups per {RATE_PER_UPDATES} critic "
    f"updates (outside the warm-up) minus RMSProp's, of the same seed, > {MORE_MIN:g}, both arms "
    f"at the same learning rate (part: {ARMS_PART}; a seed where {NEITHER}, or whose arms' "
    f"learning rates differ, is not judged). {SEED_RULE}",
    "training becomes unstable at times with Adam; RMSProp was chosen for it")

CLAIMS = (P2_ADAM_NEGATIVE, P2_ADAM_ONLY, P2_ADAM_UNSTABLE)
MORE = f"Adam minus RMSProp counted blow-ups per {RATE_PER_UPDATES} critic updates"

SeedStats = dict[str, dict[int, dict[str, Any]]]  # arm -> seed -> stats.adam_seed_stats' counts


@dataclass(frozen=True)
class ProbeSettings:
    """What the rules read from the probe's config.yaml: the blow-up window and the warm-up."""

    blow_up_radius: int  # probe.blow_up_radius: critic updates either side of a blow-up
    warmup: bool  # objective.warmup ...
    warmup_critic_iters: int  # ... objective.warmup_critic_iters ...
    warmup_gen_iters: int  # ... objective.warmup_gen_iters ...
    warmup_every: int  # ... objective.warmup_every: stats.is_warmup_iteration's arguments

    def warmup_settings(self) -> dict[str, Any]:
        """The keyword arguments of stats.adam_seed_stats' warm-up."""
        return {k: v for k, v in asdict(self).items() if k != "blow_up_radius"}


def settings_from_config(config: dict) -> ProbeSettings | None:
    """The probe's settings from its config.yaml (a dict); None when a key is missing."""
    probe, objective = config.get("probe") or {}, config.get("objective") or {}
    values = {"blow_up_radius": probe.get("blow_up_radius"),
              **{k: objective.get(k) for k in ("warmup", "warmup_critic_iters",
                                               "warmup_gen_iters", "warmup_every")}}
    if any(v is None for v in values.values()):
        return None
    return ProbeSettings(int(values["blow_up_radius"]), bool(values["warmup"]),
                         int(values["warmup_critic_iters"]), int(values["warmup_gen_iters"]),
                         int(values["warmup_every"]))


def _adam_inputs(cosine, quality, settings: ProbeSettings | None) -> tuple[Outcome | None,
                                                                          SeedStats]:
    """Both arms' counts per seed (stats.adam_seed_stats); an Outcome instead when a table,
    the config or an arm is missing."""
    blocked = (needs(cosine, ("arm", "seed", "lr", "gen_iter", "step_cosine", "blow_up",
                              "critic_step"), COSINE)
               or needs(quality, ("arm", "gen_iter", "fcd"), f"{QUALITY} "
                        "(quality evaluations during the probe: rerun probe adam)"))
    if blocked:
        return blocked, {}
    if settings is None:
        return inconclusive(NEEDS_CONFIG), {}
    stats = adam_seed_stats(cosine, quality, settings.blow_up_radius,
                            **settings.warmup_settings())
    if "adam" not in stats or "rmsprop" not in stats:
        return inconclusive("needs both arms, adam and rmsprop"), stats
    return None, stats


def _adam_context(stats: SeedStats) -> str:
    """Each arm's counts, one number per seed: what the shares and rates are made of."""
    parts = []
    for arm in ("adam", "rmsprop"):
        if arm not in stats:
            continue
        seeds = dict(sorted(stats[arm].items()))

        def each(key: str, seeds=seeds) -> str:
            return ", ".join(str(s[key]) for s in seeds.values())

        parts.append(f"{arm} (seed{'s' if len(seeds) > 1 else ''} "
                     f"{', '.join(map(str, seeds))}): counted blow-ups (followed by worse samples) "
                     f"{each('blow_ups')} of {each('jumps_outside')} estimate jumps outside the "
                     f"warm-up ({each('undetermined')} before the first evaluation); negative "
                     f"cosines outside the warm-up {each('negatives')} in "
                     f"{each('updates_outside')} updates")
    return "; ".join(parts)


def _judged(values: list[SeedValue], stats: SeedStats) -> Judged:
    return seed_verdict(values), f"{describe(values)}; {_adam_context(stats)}", values


def _blocked(blocked: Outcome, stats: SeedStats) -> Judged:
    return blocked, _adam_context(stats), []


def rule_p2_adam_negative(cosine, quality, settings: ProbeSettings | None) -> Judged:
    blocked, stats = _adam_inputs(cosine, quality, settings)
    if blocked:
        return _blocked(blocked, stats)
    threshold = NEGATIVE_AT_BLOW_UPS_MIN
    values = [unmeasured(BLOW_UPS_PART, seed, WITH_NEGATIVE, f">= {threshold:g}", NO_ADAM_BLOW_UP)
              if not a["blow_ups"] else
              measured(BLOW_UPS_PART, seed, WITH_NEGATIVE, a["with_negative"] / a["blow_ups"],
                       ">=", threshold)
              for seed, a in sorted(stats["adam"].items())]
    return _judged(values, stats)


def rule_p2_adam_only(cosine, quality, settings: ProbeSettings | None) -> Judged:
    blocked, stats = _adam_inputs(cosine, quality, settings)
    if blocked:
        return _blocked(blocked, stats)
    required = f">= {NEGATIVE_INSIDE_MIN:g}"
    values = []
    for seed, a in sorted(stats["adam"].items()):
        if not a["negatives"] or not a["blow_ups"]:
            why = NO_ADAM_BLOW_UP if not a["blow_ups"] else NO_NEGATIVE
            values.append(unmeasured(NEGATIVES_PART, seed, INSIDE, required, why))
        else:
            values.append(measured(NEGATIVES_PART, seed, INSIDE,
                                   a["negatives_inside"] / a["negatives"], ">=",
                                   NEGATIVE_INSIDE_MIN))
    return _judged(values, stats)


def _rate(counts: dict[str, Any]) -> float:
    return RATE_PER_UPDATES * counts["blow_ups"] / max(counts["updates_outside"], 1)


def _more(seed: int, adam: dict | None, rmsprop: dict | None) -> SeedValue:
    """One seed's Adam rate minus its RMSProp rate: judged where some arm blew up and both
    arms ran at the same learning rate (a seed missing one arm: no data)."""
    required = f"> {MORE_MIN:g}"
    if adam is None or rmsprop is None:
        return measured(ARMS_PART, seed, MORE, float("nan"), ">", MORE_MIN)
    difference = _rate(adam) - _rate(rmsprop)
    lrs = adam["lr"] | rmsprop["lr"]
    if len(lrs) != 1:
        return unmeasured(ARMS_PART, seed, MORE, required, "the arms' learning rates differ "
                          f"(have {', '.join(f'{lr:g}' for lr in sorted(lrs))})", difference)
    if not adam["blow_ups"] and not rmsprop["blow_ups"]:
        return unmeasured(ARMS_PART, seed, MORE, required, NEITHER, difference)
    return measured(ARMS_PART, seed, MORE, difference, ">", MORE_MIN)


def rule_p2_adam_unstable(cosine, quality, settings: ProbeSettings | None) -> Judged:
    # Fewer Adam than RMSProp blow-ups in a seed contradicts the claim there: that seed fails.
    blocked, stats = _adam_inputs(cosine, quality, settings)
    if blocked:
        return _blocked(blocked, stats)
    seeds = sorted(set(stats["adam"]) | set(stats["rmsprop"]))
    values = [_more(seed, stats["adam"].get(seed), stats["rmsprop"].get(seed)) for seed in seeds]
    return _judged(values, stats)


def judge(results_dir: Path) -> list[Claim]:
    out = Path(results_dir) / EXPERIMENT
    cosine, quality = read_table(out / "adam_cosine.csv"), read_table(out / "adam_quality.csv")
    settings = settings_from_config(read_yaml(out / "config.yaml"))
    source = source_of(results_dir, EXPERIMENT, read_json(out / "summary.json"), COSINE)
    return judge_all([(P2_ADAM_NEGATIVE, lambda: rule_p2_adam_negative(cosine, quality, settings)),
                      (P2_ADAM_ONLY, lambda: rule_p2_adam_only(cosine, quality, settings)),
                      (P2_ADAM_UNSTABLE, lambda: rule_p2_adam_unstable(cosine, quality, settings))],
                     source)
