"""P2 Figures 1-2 (experiment toy): on parallel lines the EM distance is |theta|, continuous,
and the clipped critic estimates it while the JS divergence is flat at log 2; on two Gaussians
the optimal GAN discriminator saturates while the WGAN critic is nearly linear.

Files: toy/parallel_lines.csv and toy/two_gaussians.csv (one block of rows per seed: the seed
column), toy/config.yaml (the Gaussians' means and std: toy.gaussian_*, read, never inferred
from the tables). Every rule judges each seed on each part (wgan_repro.verdicts.seed_verdict):
the critics and discriminators are trained networks, so a verdict needs >= MIN_SEEDS seeds.
A parallel_lines.csv without a seed column (written before the seeds) is one run, of the
config's seed.

P2 = Arjovsky, Chintala & Bottou, "Wasserstein GAN" (ICML 2017, arXiv 1701.07875).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wgan_repro.claims import read_json, read_table, read_yaml, source_of
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
    num,
    seed_verdict,
)

EXPERIMENT = "toy"
LINES = "toy/parallel_lines.csv"
GAUSSIANS = "toy/two_gaussians.csv"
CONFIG = "toy/config.yaml"
NEEDS_CONFIG = f"needs {CONFIG} (toy.gaussian_real_mean, toy.gaussian_fake_mean, toy.gaussian_std)"
LOG_2 = math.log(2)  # the JS divergence of disjoint supports (objectives.LOG_2, without torch)

W_TOLERANCE = 0.05  # 5% of the theta range: a line visibly on |theta| in the figure
THETA_RANGE = 2.0  # the grid spans [-1, 1]
P2_FIG1_W = Claim(
    EXPERIMENT, "p2_fig1_em_continuous",
    "parallel lines: the EM distance is |theta|, continuous in theta, and the clipped critic "
    "estimates it (P2 Fig. 1, Example 1)",
    "P2 Example 1: \"W(P0, P_theta) = |theta|\". Fig. 1: \"The EM plot is continuous and provides "
    "a usable gradient everywhere.\"",
    "per seed, at every theta on the grid, |critic estimate (divided by the critic's measured "
    f"Lipschitz constant) - |theta|| <= {W_TOLERANCE:.0%} of the theta range, i.e. <= "
    f"{W_TOLERANCE * THETA_RANGE:g} (part: critic vs |theta|), and so is the exact sample EMD "
    f"(part: sample EMD vs |theta|). {SEED_RULE}",
    "W(P0, P_theta) = |theta|, continuous in theta")

JS_FLAT_TOLERANCE = 0.05  # relative to log 2
P2_FIG1_JS = Claim(
    EXPERIMENT, "p2_fig1_js_flat",
    "parallel lines: the JS divergence is log 2 for every theta != 0, blind to the distance "
    "(P2 Fig. 1, Example 1)",
    "P2 Example 1: \"JS(P0, P_theta) = log 2 if theta != 0, 0 if theta = 0\". Fig. 1: \"The JS "
    "plot is not continuous and does not provide a usable gradient.\"",
    f"per seed, the trained discriminator's JS estimate is within {JS_FLAT_TOLERANCE:.0%} of "
    f"log 2 at every theta != 0 (part: JS vs log 2; context: its value at theta = 0). {SEED_RULE}",
    "JS = log 2 for theta != 0, 0 at theta = 0: not continuous")

SATURATED_RATIO = 0.01  # "saturates ... vanishing gradients": under 1% of the steepest slope
LINEAR_R2 = 0.95  # "very clean gradients": a near-constant slope
FAKE_SIDE_STDS = 1.0  # "on the fake samples": within 1 std of the fake mean
FIT_SPAN_STDS = 2.0  # "over both distributions": from 2 std below the lower mean to 2 above the upper
P2_FIG2 = Claim(
    EXPERIMENT, "p2_fig2_saturation",
    "two Gaussians: the optimal GAN discriminator saturates, the WGAN critic is nearly linear "
    "(P2 Fig. 2)",
    "P2 Fig. 2: \"As we can see, the discriminator of a minimax GAN saturates and results in "
    "vanishing gradients. Our WGAN critic provides very clean gradients on all parts of the "
    "space.\"",
    f"per seed, mean |dD/dx| on the fake samples (within {FAKE_SIDE_STDS:g} std of the fake "
    f"mean) < {SATURATED_RATIO:.0%} of its largest value on the grid (part: D saturation ratio), "
    f"and the critic's R^2 of a straight-line fit over both distributions (the means "
    f"+-{FIT_SPAN_STDS:g} std) >= {LINEAR_R2:g} (part: critic R^2). {SEED_RULE}",
    "D flat (no gradient) on the fake data; critic linear, useful gradient")

CLAIMS = (P2_FIG1_W, P2_FIG1_JS, P2_FIG2)

# The parts and statistics as claims_seeds.csv and the reasons name them.
CRITIC_PART, EMD_PART, JS_PART = "critic vs |theta|", "sample EMD vs |theta|", "JS vs log 2"
SATURATION_PART, R2_PART = "D saturation ratio", "critic R^2"
ERROR = "largest error from |theta| over the grid"
JS_DEVIATION = "largest |JS estimate - log 2| / log 2 over theta != 0"
SATURATION = "mean |dD/dx| on the fakes / largest |dD/dx|"
R2 = "R^2 of a straight-line fit"

PerSeed = dict[int, dict[str, float]]  # seed -> statistics (seed_statistics' keys)


@dataclass(frozen=True)
class GaussianSettings:
    """What the rules read from toy/config.yaml: where P2 Fig. 2's two Gaussians are."""

    real_mean: float
    fake_mean: float
    std: float


