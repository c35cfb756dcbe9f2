"""Small statistics and table shaping shared by the experiments, the verdicts and the plots
(pandas, numpy and scipy only, imported inside the functions: the plots, the report and
``report --rejudge`` import this without torch).

Everything here turns an experiment's CSV tables into numbers; what those numbers must be for a
claim to hold lives in wgan_repro.claims, how parts combine into a verdict in wgan_repro.verdicts.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

MEDIAN_FILTER_WIDTH = 101  # P2 Fig. 3 median-filters the critic's estimate over 101 iterations
EDGE_FRACTION = 0.05  # "the last 5% of D iterations": the end of a curve, robust to one noisy point
EDGES = ("start", "first", "last")  # per_seed_edges' columns: d_iter 0, first and last 5%
DIGIT_CLASSES = 10  # MNIST's digits: a class histogram has 10 bins, one class alone has KL log 10
ARM_COLUMN = "arm"  # ablate/metrics.csv's arm: wgan | gan ("objective" in older files, renamed
# on read: results.RENAMED_COLUMNS)


# ---- numbers -------------------------------------------------------------------------------------
def missing(value: Any) -> bool:
    """None, pandas.NA or NaN (a number that was not measured)."""
    if value is None or type(value).__name__ == "NAType":  # None, pandas.NA
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def median(values) -> float:
    import numpy as np

    return float(np.median(np.asarray(values, dtype=float)))


def log10_ratio(numerator, denominator) -> float:
    if missing(numerator) or missing(denominator) or numerator <= 0 or denominator <= 0:
        return math.nan
    return math.log10(numerator / denominator)


def ratio(numerator, denominator) -> float:
    if missing(numerator) or missing(denominator) or denominator == 0:
        return math.nan
    return numerator / denominator


def spearman(x, y) -> float:
    """Spearman's rank correlation; NaN with fewer than 3 points or a constant series."""
    from scipy.stats import spearmanr

    if x is None or y is None or len(x) < 3:
        return math.nan
    with warnings.catch_warnings():  # a constant series has no rank correlation: NaN
        warnings.simplefilter("ignore")
        # rounded: scipy gives 0.7999999999999999 for an exact 0.8, which a >= 0.8 rule must pass
        return round(float(spearmanr(x, y).statistic), 12)


def median_filtered(values, width: int = MEDIAN_FILTER_WIDTH):
    """Centred running median (P2 Fig. 3's filter); a pandas Series in, a Series out (a list
    in, a list out)."""
    import pandas as pd

    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=float)
    filtered = series.rolling(width, center=True, min_periods=1).median()
    return filtered if isinstance(values, pd.Series) else filtered.tolist()


def seed_band(frame, by, column: str):
    """Median over seeds of ``column`` per value of ``by`` (a figure's x: d_iter, a snapshot,
    ...), with the seeds' range: a frame with columns median, min, max, indexed by ``by``."""
    return frame.groupby(by)[column].agg(["median", "min", "max"])


# ---- fig2-style tables (grad_norms.csv, instance_noise.csv) ----------------------------------------
def per_seed_edges(frame, column: str):
    """Per (epoch, seed) of a fig2-style table: the value at d_iter 0 (the untrained
    discriminator), the median over the first and over the last EDGE_FRACTION of D
    iterations, and the run's length."""
    import pandas as pd

    rows = []
    for (epoch, seed), group in frame.groupby(["epoch", "seed"]):
        d_max = group["d_iter"].max()
        width = max(EDGE_FRACTION * d_max, 1)
        at_zero = group.loc[group["d_iter"] == 0, column]
        rows.append({"epoch": int(epoch), "seed": int(seed), "d_iters": int(d_max),
                     "start": float(at_zero.iloc[0]) if len(at_zero) else math.nan,
                     "first": float(group.loc[group["d_iter"] <= width, column].median()),
                     "last": float(group.loc[group["d_iter"] >= d_max - width, column].median())})
    return pd.DataFrame(rows, columns=["epoch", "seed", "d_iters", *EDGES])


