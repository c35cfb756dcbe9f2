"""P2 section 3's warning about weight clipping (experiment clip), tested as WGAN-GP tested it
(Gulrajani et al. 2017, Fig. 1): small c makes a deep critic's gradients vanish, large c makes
the weights slow to reach their bounds and the critic slow to reach optimality; clipped
gradients explode or vanish across layers while penalised ones do not; clipped weights pile at
+-c; clipped critics' value surfaces miss the data's higher moments.

Files: clip/layer_grad_norms.csv (Fig. 1b: per recorded critic update and layer), clip/weights.csv
(histograms of the final weights), clip/critic_optimality.csv (Fig. 1a: the critics against a
fixed generator, every k steps), clip/value_surface.csv (Fig. 1a's surfaces), clip/points.csv
(the real samples whose mean and covariance define the first two moments). Every rule
judges each seed on each part (verdicts.seed_verdict); every statistic is computed once, in
:func:`seed_statistics`.

Each rule was written from the quoted words before any result was seen.

P2 = Arjovsky, Chintala & Bottou, "Wasserstein GAN" (ICML 2017, arXiv 1701.07875).
WGAN-GP = Gulrajani, Ahmed, Arjovsky, Dumoulin & Courville, "Improved Training of Wasserstein
GANs" (NeurIPS 2017, arXiv 1704.00028).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from wgan_repro.claims import read_json, read_table, source_of
from wgan_repro.results import CLIP_PENALTY_METHOD
from wgan_repro.verdicts import (
    SEED_RULE,
    Claim,
    Judged,
    SeedValue,
    describe,
    judge_all,
    measured,
    needs,
    num,
    seed_verdict,
    unmeasured,
)

EXPERIMENT = "clip"
LAYERS = "clip/layer_grad_norms.csv"
WEIGHTS = "clip/weights.csv"
OPTIMALITY = "clip/critic_optimality.csv"
SURFACE = "clip/value_surface.csv"
POINTS = "clip/points.csv"
GP = CLIP_PENALTY_METHOD  # results.py declares it with the columns

P2_S3_QUOTE = ("P2 section 3: \"Weight clipping is a clearly terrible way to enforce a Lipschitz "
               "constraint. If the clipping parameter is large, then it can take a long time for "
               "any weights to reach their limit, thereby making it harder to train the critic "
               "till optimality. If the clipping is small, this can easily lead to vanishing "
               "gradients when the number of layers is big, or batch normalization is not used "
               "(such as in RNNs).\"")
NORM = ("the median over recorded critic updates of ||d (E f(real) - E f(fake)) / d output of "
        "the layer|| of each linear layer (the gradient backpropagation carries down the critic)")

VANISHED_ORDERS = 2.0  # "vanishing gradients": orders of magnitude, plural, output layer -> input
P2_S3_SMALL = Claim(
    EXPERIMENT, "p2_s3_small_clip_vanishes",
    "with a small clipping bound the gradients of a deep critic without batch norm vanish: "
    "they fall by orders of magnitude from the last layer to the first (P2 section 3)",
    P2_S3_QUOTE,
    f"Fig. 1b's WGAN on Swiss Roll (12-layer ReLU MLP critic, no batch norm), at the smallest c "
    f"run: per seed, log10 of ({NORM}) at the output layer over that at the input layer >= "
    f"{VANISHED_ORDERS:g} (the gradient falls by >= {VANISHED_ORDERS:g} orders of magnitude on "
    f"its way back to the first layer). {SEED_RULE}",
    "small c: vanishing gradients in a deep critic without batch norm")

LARGE_C, SMALL_C = 0.1, 0.01  # WGAN-GP's largest c against P2 Algorithm 1's
LARGE_SLOWER = 10.0  # "a long time": an order of magnitude more critic steps than at SMALL_C
HALF = 0.5  # "the weights reach their limit": half of them at +-c
P2_S3_LARGE = Claim(
    EXPERIMENT, "p2_s3_large_clip_slow",
    "with a large clipping bound the weights take far longer to reach their bounds and the "
    "critic is further from optimal after the same number of steps (P2 section 3)",
    P2_S3_QUOTE,
    f"Fig. 1a's critics against a fixed generator (real data + N(0, 1) noise), c = {LARGE_C:g} "
    f"against c = {SMALL_C:g} on each dataset (parts), per seed: (a) critic steps until >= "
    f"{HALF:.0%} of the weights sit at +-c, at c = {LARGE_C:g} over at c = {SMALL_C:g}, >= "
    f"{LARGE_SLOWER:g} (c = {LARGE_C:g} never reaching it counts as one step past its run); (b) "
    f"optimality after the same number of steps (the last), c = {SMALL_C:g}'s minus c = "
    f"{LARGE_C:g}'s, > 0, where optimality = the critic's estimate E f(real) - E f(fake) / its "
    f"measured Lipschitz constant / the exact EMD (1 = an optimal 1-Lipschitz critic). "
    f"{SEED_RULE}",
    "large c: weights slow to reach their limit, critic slow to reach optimality")

UNSTABLE_ORDERS = 2.0  # "explode or vanish": the layers' norms span >= 2 orders of magnitude
WGANGP_FIG1B_CLIP = Claim(
    EXPERIMENT, "wgangp_fig1b_clip_unstable",
    "with weight clipping the gradient norms of a deep critic explode or vanish across its "
    "layers, at every c (WGAN-GP Fig. 1b)",
    "WGAN-GP Fig. 1b: \"Gradient norms of deep WGAN critics during training on the Swiss Roll "
    "dataset either explode or vanish when using weight clipping, but not when using a gradient "
    "penalty.\" Section 3.2: c in {0.1, 0.01, 0.001}; \"Both generator and critic are 12-layer "
    "ReLU MLPs without batch normalization\".",
    f"Fig. 1b, per seed and c (parts): log10 of the largest over the smallest, across the "
    f"layers, of {NORM} >= {UNSTABLE_ORDERS:g} (explode or vanish: which way is in the measured "
    f"value's context). {SEED_RULE}",
    "clipping: gradient norms explode or vanish across layers")

STABLE_ORDERS = 1.0  # "not when using a gradient penalty": within about an order of magnitude
WGANGP_FIG1B_GP = Claim(
    EXPERIMENT, "wgangp_fig1b_gp_stable",
    "with the gradient penalty the gradient norms stay within about an order of magnitude "
    "across the layers (WGAN-GP Fig. 1b)",
    WGANGP_FIG1B_CLIP.paper_quote,
    f"Fig. 1b, the penalised critic, per seed: log10 of the largest over the smallest, across "
    f"the layers, of {NORM} <= {STABLE_ORDERS:g}. {SEED_RULE}",
    "gradient penalty: norms neither explode nor vanish")

PILED_SHARE = 0.5  # "pushes weights towards two values": a majority at the extremes
NOT_PILED_SHARE = 0.1  # "unlike gradient penalty": few at the extremes of its own range
OUTER = 0.95  # "the extremes of the clipping range": the outer 5% at each end
WEIGHTS_C = 0.01  # P2 Algorithm 1's c (and gan_toy.py's)
WGANGP_FIG1B_WEIGHTS = Claim(
    EXPERIMENT, "wgangp_fig1b_weights_at_bounds",
    "weight clipping piles the critic's weights at +-c; the gradient penalty does not (WGAN-GP "
    "Fig. 1b, right)",
    "WGAN-GP Fig. 1b: \"Weight clipping (top) pushes weights towards two values (the extremes of "
    "the clipping range), unlike gradient penalty (bottom).\"",
    f"Fig. 1b's critics at the end of training, per seed: the share of the weights with |w| >= "
    f"{OUTER:g} x bound is >= {PILED_SHARE:.0%} for the critic clipped at c = {WEIGHTS_C:g} "
    f"(bound = c; part: clipped) and < {NOT_PILED_SHARE:.0%} for the penalised critic (bound = "
    f"its largest |w|; part: penalised). {SEED_RULE}",
    "clipped weights at the two extremes; penalised weights spread")

TWO_MOMENTS = 0.9  # "fail to capture higher moments": >= 90% of the surface is first-and-second order
MORE_THAN_TWO_MOMENTS = 0.1  # the penalty's surface: >= 10 points more beyond them
DISTANCE_BINS = 50  # the function of the Mahalanobis distance: its mean in 50 equal-count bins
SURFACE_C = 0.01  # gan_toy.py's c
WGANGP_FIG1A = Claim(
    EXPERIMENT, "wgangp_fig1a_higher_moments",
    "critics trained with weight clipping fail to capture the data's higher moments; the "
    "penalised critics capture them (WGAN-GP Fig. 1a)",
    "WGAN-GP Fig. 1a: \"Value surfaces of WGAN critics trained to optimality on toy datasets "
    "using (top) weight clipping and (bottom) gradient penalty. Critics trained with weight "
    "clipping fail to capture higher moments of the data distribution. The 'generator' is held "
    "fixed at the real data plus Gaussian noise.\"",
    f"per seed and dataset: a surface that uses only the data's first two moments (mean and "
    f"covariance) is a function of the Mahalanobis distance to the data's mean; its share of "
    f"the critic's value-surface variance over the plotted grid explained by the best such "
    f"function (the surface's mean in {DISTANCE_BINS} equal-count bins of that distance, the "
    f"moments from the plotted real samples) is the statistic. The clipped critic (c = "
    f"{SURFACE_C:g}): >= {TWO_MOMENTS:g} (part: <dataset> clipped); the penalised critic: at "
    f"least {MORE_THAN_TWO_MOMENTS:g} lower than the clipped one's (part: <dataset> clipped - "
    f"penalised >= {MORE_THAN_TWO_MOMENTS:g}). {SEED_RULE}",
    "clipped surfaces miss higher moments; penalised ones capture them")

CLAIMS = (P2_S3_SMALL, P2_S3_LARGE, WGANGP_FIG1B_CLIP, WGANGP_FIG1B_GP, WGANGP_FIG1B_WEIGHTS,
          WGANGP_FIG1A)

ORDERS_SPANNED = "orders of magnitude between the layers' largest and smallest norm"
ORDERS_FALLEN = "orders of magnitude, output layer over input layer"


def method_name(method: str, c: float) -> str:
    """"c = 0.01" or "GP": how the parts name a method."""
    return "GP" if method == GP else f"c = {c:g}"


# ---- the statistics, once per seed ------------------------------------------------------------------
def layer_profiles(layers) -> dict[tuple[str, float, int], dict[int, float]]:
    """(method, c, seed) -> layer -> median norm over the recorded critic updates."""
    out: dict[tuple[str, float, int], dict[int, float]] = {}
    frame = layers.assign(c=layers["c"].fillna(-1.0))
    for (method, c, seed, layer), group in frame.groupby(["method", "c", "seed", "layer"]):
        out.setdefault((str(method), float(c), int(seed)), {})[int(layer)] = float(
            group["grad_norm"].median())
    return out


def _log10_ratio(high: float, low: float) -> float:
    if low > 0 and high > 0 and math.isfinite(high) and math.isfinite(low):
        return math.log10(high / low)
    return math.inf if high > 0 and low == 0 else math.nan


def profile_statistics(profile: dict[int, float]) -> dict[str, float]:
    """Orders of magnitude the layers' norms span, and from the output layer to the input."""
    first, last = profile[min(profile)], profile[max(profile)]
    return {"orders_spanned": _log10_ratio(max(profile.values()), min(profile.values())),
            "orders_fallen": _log10_ratio(last, first)}


