"""P1 section 3 (experiment probe_noise): noise on the discriminator's inputs keeps the original
cost's gradient from vanishing. P1 proposes the noise and runs no experiment; its prediction is
tested with the fig2 protocol, without noise (the control) and with a fixed sigma per arm.
Each sigma is judged on every seed (wgan_repro.verdicts.seed_verdict), one sigma is enough.

Files: probe_noise/instance_noise.csv (fig2's grad_norms.csv with an arm column),
probe_noise/summary.json.

P1 = Arjovsky & Bottou, "Towards Principled Methods for Training GANs" (ICLR 2017, arXiv
1701.04862v1).
"""

from __future__ import annotations

from pathlib import Path

from wgan_repro.claims import read_json, read_table, source_of
from wgan_repro.stats import epoch_label, log10_ratio, per_seed_edges
from wgan_repro.verdicts import (
    SEED_RULE,
    Claim,
    Outcome,
    SeedValue,
    any_of,
    describe,
    inconclusive,
    judge_all,
    measured,
    missing,
    needs,
    seed_verdict,
    unmeasured,
)

EXPERIMENT = "probe_noise"
INSTANCE_NOISE = "probe_noise/instance_noise.csv"

NOISE_MAX_DECAY_ORDERS = 1.0  # "get smooth interpretable gradients": no vanishing (< 10x)
CONTROL_MIN_DECAY_ORDERS = 1.0  # the control must show P1 Fig. 2's vanishing (>= 10x)
CONTROL_ARM = "without_noise"
P1_NOISE = Claim(
    EXPERIMENT, "p1_s3_noise_keeps_gradient",
    "noise on the discriminator's inputs keeps the original cost's gradient from vanishing "
    "(P1 section 3)",
    "P1 section 3: \"Something we can do to break the assumptions of these theorems is add "
    "continuous noise to the inputs of the discriminator, therefore smoothening the distribution "
    "of the probability mass. [...] Because of the noise, we can train the discriminator till "
    "optimality without any problems and get smooth interpretable gradients\"",
    "P1 proposes the noise and runs no experiment; its prediction is tested with a fixed sigma "
    "(no annealing during the discriminator's run): for at least one sigma tried (all reported, "
    "each sigma judged on its own by the seed rule below), per seed the original cost's norm "
    f"decays < {NOISE_MAX_DECAY_ORDERS:g} order from d_iter 0 for every snapshot (part: sigma S, "
    "epoch N); precondition, per seed: without noise (the control) it decays >= "
    f"{CONTROL_MIN_DECAY_ORDERS:g} order for every snapshot of that seed, else that seed is not "
    f"judged. {SEED_RULE}",
    "with noise, D can be trained to optimality and the gradients stay useful")

CLAIMS = (P1_NOISE,)

DECAY = "orders decayed from d_iter 0"  # the statistic, as claims_seeds.csv and reasons name it
NOT_VANISHED, NO_CONTROL = "the control did not vanish", "the control was not measured"


def _decays(frame):
    """per_seed_edges of the original cost's norm, with each seed's decay from d_iter 0."""
    edges = per_seed_edges(frame, "grad_norm_original")
    edges["decay"] = [log10_ratio(r["start"], r["last"]) for r in edges.to_dict("records")]
    return edges


def _arm_values(edges, label: str, comparison: str, threshold: float) -> list[SeedValue]:
    return [measured(f"{label}, {epoch_label(r['epoch'])}", r["seed"], DECAY, r["decay"],
                     comparison, threshold) for r in edges.to_dict("records")]


def _control_unmet(control) -> dict[int, str]:
    """Per seed of the control: why its noise arms are not judged ("" where the control
    vanished for every snapshot)."""
    unmet = {}
    for seed, runs in control.groupby("seed"):
        decays = runs["decay"].tolist()
        if any(not missing(d) and d < CONTROL_MIN_DECAY_ORDERS for d in decays):
            unmet[int(seed)] = NOT_VANISHED
        else:
            unmet[int(seed)] = NO_CONTROL if any(missing(d) for d in decays) else ""
    return unmet


def _preconditioned(values: list[SeedValue], unmet: dict[int, str]) -> list[SeedValue]:
    """A noise arm's seed values, unmeasured for the seeds whose control did not vanish."""
    def one(v: SeedValue) -> SeedValue:
        why = unmet.get(v.seed, NO_CONTROL)
        return unmeasured(v.part, v.seed, v.statistic, v.threshold, why, v.value) if why else v

    return [one(v) for v in values]


def rule_p1_noise(frame) -> tuple[Outcome, str, list[SeedValue]]:
    blocked = needs(frame, ("arm", "grad_norm_original", "instance_noise_std"), INSTANCE_NOISE)
    if blocked:
        return blocked, "", []
    control = frame[frame["arm"] == CONTROL_ARM]
    control_edges = _decays(control) if not control.empty else None
    unmet = {} if control_edges is None else _control_unmet(control_edges)
    parts, values, text = [], [], []
    if control_edges is not None:
        text.append(describe(_arm_values(control_edges, "without noise", ">=",
                                         CONTROL_MIN_DECAY_ORDERS)))
    for arm, group in frame[frame["arm"] != CONTROL_ARM].groupby("arm"):
        sigmas = sorted(set(group["instance_noise_std"].round(12)))
        label = f"sigma {sigmas[0]:g}" if len(sigmas) == 1 else f"{arm} (annealed)"
        arm_values = _arm_values(_decays(group), label, "<", NOISE_MAX_DECAY_ORDERS)
        if len(sigmas) != 1 or sigmas[0] <= 0:  # reported, not judged
            text.append(describe(arm_values))
            parts.append(inconclusive(f"{arm}: the rule needs a fixed sigma > 0, this run's noise "
                                      f"went {sigmas[0]:g} .. {sigmas[-1]:g}"))
            continue
        arm_values = _preconditioned(arm_values, unmet)
        text.append(describe(arm_values))
        verdict = seed_verdict(arm_values)  # each sigma on its own, named in the reason
        parts.append(Outcome(verdict.verdict, verdict.reason and f"{label}: {verdict.reason}"))
        values += arm_values
    outcome = any_of(parts) if parts else inconclusive("no arm with noise")
    return outcome, "; ".join(text), values


def judge(results_dir: Path) -> list[Claim]:
    out = Path(results_dir) / EXPERIMENT
    frame = read_table(out / "instance_noise.csv")
    summary = read_json(out / "summary.json")
    source = source_of(results_dir, EXPERIMENT, summary, INSTANCE_NOISE)
    blocked = None
    if (frame is None or frame.empty) and summary.get("diverged_dcgan"):
        blocked = inconclusive("every seed's DCGAN diverged: no snapshots")
    return judge_all([(P1_NOISE, lambda: rule_p1_noise(frame))], source, blocked)