def settings_from_config(config: dict) -> GaussianSettings | None:
    """The Gaussians' settings from the toy's config.yaml (a dict); None when a key is missing."""
    toy = config.get("toy") or {}
    values = [toy.get(k) for k in ("gaussian_real_mean", "gaussian_fake_mean", "gaussian_std")]
    return None if any(v is None for v in values) else GaussianSettings(*map(float, values))


def with_seed(frame, config: dict):
    """A table with its seed column; an older one without (one run) gets the config's seed,
    None when the config has none either."""
    if frame is None or "seed" in frame.columns:
        return frame
    if config.get("seed") is None:
        return None
    return frame.assign(seed=int(config["seed"]))


# ---- the statistics, once per seed -------------------------------------------------------------------
def lines_statistics(lines) -> dict[str, float]:
    """One seed's parallel_lines rows: the largest errors from |theta| and from log 2, and
    (context) the JS estimate at theta = 0."""
    moved = lines[lines["theta"] != 0]
    at_zero = lines.loc[lines["theta"] == 0, "js_estimate"]
    return {"critic_error_max": float((lines["critic_estimate"] - lines["w_closed_form"]).abs().max()),
            "emd_error_max": float((lines["emd_samples"] - lines["w_closed_form"]).abs().max()),
            "js_deviation_max": float((moved["js_estimate"] - LOG_2).abs().max() / LOG_2),
            "js_at_zero": float(at_zero.iloc[0]) if len(at_zero) else float("nan")}


def gaussians_statistics(gaussians, settings: GaussianSettings) -> dict[str, float]:
    """One seed's two_gaussians rows: the discriminator's saturation ratio and the critic's R^2
    of a straight line over both distributions."""
    import numpy as np

    s = settings
    lo = min(s.real_mean, s.fake_mean) - FIT_SPAN_STDS * s.std
    hi = max(s.real_mean, s.fake_mean) + FIT_SPAN_STDS * s.std
    span = gaussians[(gaussians["x"] >= lo) & (gaussians["x"] <= hi)]
    fake_side = gaussians[(gaussians["x"] - s.fake_mean).abs() <= FAKE_SIDE_STDS * s.std]
    r2 = float("nan")
    if len(span) >= 3:
        slope, intercept = np.polyfit(span["x"], span["critic"], 1)
        residual = span["critic"] - (slope * span["x"] + intercept)
        total = float(((span["critic"] - span["critic"].mean()) ** 2).sum())
        r2 = 1.0 - float((residual ** 2).sum()) / total if total > 0 else float("nan")
    steepest = float(gaussians["discriminator_grad"].abs().max())
    fake_mean = float(fake_side["discriminator_grad"].abs().mean())
    return {"discriminator_saturation_ratio": fake_mean / steepest if steepest > 0 else float("nan"),
            "critic_linear_r2": r2}


