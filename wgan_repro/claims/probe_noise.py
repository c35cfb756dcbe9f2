"""P1 section 3 (experiment probe_noise): noise on the discriminator's inputs keeps the original
cost's gradient from vanishing. P1 proposes the noise and runs no experiment; its prediction is
tested with the fig2 protocol, without noise (the control) and with a fixed sigma per arm.

Files: probe_noise/instance_noise.csv (fig2's grad_norms.csv with an arm column),
probe_noise/summary.json.

P1 = Arjovsky & Bottou, "Towards Principled Methods for Training GANs" (ICLR 2017, arXiv
1701.04862v1).
"""

from __future__ import annotations

from pathlib import Path

from wgan_repro.claims import read_json, read_table, source_of
from wgan_repro.stats import decay_orders
from wgan_repro.verdicts import (
    Claim,
    Outcome,
    all_of,
    any_of,
    check,
    fmt,
    given,
    inconclusive,
    judge_all,
    needs,
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
    "(no annealing during the discriminator's run): for at least one sigma tried (all reported), "
    f"the original cost's norm decays < {NOISE_MAX_DECAY_ORDERS:g} order from d_iter 0 (seed "
    "median) for every snapshot; precondition: without noise it decays >= "
    f"{CONTROL_MIN_DECAY_ORDERS:g} order for every snapshot (the control)",
    "with noise, D can be trained to optimality and the gradients stay useful")

CLAIMS = (P1_NOISE,)


def _arm_decay(frame) -> dict[str, float]:
    return decay_orders(frame, "grad_norm_original")


def rule_p1_noise(frame) -> tuple[Outcome, str]:
    blocked = needs(frame, ("arm", "grad_norm_original", "instance_noise_std"), INSTANCE_NOISE)
    if blocked:
        return blocked, ""
    control = frame[frame["arm"] == CONTROL_ARM]
    decay_control = _arm_decay(control) if not control.empty else {}
    parts, text = [], []
    for arm, group in frame[frame["arm"] != CONTROL_ARM].groupby("arm"):
        sigmas = sorted(set(group["instance_noise_std"].round(12)))
        decay = _arm_decay(group)
        label = f"sigma {sigmas[0]:g}" if len(sigmas) == 1 else f"{arm} (annealed)"
        text.append(f"{label}: {fmt(decay)}")
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
    measured = (f"orders decayed from d_iter 0 (seed median), without noise: {fmt(decay_control)}; "
                + "; ".join(text))
    return outcome, measured


def judge(results_dir: Path) -> list[Claim]:
    out = Path(results_dir) / EXPERIMENT
    frame = read_table(out / "instance_noise.csv")
    summary = read_json(out / "summary.json")
    source = source_of(results_dir, EXPERIMENT, summary, INSTANCE_NOISE)
    blocked = None
    if (frame is None or frame.empty) and summary.get("diverged_dcgan"):
        blocked = inconclusive("every seed's DCGAN diverged: no snapshots")
    return judge_all([(P1_NOISE, lambda: rule_p1_noise(frame))], source, blocked)