def share_outer(weights) -> dict[tuple[str, str, float, int], float]:
    """(part, method, c, seed) -> share of the weights in the histogram's bins at |w| >= OUTER
    (weights.csv's bins are in units of the bound)."""
    out = {}
    frame = weights.assign(c=weights["c"].fillna(-1.0))
    for (part, method, c, seed), group in frame.groupby(["part", "method", "c", "seed"]):
        total = group["count"].sum()
        outer = group.loc[(group["bin_low"] >= OUTER - 1e-9) | (group["bin_high"] <= -OUTER + 1e-9),
                          "count"].sum()
        out[(str(part), str(method), float(c), int(seed))] = (float(outer / total) if total
                                                              else math.nan)
    return out


def steps_to_half(optimality) -> dict[tuple[str, float, int], float]:
    """(dataset, c, seed) -> first recorded step with >= HALF of the weights at +-c (the last
    step + 1 when never)."""
    out = {}
    clipped = optimality[optimality["method"] != GP]
    for (dataset, c, seed), group in clipped.groupby(["dataset", "c", "seed"]):
        reached = group.loc[group["share_at_bound"] >= HALF, "step"]
        out[(str(dataset), float(c), int(seed))] = float(
            reached.min() if len(reached) else group["step"].max() + 1)
    return out