def seed_statistics(lines, gaussians, settings: GaussianSettings) -> PerSeed:
    """Every seed's statistics (the rules' inputs), each computed here once; a seed missing
    from one table has NaN for that table's statistics."""
    seeds = sorted({int(s) for s in lines["seed"]} | {int(s) for s in gaussians["seed"]})
    nan = float("nan")
    out: PerSeed = {}
    for seed in seeds:
        mine = lines[lines["seed"] == seed]
        theirs = gaussians[gaussians["seed"] == seed]
        out[seed] = {**({"critic_error_max": nan, "emd_error_max": nan, "js_deviation_max": nan,
                         "js_at_zero": nan} if mine.empty else lines_statistics(mine)),
                     **({"discriminator_saturation_ratio": nan, "critic_linear_r2": nan}
                        if theirs.empty else gaussians_statistics(theirs, settings))}
    return out


# ---- the rules ----------------------------------------------------------------------------------
def _values(per_seed: PerSeed, part: str, key: str, statistic: str, comparison: str,
            threshold: float) -> list[SeedValue]:
    return [measured(part, seed, statistic, stats.get(key), comparison, threshold)
            for seed, stats in sorted(per_seed.items())]


def rule_p2_fig1_w(per_seed: PerSeed) -> Judged:
    tolerance = W_TOLERANCE * THETA_RANGE
    values = (_values(per_seed, CRITIC_PART, "critic_error_max", ERROR, "<=", tolerance)
              + _values(per_seed, EMD_PART, "emd_error_max", ERROR, "<=", tolerance))
    return seed_verdict(values), describe(values), values


def rule_p2_fig1_js(per_seed: PerSeed) -> Judged:
    values = _values(per_seed, JS_PART, "js_deviation_max", JS_DEVIATION, "<=", JS_FLAT_TOLERANCE)
    at_zero = ", ".join(num(s.get("js_at_zero"), ".3f") for _, s in sorted(per_seed.items()))
    text = describe(values) + (f"; context, JS estimate at theta = 0: {at_zero}" if values else "")
    return seed_verdict(values), text, values


def rule_p2_fig2(per_seed: PerSeed) -> Judged:
    values = (_values(per_seed, SATURATION_PART, "discriminator_saturation_ratio", SATURATION,
                      "<", SATURATED_RATIO)
              + _values(per_seed, R2_PART, "critic_linear_r2", R2, ">=", LINEAR_R2))
    return seed_verdict(values), describe(values), values


def inputs(results_dir: Path) -> tuple[Outcome | None, PerSeed]:
    """The two tables and the config, read and turned into every seed's statistics; an
    Outcome instead when one is missing."""
    out = Path(results_dir) / EXPERIMENT
    config = read_yaml(out / "config.yaml")
    lines = with_seed(read_table(out / "parallel_lines.csv"), config)
    gaussians = with_seed(read_table(out / "two_gaussians.csv"), config)
    blocked = (needs(lines, ("seed", "theta", "w_closed_form", "emd_samples", "critic_estimate",
                             "js_estimate"), f"{LINES} (its seed column, or seed in {CONFIG})")
               or needs(gaussians, ("seed", "x", "discriminator_grad", "critic"),
                        f"{GAUSSIANS} (its seed column, or seed in {CONFIG})"))
    if blocked:
        return blocked, {}
    settings = settings_from_config(config)
    if settings is None:
        return inconclusive(NEEDS_CONFIG), {}
    return None, seed_statistics(lines, gaussians, settings)


def judge(results_dir: Path) -> list[Claim]:
    blocked, per_seed = inputs(results_dir)
    summary: dict[str, Any] = read_json(Path(results_dir) / EXPERIMENT / "summary.json")
    source = source_of(results_dir, EXPERIMENT, summary, f"{LINES}, {GAUSSIANS}")
    return judge_all([(P2_FIG1_W, lambda: rule_p2_fig1_w(per_seed)),
                      (P2_FIG1_JS, lambda: rule_p2_fig1_js(per_seed)),
                      (P2_FIG2, lambda: rule_p2_fig2(per_seed))], source, blocked)