def edge_medians(frame, column: str) -> dict[int, dict[str, float]]:
    """Per snapshot (epoch): the seeds' median of each of per_seed_edges' edges."""
    edges = per_seed_edges(frame, column)
    return {int(epoch): {edge: float(group[edge].median()) for edge in EDGES}
            for epoch, group in edges.groupby("epoch")}


def epoch_label(epoch) -> str:
    return f"epoch {int(epoch)}"


def seed_median_by_epoch(edges, value: Callable) -> dict[str, float]:
    """{'epoch N': median over seeds of value(row)} of per_seed_edges' rows (NaN where a seed's
    value is NaN)."""
    out = {}
    for epoch, group in edges.groupby("epoch"):
        values = [value(r) for r in group.to_dict("records")]
        out[epoch_label(epoch)] = math.nan if any(missing(v) for v in values) else median(values)
    return out


def growth(frame, column: str) -> dict[str, float]:
    """Per snapshot, seed median of (median over the last EDGE_FRACTION) / (value at d_iter 0)."""
    return seed_median_by_epoch(per_seed_edges(frame, column),
                                lambda r: ratio(r["last"], r["start"]))


# ---- curve.csv + quality.csv ----------------------------------------------------------------------
def curve_runs(curve, quality) -> dict[str, dict[str, Any]]:
    """Per run and seed: the median-filtered estimate (the WGAN's W estimate or the GAN's JS
    estimate), its values at the evaluation points, and the quality measured there."""
    runs = {}
    for (run, seed), group in curve.groupby(["run", "seed"]):
        column = ("wasserstein_estimate" if group["wasserstein_estimate"].notna().any()
                  else "js_estimate")
        group = group.sort_values("gen_iter")
        filtered = median_filtered(group.set_index("gen_iter")[column].astype(float))
        q = quality[(quality["run"] == run) & (quality["seed"] == seed)].dropna(subset=["emd"])
        q = q[q["gen_iter"].isin(filtered.index)].sort_values("gen_iter")
        runs[f"{run}/s{int(seed)}"] = {
            "run": str(run), "estimate": column, "filtered": filtered,
            "at_eval": filtered.reindex(q["gen_iter"]).to_numpy(), "emd": q["emd"].to_numpy(),
            "fcd": q["fcd"].to_numpy() if "fcd" in q else None}
    return runs


# ---- ablate/metrics.csv ---------------------------------------------------------------------------
def final_rows(frame, variant: str):
    """ablate/metrics.csv: the last evaluation of every run of this variant."""
    mine = frame[frame["variant"] == variant].sort_values("gen_iters")
    return mine.groupby([ARM_COLUMN, "seed"], as_index=False).tail(1)


def scored_final(row) -> dict[str, float]:
    """A run's final evaluation; a diverged or unmeasurable run loses every comparison: it is
    scored with the worst values (infinite FCD, no class, KL of a single class)."""
    if bool(row["diverged"]) or not all(not missing(row[k]) and math.isfinite(float(row[k]))
                                        for k in ("emd", "fcd", "kl_uniform")):
        return {"emd": math.inf, "fcd": math.inf, "classes_covered": 0.0,
                "kl_uniform": math.log(DIGIT_CLASSES)}
    return {k: float(row[k]) for k in ("emd", "fcd", "classes_covered", "kl_uniform")}


def ablate_runs(frame, variant: str) -> dict[str, dict[int, dict[str, Any]]]:
    """{arm: {seed: final evaluation (scored_final), the measured final KL (NaN when diverged),
    first finite FCD, final / first FCD (inf when diverged), diverged}}."""
    out: dict[str, dict[int, dict[str, Any]]] = {}
    mine = frame[frame["variant"] == variant].sort_values("gen_iters")
    for (arm, seed), run in mine.groupby([ARM_COLUMN, "seed"]):
        final = run.iloc[-1]
        finite = run["fcd"].dropna()
        scored = scored_final(final)
        first = float(finite.iloc[0]) if len(finite) else math.nan
        diverged = bool(final["diverged"])
        out.setdefault(str(arm), {})[int(seed)] = {
            **scored, "first_fcd": first, "diverged": diverged,
            "fcd_ratio": math.inf if math.isinf(scored["fcd"]) else ratio(scored["fcd"], first),
            "kl_measured": math.nan if diverged else float(final["kl_uniform"])}
    return out