def final_optimality(optimality) -> dict[tuple[str, str, float, int], float]:
    """(dataset, method, c, seed) -> optimality at the critic's last recorded step."""
    frame = optimality.assign(c=optimality["c"].fillna(-1.0))
    last = frame.sort_values("step").groupby(["dataset", "method", "c", "seed"]).tail(1)
    return {(str(r["dataset"]), str(r["method"]), float(r["c"]), int(r["seed"])):
            float(r["optimality"]) for r in last.to_dict("records")}


def two_moment_share(surface, points) -> dict[tuple[str, str, float, int], float]:
    """(dataset, method, c, seed) -> share of the value surface's variance explained by a
    function of the Mahalanobis distance to the real samples' mean (binned means; the mean and
    covariance of that dataset and seed's real samples in points.csv)."""
    import numpy as np
    import pandas as pd

    out = {}
    frame = surface.assign(c=surface["c"].fillna(-1.0))
    real = points[points["kind"] == "real"]
    for (dataset, method, c, seed), group in frame.groupby(["dataset", "method", "c", "seed"]):
        mine = real[(real["dataset"] == dataset) & (real["seed"] == seed)][["x", "y"]].to_numpy()
        key = (str(dataset), str(method), float(c), int(seed))
        if len(mine) < 3:
            out[key] = math.nan
            continue
        offsets = group[["x", "y"]].to_numpy(float) - mine.mean(0)
        precision = np.linalg.pinv(np.cov(mine.T))
        distance = np.sqrt(np.einsum("ij,jk,ik->i", offsets, precision, offsets))
        value = group["value"].to_numpy(float)
        bins = pd.qcut(distance, min(DISTANCE_BINS, len(value)), labels=False, duplicates="drop")
        explained = pd.Series(value).groupby(bins).transform("mean").to_numpy()
        total = float(((value - value.mean()) ** 2).sum())
        out[key] = (float(((explained - value.mean()) ** 2).sum()) / total if total > 0
                    else math.nan)
    return out


