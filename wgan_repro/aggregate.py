"""What every experiment's aggregation shares: its jobs' tables (one per seed, run or snapshot)
concatenated into one with declared columns, and the note on runs that diverged (pandas only).

Each experiment module has the same shape: a task ``run_*(cfg) -> dict`` per job, which writes
that job's CSVs, and ``aggregate(results_dir, runs, ...) -> summary``, which turns the jobs'
CSVs into the experiment's CSVs and summary.json. plans.conclude then judges the claims from
those files (wgan_repro.claims) and draws the figures from them (plots.figures).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


def concatenated(frames: Iterable, columns: Sequence[str], order: Sequence[str] = ()):
    """The jobs' tables as one with exactly ``columns``, in that order (a table's other
    columns are left out), sorted by ``order`` when given, else in the tables' order."""
    import pandas as pd

    parts = [frame[list(columns)] for frame in frames if len(frame)]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(columns))
    return frame.sort_values(list(order)).reset_index(drop=True) if order else frame


def diverged_seeds(runs: Iterable[dict[str, Any]]) -> dict[int, int]:
    """{seed: generator iteration} of the runs that hit NaN/Inf, by seed."""
    return dict(sorted((run["seed"], run["diverged_at"]) for run in runs
                       if run.get("diverged_at")))


def diverged_note(diverged: dict[str, int], what: str) -> str:
    """What a claim's source adds about runs that diverged, e.g. '; diverged: wgan_mlp/s1 at
    generator iteration 1200' ('' when none did)."""
    if not diverged:
        return ""
    return f"; {what}: " + ", ".join(f"{name} at generator iteration {at}"
                                     for name, at in diverged.items())


def dcgan_left_out_note(diverged: dict[int, int]) -> str:
    """fig2's and probe noise's note on the seeds left out because their DCGAN diverged
    (``diverged`` as diverged_seeds gives it)."""
    return diverged_note({f"seed {s}": i for s, i in diverged.items()}, "left out, DCGAN diverged")