# ---- probe_adam: adam_cosine.csv + adam_quality.csv -------------------------------------------------
def is_warmup_iteration(gen_iter: int, warmup: bool, warmup_critic_iters: int,
                        warmup_gen_iters: int, warmup_every: int) -> bool:
    """Whether the critic runs its warm-up loop (``warmup_critic_iters`` updates instead of
    n_critic) before generator iteration ``gen_iter`` (0-based): the reference code's first
    ``warmup_gen_iters`` generator iterations and every ``warmup_every``-th one. The one
    definition: training (objectives.Objective.critic_iters) and the verdicts both use it."""
    return bool(warmup and warmup_critic_iters > 0 and (
        gen_iter < warmup_gen_iters or (warmup_every > 0 and gen_iter % warmup_every == 0)))


def adam_seed_stats(cosine, quality, radius: int, *, warmup: bool, warmup_critic_iters: int,
                    warmup_gen_iters: int, warmup_every: int) -> dict[str, dict[int, dict[str, Any]]]:
    """Per arm and seed ({arm: {seed: ...}}): counted blow-ups, how many have a negative cosine
    within the window, negative cosines outside the warm-up and how many fall inside a window.

    The warm-up is the run's configuration (the ``objective.warmup*`` keys), never inferred from
    the table; adam_cosine.csv's gen_iter is 1-based, is_warmup_iteration's 0-based."""
    stats: dict[str, dict[int, dict[str, Any]]] = {}
    for (arm, seed), group in cosine.groupby(["arm", "seed"]):
        group = group.sort_values("critic_step")
        warm = {g for g in group["gen_iter"].unique() if is_warmup_iteration(
            int(g) - 1, warmup, warmup_critic_iters, warmup_gen_iters, warmup_every)}
        outside = ~group["gen_iter"].isin(warm)
        q = quality[(quality["arm"] == arm) & (quality["seed"] == seed)].sort_values("gen_iter")
        counted, undetermined = [], 0
        candidates = group[group["blow_up"].astype(bool) & outside]
        for row in candidates.itertuples():
            before = q[q["gen_iter"] < row.gen_iter]
            after = q[q["gen_iter"] >= row.gen_iter]
            if before.empty or after.empty:
                undetermined += 1
            elif after["fcd"].iloc[0] > before["fcd"].iloc[-1]:
                counted.append(row.critic_step)
        steps = group["critic_step"].to_numpy()
        negative = (group["step_cosine"] < 0).to_numpy() & outside.to_numpy()
        stats.setdefault(str(arm), {})[int(seed)] = {
            "blow_ups": len(counted), "jumps_outside": len(candidates),
            "with_negative": sum(bool((negative & _within(steps, [b], radius)).any())
                                 for b in counted),
            "negatives": int(negative.sum()),
            "negatives_inside": int((negative & _within(steps, counted, radius)).sum()),
            "undetermined": undetermined, "updates_outside": int(outside.sum()),
            "lr": set(group["lr"].astype(float))}
    return stats


def adam_stats(cosine, quality, radius: int, **warmup_settings) -> dict[str, dict[str, Any]]:
    """adam_seed_stats with the seeds pooled, per arm (counts summed, learning rates joined)."""
    pooled: dict[str, dict[str, Any]] = {}
    for arm, seeds in adam_seed_stats(cosine, quality, radius, **warmup_settings).items():
        for one in seeds.values():
            s = pooled.setdefault(arm, {k: 0 for k in one if k != "lr"} | {"lr": set()})
            for key, value in one.items():
                s[key] = s[key] | value if key == "lr" else s[key] + value
    return pooled


def _within(steps, centres, radius: int):
    """Mask of the critic steps within ``radius`` updates of any of ``centres``."""
    import numpy as np

    mask = np.zeros(len(steps), dtype=bool)
    for c in centres:
        mask |= np.abs(steps - c) <= radius
    return mask