def seed_statistics(tables: dict[str, Any]) -> dict[str, dict]:
    """Every statistic the rules read, computed once from the four tables."""
    return {"profiles": {k: profile_statistics(v)
                         for k, v in layer_profiles(tables["layers"]).items()},
            "outer_share": share_outer(tables["weights"]),
            "steps_to_half": steps_to_half(tables["optimality"]),
            "optimality": final_optimality(tables["optimality"]),
            "two_moments": two_moment_share(tables["surface"], tables["points"])}


# ---- the rules ---------------------------------------------------------------------------------------
def _clipped_cs(profiles: dict) -> list[float]:
    return sorted({c for method, c, _ in profiles if method != GP}, reverse=True)


def _seeds(keys, index: int = -1) -> list[int]:
    return sorted({k[index] for k in keys})


def rule_small_clip(stats: dict) -> Judged:
    profiles = stats["profiles"]
    cs = _clipped_cs(profiles)
    if not cs:
        return seed_verdict([]), "", []
    smallest = cs[-1]
    values = [measured(f"c = {smallest:g}", seed, ORDERS_FALLEN,
                       profiles[("clip", smallest, seed)]["orders_fallen"], ">=", VANISHED_ORDERS)
              for seed in _seeds(k for k in profiles if k[:2] == ("clip", smallest))]
    return seed_verdict(values), describe(values), values


