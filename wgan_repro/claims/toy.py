"""P2 Figures 1-2 (experiment toy): on parallel lines the EM distance is |theta|, continuous,
and the clipped critic estimates it while the JS divergence is flat at log 2; on two Gaussians
the optimal GAN discriminator saturates while the WGAN critic is nearly linear.

Files: toy/summary.json (the measured errors; toy/parallel_lines.csv and toy/two_gaussians.csv
hold the curves they come from).

P2 = Arjovsky, Chintala & Bottou, "Wasserstein GAN" (ICML 2017, arXiv 1701.07875).
"""

from __future__ import annotations

from pathlib import Path

from wgan_repro.claims import read_json, source_of
from wgan_repro.verdicts import Claim, Outcome, all_of, check, judge_all, num

EXPERIMENT = "toy"

W_TOLERANCE = 0.05  # 5% of the theta range: a line visibly on |theta| in the figure
THETA_RANGE = 2.0  # the grid spans [-1, 1]
P2_FIG1_W = Claim(
    EXPERIMENT, "p2_fig1_em_continuous",
    "parallel lines: the EM distance is |theta|, continuous in theta, and the clipped critic "
    "estimates it (P2 Fig. 1, Example 1)",
    "P2 Example 1: \"W(P0, P_theta) = |theta|\". Fig. 1: \"The EM plot is continuous and provides "
    "a usable gradient everywhere.\"",
    "at every theta on the grid, |critic estimate (divided by the critic's measured Lipschitz "
    f"constant) - |theta|| <= {W_TOLERANCE:.0%} of the theta range, and so is the exact sample "
    "EMD",
    "W(P0, P_theta) = |theta|, continuous in theta")

JS_FLAT_TOLERANCE = 0.05  # relative to log 2
P2_FIG1_JS = Claim(
    EXPERIMENT, "p2_fig1_js_flat",
    "parallel lines: the JS divergence is log 2 for every theta != 0, blind to the distance "
    "(P2 Fig. 1, Example 1)",
    "P2 Example 1: \"JS(P0, P_theta) = log 2 if theta != 0, 0 if theta = 0\". Fig. 1: \"The JS "
    "plot is not continuous and does not provide a usable gradient.\"",
    f"the trained discriminator's JS estimate is within {JS_FLAT_TOLERANCE:.0%} of log 2 at every "
    "theta != 0",
    "JS = log 2 for theta != 0, 0 at theta = 0: not continuous")

SATURATED_RATIO = 0.01  # "saturates ... vanishing gradients": under 1% of the steepest slope
LINEAR_R2 = 0.95  # "very clean gradients": a near-constant slope
P2_FIG2 = Claim(
    EXPERIMENT, "p2_fig2_saturation",
    "two Gaussians: the optimal GAN discriminator saturates, the WGAN critic is nearly linear "
    "(P2 Fig. 2)",
    "P2 Fig. 2: \"As we can see, the discriminator of a minimax GAN saturates and results in "
    "vanishing gradients. Our WGAN critic provides very clean gradients on all parts of the "
    "space.\"",
    f"mean |dD/dx| on the fake samples < {SATURATED_RATIO:.0%} of its largest value on the grid, "
    f"and the critic's R^2 of a straight-line fit over both distributions >= {LINEAR_R2:g}",
    "D flat (no gradient) on the fake data; critic linear, useful gradient")

CLAIMS = (P2_FIG1_W, P2_FIG1_JS, P2_FIG2)


def rule_p2_fig1_w(summary: dict) -> tuple[Outcome, str]:
    tolerance = W_TOLERANCE * THETA_RANGE
    critic, emd = summary.get("critic_error_max"), summary.get("emd_error_max")
    outcome = all_of([check(f"critic within {tolerance:g} of |theta|", lambda: critic <= tolerance,
                            critic),
                      check(f"sample EMD within {tolerance:g} of |theta|", lambda: emd <= tolerance,
                            emd)])
    return outcome, (f"largest error: critic {num(critic, '.3f')}, sample EMD {num(emd, '.3f')} "
                     f"(tolerance {tolerance:.2f})")


def rule_p2_fig1_js(summary: dict) -> tuple[Outcome, str]:
    deviation, at_zero = summary.get("js_deviation_max"), summary.get("js_at_zero")
    outcome = check(f"JS within {JS_FLAT_TOLERANCE:.0%} of log 2",
                    lambda: deviation <= JS_FLAT_TOLERANCE, deviation)
    return outcome, (f"largest relative deviation from log 2: {num(deviation, '.3f')}; at theta "
                     f"= 0: {num(at_zero, '.3f')}")


def rule_p2_fig2(summary: dict) -> tuple[Outcome, str]:
    ratio, r2 = summary.get("discriminator_saturation_ratio"), summary.get("critic_linear_r2")
    outcome = all_of([check(f"saturation ratio < {SATURATED_RATIO:g}",
                            lambda: ratio < SATURATED_RATIO, ratio),
                      check(f"critic R^2 >= {LINEAR_R2:g}", lambda: r2 >= LINEAR_R2, r2)])
    return outcome, f"saturation ratio {num(ratio, '.2e')}; critic R^2 {num(r2, '.4f')}"


def judge(results_dir: Path) -> list[Claim]:
    summary = read_json(Path(results_dir) / EXPERIMENT / "summary.json")
    source = source_of(results_dir, EXPERIMENT, summary,
                       "toy/parallel_lines.csv, toy/two_gaussians.csv")
    return judge_all([(P2_FIG1_W, lambda: rule_p2_fig1_w(summary)),
                      (P2_FIG1_JS, lambda: rule_p2_fig1_js(summary)),
                      (P2_FIG2, lambda: rule_p2_fig2(summary))], source)
