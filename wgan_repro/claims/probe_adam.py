"""P2 section 4.2 (experiment probe_adam): with Adam on the critic WGAN training blows up more
often than with RMSProp, and Adam's step turns against the gradient (negative cosine) at those
blow-ups and only there.

Files: probe_adam/adam_cosine.csv (every critic update of both arms: step cosine, estimate,
blow-up marks), probe_adam/adam_quality.csv (sample quality during the probe),
probe_adam/config.yaml (the run's configuration: the blow-up window probe.blow_up_radius and the
critic warm-up objective.warmup*, read, never inferred from the tables), probe_adam/summary.json.

P2 = Arjovsky, Chintala & Bottou, "Wasserstein GAN" (ICML 2017, arXiv 1701.07875).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from wgan_repro.claims import read_json, read_table, read_yaml, source_of
from wgan_repro.stats import adam_stats
from wgan_repro.verdicts import Claim, Outcome, check, given, inconclusive, judge_all, needs

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
    "critic updates. No counted Adam blow-up: inconclusive. ")

NEGATIVE_AT_BLOW_UPS_MIN = 0.5  # "usually turned negative": at least half of the blow-ups
P2_ADAM_NEGATIVE = Claim(
    EXPERIMENT, "p2_s42_negative_cosine_at_blow_ups",
    "when Adam's critic loss blows up and samples get worse, the step's cosine with the gradient "
    "turns negative (P2 section 4.2)", P2_ADAM_QUOTE,
    BLOW_UP_RULE + f"Rule: in >= {NEGATIVE_AT_BLOW_UPS_MIN:.0%} of Adam's counted blow-ups a "
    "negative cosine (step vs -gradient) occurs within the window",
    "the cosine usually turned negative as the loss blew up")

NEGATIVE_INSIDE_MIN = 0.8  # "the only places": nearly all, allowing a few borderline windows
P2_ADAM_ONLY = Claim(
    EXPERIMENT, "p2_s42_negative_cosine_only_at_blow_ups",
    "Adam's step cosine is negative only in situations of instability (P2 section 4.2)",
    P2_ADAM_QUOTE,
    BLOW_UP_RULE + f"Rule: >= {NEGATIVE_INSIDE_MIN:.0%} of Adam's negative cosines outside the "
    "warm-up fall inside counted blow-up windows (none at all: inconclusive)",
    "the only places where the cosine was negative were the instabilities")

RATE_PER_UPDATES = 1000  # blow-up rates are counted per 1000 critic updates
P2_ADAM_UNSTABLE = Claim(
    EXPERIMENT, "p2_s42_adam_blows_up_more",
    "with Adam on the critic, WGAN training blows up more often than with RMSProp at the same "
    "learning rate (P2 section 4.2)", P2_ADAM_QUOTE,
    BLOW_UP_RULE.replace("No counted Adam blow-up", "No counted blow-up in either arm")
    + f"Rule: Adam's counted blow-ups per {RATE_PER_UPDATES} critic updates (outside the "
    "warm-up, seeds pooled) > RMSProp's, at the same learning rate",
    "training becomes unstable at times with Adam; RMSProp was chosen for it")

CLAIMS = (P2_ADAM_NEGATIVE, P2_ADAM_ONLY, P2_ADAM_UNSTABLE)


@dataclass(frozen=True)
class ProbeSettings:
    """What the rules read from the probe's config.yaml: the blow-up window and the warm-up."""

    blow_up_radius: int  # probe.blow_up_radius: critic updates either side of a blow-up
    warmup: bool  # objective.warmup ...
    warmup_critic_iters: int  # ... objective.warmup_critic_iters ...
    warmup_gen_iters: int  # ... objective.warmup_gen_iters ...
    warmup_every: int  # ... objective.warmup_every: stats.is_warmup_iteration's arguments

    def warmup_settings(self) -> dict[str, Any]:
        """The keyword arguments of stats.adam_stats' warm-up."""
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


def _adam_inputs(cosine, quality, settings: ProbeSettings | None,
                 arm_needing_blow_ups: tuple[str, ...] = ("adam",)) -> tuple[Outcome | None, dict]:
    blocked = (needs(cosine, ("arm", "seed", "lr", "gen_iter", "step_cosine", "blow_up",
                              "critic_step"), COSINE)
               or needs(quality, ("arm", "gen_iter", "fcd"), f"{QUALITY} "
                        "(quality evaluations during the probe: rerun probe adam)"))
    if blocked:
        return blocked, {}
    if settings is None:
        return inconclusive(NEEDS_CONFIG), {}
    stats = adam_stats(cosine, quality, settings.blow_up_radius, **settings.warmup_settings())
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


def rule_p2_adam_negative(cosine, quality, settings: ProbeSettings | None) -> tuple[Outcome, str]:
    blocked, stats = _adam_inputs(cosine, quality, settings)
    if blocked:
        return blocked, _adam_context(stats)
    a = stats["adam"]
    share = a["with_negative"] / a["blow_ups"]
    outcome = check(f"negative cosine in >= {NEGATIVE_AT_BLOW_UPS_MIN:.0%} of Adam's blow-ups",
                    lambda: share >= NEGATIVE_AT_BLOW_UPS_MIN, share)
    return outcome, (f"Adam blow-ups with a negative cosine in the window: {a['with_negative']}/"
                     f"{a['blow_ups']} ({share:.0%}); {_adam_context(stats)}")


def rule_p2_adam_only(cosine, quality, settings: ProbeSettings | None) -> tuple[Outcome, str]:
    blocked, stats = _adam_inputs(cosine, quality, settings)
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


def rule_p2_adam_unstable(cosine, quality, settings: ProbeSettings | None) -> tuple[Outcome, str]:
    # Fewer Adam than RMSProp blow-ups contradicts the claim: inconclusive only if neither arm
    # blew up.
    blocked, stats = _adam_inputs(cosine, quality, settings, ("adam", "rmsprop"))
    if blocked:
        return blocked, _adam_context(stats)
    rate = {arm: RATE_PER_UPDATES * s["blow_ups"] / max(s["updates_outside"], 1)
            for arm, s in stats.items()}
    lrs = stats["adam"]["lr"] | stats["rmsprop"]["lr"]
    same_lr = check(f"both arms at the same learning rate (have {sorted(lrs)})",
                    lambda: len(lrs) == 1)
    outcome = given(same_lr, lambda: check("Adam blows up more often than RMSProp",
                                           lambda: rate["adam"] > rate["rmsprop"]))
    return outcome, (f"counted blow-ups per {RATE_PER_UPDATES} critic updates: Adam "
                     f"{rate['adam']:.2f}, RMSProp {rate['rmsprop']:.2f}; {_adam_context(stats)}")


def judge(results_dir: Path) -> list[Claim]:
    out = Path(results_dir) / EXPERIMENT
    cosine, quality = read_table(out / "adam_cosine.csv"), read_table(out / "adam_quality.csv")
    settings = settings_from_config(read_yaml(out / "config.yaml"))
    source = source_of(results_dir, EXPERIMENT, read_json(out / "summary.json"), COSINE)
    return judge_all([(P2_ADAM_NEGATIVE, lambda: rule_p2_adam_negative(cosine, quality, settings)),
                      (P2_ADAM_ONLY, lambda: rule_p2_adam_only(cosine, quality, settings)),
                      (P2_ADAM_UNSTABLE, lambda: rule_p2_adam_unstable(cosine, quality, settings))],
                     source)
