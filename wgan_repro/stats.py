"""Small statistics shared by the experiments, the verdicts and the plots (pandas only: the
plots and the report import this without torch)."""

from __future__ import annotations

MEDIAN_FILTER_WIDTH = 101  # P2 Fig. 3 median-filters the critic's estimate over 101 iterations


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
