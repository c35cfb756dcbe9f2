"""Figures from CSVs only: re-plotting never trains. Vector PDFs with paper-like axes."""

from __future__ import annotations

from pathlib import Path

from wgan_repro.results import FIG2_COLUMNS, read_csv, write_with

STYLE = {
    "font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 9,
    "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
    "pdf.fonttype": 42,  # embed TrueType: text stays text in the PDF
}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    plt.rcParams.update(STYLE)
    return plt


def _save(fig, path: Path) -> None:
    write_with(path, lambda tmp: fig.savefig(tmp, format="pdf", bbox_inches="tight"))
    fig.clf()


def _epoch_curves(ax, frame, column, log: bool) -> str:
    """Median over seeds per epoch snapshot, with the seeds' min-max band; returns a note
    saying so, for the caption."""
    import matplotlib

    colors = matplotlib.colormaps["viridis"]
    epochs = sorted(frame["epoch"].unique())
    for i, epoch in enumerate(epochs):
        group = frame[frame["epoch"] == epoch]
        stats = group.groupby("d_iter")[column].agg(["median", "min", "max"])
        n_seeds = group["seed"].nunique()
        color = colors(i / max(len(epochs) - 1, 1) * 0.85)
        label = f"After {epoch} epoch{'s' if epoch != 1 else ''}"
        if n_seeds > 1:
            ax.fill_between(stats.index, stats["min"], stats["max"], color=color, alpha=0.2,
                            linewidth=0)
        ax.plot(stats.index, stats["median"], color=color, label=label, linewidth=1.2)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("discriminator iterations")
    ax.set_xlim(left=0)
    n_seeds = frame["seed"].nunique()
    return f"median of {n_seeds} seeds, band: seed range" if n_seeds > 1 else "one seed"


def plot_fig2(csv_path: Path, out_dir: Path) -> list[Path]:
    """P1 Fig. 1 (D error and accuracy), Fig. 2 and Fig. 3 (generator gradient norms)."""
    plt = _pyplot()
    frame = read_csv(csv_path, FIG2_COLUMNS)
    out_dir = Path(out_dir)
    paths = []

    fig, (ax_err, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.4))
    note = _epoch_curves(ax_err, frame, "d_loss", log=True)
    ax_err.set_ylabel("discriminator error (cross-entropy)")
    ax_err.set_title("Discriminator error")
    ax_err.legend(loc="upper right")
    _epoch_curves(ax_acc, frame, "d_accuracy", log=False)
    ax_acc.set_ylabel("discriminator accuracy")
    ax_acc.set_ylim(0.4, 1.02)
    ax_acc.set_title("Discriminator accuracy")
    fig.suptitle("P1 Fig. 1: a discriminator trained from scratch against a frozen DCGAN "
                 f"generator ({note})", fontsize=10)
    paths.append(out_dir / "fig1_discriminator.pdf")
    _save(fig, paths[-1])

    for column, name, title in (
        ("grad_norm_original", "fig2_grad_norm_original.pdf",
         r"P1 Fig. 2: original cost  $\|\nabla_\theta\,\mathbb{E}_z \log(1 - D(g_\theta(z)))\|_2$"),
        ("grad_norm_logd", "fig3_grad_norm_logd.pdf",
         r"P1 Fig. 3: $-\log D$ cost  $\|\nabla_\theta\,\mathbb{E}_z [-\log D(g_\theta(z))]\|_2$"),
    ):
        fig, ax = plt.subplots(figsize=(6, 4))
        note = _epoch_curves(ax, frame, column, log=True)
        ax.set_ylabel("gradient norm (all generator parameters)")
        ax.set_title(f"{title}\n({note})")
        ax.legend(loc="best")
        paths.append(out_dir / name)
        _save(fig, paths[-1])
    plt.close("all")
    return paths
