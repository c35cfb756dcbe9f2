"""What every figure shares: the paper-like style, atomic PDF writes, seed medians with their
range."""

from __future__ import annotations

from pathlib import Path

from wgan_repro.results import write_with
from wgan_repro.stats import seed_band

STYLE = {
    "font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 9,
    "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
    "pdf.fonttype": 42,  # embed TrueType: text stays text in the PDF
}


def pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    plt.rcParams.update(STYLE)
    return plt


def save(fig, path: Path) -> None:
    write_with(path, lambda tmp: fig.savefig(tmp, format="pdf", bbox_inches="tight"))
    fig.clf()


def seeds_note(frame, spread: str = "band") -> str:
    """The caption's note on what a line (or marker) and its ``spread`` show."""
    n_seeds = frame["seed"].nunique()
    return f"median of {n_seeds} seeds, {spread}: seed range" if n_seeds > 1 else "one seed"


def median_and_band(ax, group, column: str, color, label: str) -> None:
    """One curve against d_iter: the seeds' median and, with more than one seed, their
    min-max band."""
    stats = seed_band(group, "d_iter", column)
    if group["seed"].nunique() > 1:
        ax.fill_between(stats.index, stats["min"], stats["max"], color=color, alpha=0.2,
                        linewidth=0)
    ax.plot(stats.index, stats["median"], color=color, label=label, linewidth=1.2)


def epoch_curves(ax, frame, column, log: bool) -> str:
    """Median over seeds per epoch snapshot, with the seeds' min-max band; returns a note
    saying so, for the caption."""
    import matplotlib

    colors = matplotlib.colormaps["viridis"]
    epochs = sorted(frame["epoch"].unique())
    for i, epoch in enumerate(epochs):
        group = frame[frame["epoch"] == epoch]
        median_and_band(ax, group, column, colors(i / max(len(epochs) - 1, 1) * 0.85),
                         f"After {epoch} epoch{'s' if epoch != 1 else ''}")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("discriminator iterations")
    ax.set_xlim(left=0)
    return seeds_note(frame)
