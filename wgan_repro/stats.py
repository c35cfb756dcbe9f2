"""Small statistics shared by the experiments, the verdicts and the plots (pandas only: the
plots and the report import this without torch)."""

from __future__ import annotations

import math

MEDIAN_FILTER_WIDTH = 101  # P2 Fig. 3 median-filters the critic's estimate over 101 iterations
EDGE_FRACTION = 0.05  # "the last 5% of D iterations": the end of a curve, robust to one noisy point
EDGES = ("start", "first", "last")  # per_seed_edges' columns: d_iter 0, first and last 5%


def median_filtered(values, width: int = MEDIAN_FILTER_WIDTH):
    """Centred running median (P2 Fig. 3's filter); a pandas Series in, a Series out (a list
    in, a list out)."""
    import pandas as pd

    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=float)
    filtered = series.rolling(width, center=True, min_periods=1).median()
    return filtered if isinstance(values, pd.Series) else filtered.tolist()


def final_rows(frame, variant: str):
    """ablate/metrics.csv: the last evaluation of every run of this variant."""
    mine = frame[frame["variant"] == variant].sort_values("gen_iters")
    return mine.groupby(["objective", "seed"], as_index=False).tail(1)


def seed_band(frame, by, column: str):
    """Median over seeds of ``column`` per value of ``by`` (a figure's x: d_iter, a snapshot,
    ...), with the seeds' range: a frame with columns median, min, max, indexed by ``by``."""
    return frame.groupby(by)[column].agg(["median", "min", "max"])


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