def rule_large_clip(stats: dict) -> Judged:
    steps, final = stats["steps_to_half"], stats["optimality"]
    values: list[SeedValue] = []
    for dataset in sorted({k[0] for k in steps}):
        for seed in _seeds(k for k in steps if k[0] == dataset):
            large, small = steps.get((dataset, LARGE_C, seed)), steps.get((dataset, SMALL_C, seed))
            pair = f"c = {LARGE_C:g} or c = {SMALL_C:g} not run"
            part = f"{dataset}: steps to half at +-c, c = {LARGE_C:g} / c = {SMALL_C:g}"
            if large is None or small is None:
                values.append(unmeasured(part, seed, "ratio", f">= {LARGE_SLOWER:g}", pair))
            else:
                values.append(measured(part, seed, "ratio of critic steps",
                                       large / small if small > 0 else math.inf, ">=",
                                       LARGE_SLOWER))
            large_opt = final.get((dataset, "clip", LARGE_C, seed))
            small_opt = final.get((dataset, "clip", SMALL_C, seed))
            part = f"{dataset}: optimality c = {SMALL_C:g} - c = {LARGE_C:g}"
            if large_opt is None or small_opt is None:
                values.append(unmeasured(part, seed, "difference", "> 0", pair))
            else:
                values.append(measured(part, seed, "difference of final optimality",
                                       small_opt - large_opt, ">", 0.0))
    context = "; ".join(
        f"{dataset} final optimality c = {LARGE_C:g} / {SMALL_C:g} / GP: " + ", ".join(
            f"s{seed} {num(final.get((dataset, 'clip', LARGE_C, seed)), '.2f')} / "
            f"{num(final.get((dataset, 'clip', SMALL_C, seed)), '.2f')} / "
            f"{num(final.get((dataset, GP, -1.0, seed)), '.2f')}"
            for seed in _seeds(k for k in final if k[0] == dataset))
        for dataset in sorted({k[0] for k in final}))
    return seed_verdict(values), describe(values) + (f"; context: {context}" if context else ""), \
        values


def rule_clip_unstable(stats: dict) -> Judged:
    profiles = stats["profiles"]
    values, ways = [], []
    for c in _clipped_cs(profiles):
        for seed in _seeds(k for k in profiles if k[:2] == ("clip", c)):
            p = profiles[("clip", c, seed)]
            values.append(measured(f"c = {c:g}", seed, ORDERS_SPANNED, p["orders_spanned"], ">=",
                                   UNSTABLE_ORDERS))
        fallen = [profiles[("clip", c, s)]["orders_fallen"]
                  for s in _seeds(k for k in profiles if k[:2] == ("clip", c))]
        ways.append(f"c = {c:g}: output over input layer {', '.join(num(f, '+.2f') for f in fallen)}"
                    " orders (> 0: vanishing toward the input, < 0: exploding)")
    return seed_verdict(values), describe(values) + (f"; context: {'; '.join(ways)}" if ways
                                                     else ""), values


def rule_gp_stable(stats: dict) -> Judged:
    profiles = stats["profiles"]
    values = [measured("GP", seed, ORDERS_SPANNED, profiles[(GP, -1.0, seed)]["orders_spanned"],
                       "<=", STABLE_ORDERS)
              for seed in _seeds(k for k in profiles if k[0] == GP)]
    return seed_verdict(values), describe(values), values


def rule_weights(stats: dict) -> Judged:
    shares = {k: v for k, v in stats["outer_share"].items() if k[0] == "fig1b"}
    share = f"share of weights with |w| >= {OUTER:g} x bound"
    values = [measured(f"clipped, c = {WEIGHTS_C:g}", seed, share,
                       shares[("fig1b", "clip", WEIGHTS_C, seed)], ">=", PILED_SHARE)
              for seed in _seeds(k for k in shares if k[1:3] == ("clip", WEIGHTS_C))]
    values += [measured("penalised", seed, share, shares[("fig1b", GP, -1.0, seed)], "<",
                        NOT_PILED_SHARE)
               for seed in _seeds(k for k in shares if k[1] == GP)]
    others = sorted({k[2] for k in shares if k[1] == "clip" and k[2] != WEIGHTS_C}, reverse=True)
    context = "; ".join(
        f"c = {c:g}: " + ", ".join(num(shares[("fig1b", "clip", c, s)], ".2f")
                                   for s in _seeds(k for k in shares if k[1:3] == ("clip", c)))
        for c in others)
    return seed_verdict(values), describe(values) + (f"; context (not judged): {context}"
                                                     if context else ""), values


def rule_higher_moments(stats: dict) -> Judged:
    shares = stats["two_moments"]
    statistic = "share explained by the Mahalanobis distance"
    values: list[SeedValue] = []
    for dataset in sorted({k[0] for k in shares}):
        for seed in _seeds(k for k in shares if k[0] == dataset):
            clipped = shares.get((dataset, "clip", SURFACE_C, seed))
            penalised = shares.get((dataset, GP, -1.0, seed))
            part = f"{dataset} clipped"
            values.append(measured(part, seed, statistic, clipped, ">=", TWO_MOMENTS)
                          if clipped is not None else
                          unmeasured(part, seed, statistic, f">= {TWO_MOMENTS:g}",
                                     f"c = {SURFACE_C:g} not run"))
            part = f"{dataset} clipped - penalised"
            values.append(measured(part, seed, "difference of the shares", clipped - penalised,
                                   ">=", MORE_THAN_TWO_MOMENTS)
                          if clipped is not None and penalised is not None else
                          unmeasured(part, seed, "difference", f">= {MORE_THAN_TWO_MOMENTS:g}",
                                     "a critic not run"))
    return seed_verdict(values), describe(values), values


# ---- reading the files ------------------------------------------------------------------------------
def judge(results_dir: Path) -> list[Claim]:
    out = Path(results_dir) / EXPERIMENT
    tables = {"layers": read_table(out / "layer_grad_norms.csv"),
              "weights": read_table(out / "weights.csv"),
              "optimality": read_table(out / "critic_optimality.csv"),
              "surface": read_table(out / "value_surface.csv"),
              "points": read_table(out / "points.csv")}
    blocked = (needs(tables["layers"], ("method", "c", "seed", "layer", "grad_norm"), LAYERS)
               or needs(tables["weights"], ("part", "method", "c", "seed", "bin_low", "bin_high",
                                            "count"), WEIGHTS)
               or needs(tables["optimality"], ("dataset", "method", "c", "seed", "step",
                                               "share_at_bound", "optimality"), OPTIMALITY)
               or needs(tables["surface"], ("dataset", "method", "c", "seed", "x", "y", "value"),
                        SURFACE)
               or needs(tables["points"], ("dataset", "seed", "kind", "x", "y"), POINTS))
    stats = {} if blocked else seed_statistics(tables)
    summary = read_json(out / "summary.json")
    source = source_of(results_dir, EXPERIMENT, summary, f"{LAYERS}, {WEIGHTS}, {OPTIMALITY}, "
                       f"{SURFACE}")
    return judge_all([(P2_S3_SMALL, lambda: rule_small_clip(stats)),
                      (P2_S3_LARGE, lambda: rule_large_clip(stats)),
                      (WGANGP_FIG1B_CLIP, lambda: rule_clip_unstable(stats)),
                      (WGANGP_FIG1B_GP, lambda: rule_gp_stable(stats)),
                      (WGANGP_FIG1B_WEIGHTS, lambda: rule_weights(stats)),
                      (WGANGP_FIG1A, lambda: rule_higher_moments(stats))], source, blocked)
