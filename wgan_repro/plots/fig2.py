"""P1 Figures 1-3 (fig2): the discriminator, the two costs' gradient norms, their variance, the
update-quality check."""

from __future__ import annotations

from pathlib import Path

from wgan_repro.plots.style import epoch_curves, pyplot, save, seeds_note
from wgan_repro.results import FIG2_COLUMNS, read_csv
from wgan_repro.stats import seed_band


def plot_fig2(csv_path: Path, out_dir: Path) -> list[Path]:
    """P1 Fig. 1 (D error and accuracy), Fig. 2 and Fig. 3 (generator gradient norms); none
    when every seed's DCGAN diverged (no snapshot, no row)."""
    frame = read_csv(csv_path, FIG2_COLUMNS)
    if frame.empty:
        return []
    plt = pyplot()
    out_dir = Path(out_dir)
    paths = []

    fig, (ax_err, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.4))
    note = epoch_curves(ax_err, frame, "d_loss", log=True)
    ax_err.set_ylabel("discriminator error (cross-entropy)")
    ax_err.set_title("Discriminator error")
    ax_err.legend(loc="upper right")
    epoch_curves(ax_acc, frame, "d_accuracy", log=False)
    ax_acc.set_ylabel("discriminator accuracy")
    ax_acc.set_ylim(0.4, 1.02)
    ax_acc.set_title("Discriminator accuracy")
    fig.suptitle("P1 Fig. 1: a discriminator trained from scratch against a frozen DCGAN "
                 f"generator ({note})", fontsize=10)
    paths.append(out_dir / "fig1_discriminator.pdf")
    save(fig, paths[-1])

    for column, name, title in (
        ("grad_norm_original", "fig2_grad_norm_original.pdf",
         r"P1 Fig. 2: original cost  $\|\nabla_\theta\,\mathbb{E}_z \log(1 - D(g_\theta(z)))\|_2$"),
        ("grad_norm_logd", "fig3_grad_norm_logd.pdf",
         r"P1 Fig. 3: $-\log D$ cost  $\|\nabla_\theta\,\mathbb{E}_z [-\log D(g_\theta(z))]\|_2$"),
    ):
        fig, ax = plt.subplots(figsize=(6, 4))
        note = epoch_curves(ax, frame, column, log=True)
        ax.set_ylabel("gradient norm (all generator parameters)")
        ax.set_title(f"{title}\n({note})")
        ax.legend(loc="best")
        paths.append(out_dir / name)
        save(fig, paths[-1])
    paths.append(_plot_fig2_grad_var(plt, frame, out_dir / "fig3_grad_var.pdf"))
    plt.close("all")
    return paths


def _plot_fig2_grad_var(plt, frame, path: Path) -> Path:
    """P1 Fig. 3's "the variance of the gradients is also increasing": the minibatch variance
    of each cost's gradient, the -log D cost (the claim) next to the original (the control)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, column, title in (
        (axes[0], "grad_var_logd",
         r"$-\log D$ cost  $\nabla_\theta\,\mathbb{E}_z[-\log D(g_\theta(z))]$"),
        (axes[1], "grad_var_original",
         r"original cost  $\nabla_\theta\,\mathbb{E}_z \log(1 - D(g_\theta(z)))$"),
    ):
        note = epoch_curves(ax, frame, column, log=True)
        ax.set_title(title)
    axes[0].set_ylabel(r"minibatch variance  mean$_k\,\|g_k - \bar g\|_2^2$")
    axes[0].legend(loc="best")
    fig.suptitle("P1 Fig. 3: variance of the generator gradient over independent noise "
                 f"batches, per discriminator iteration ({note})", fontsize=10)
    fig.tight_layout()
    save(fig, path)
    return path


def plot_fig2_update_quality(csv_path: Path, out_dir: Path) -> Path:
    """P1 Fig. 3's "updates that lower sample quality": per generator snapshot, the FCD of
    the snapshot and after the probe's generator steps with each cost against the frozen,
    trained discriminator; markers: seed median, whiskers: seed range."""
    from wgan_repro.results import FIG2_UPDATE_QUALITY_COLUMNS

    plt = pyplot()
    frame = read_csv(csv_path, FIG2_UPDATE_QUALITY_COLUMNS)
    epochs = sorted(frame["epoch"].unique())
    steps = int(frame["steps"].max())
    stats = seed_band(frame, ["cost", "steps", "epoch"], "fcd")
    series = (  # (cost, steps): the steps-0 rows of both costs are the same snapshot
        ("logd", 0, "tab:gray", "o", "snapshot (0 steps)"),
        ("logd", steps, "tab:red", "v", rf"after {steps} steps of the $-\log D$ cost"),
        ("original", steps, "tab:blue", "s", rf"after {steps} steps of the original cost"),
    )
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for i, (cost, n_steps, color, marker, label) in enumerate(series):
        rows = stats.loc[(cost, n_steps)].reindex(epochs)
        x = [j + (i - 1) * 0.2 for j in range(len(epochs))]
        spread = [rows["median"] - rows["min"], rows["max"] - rows["median"]]
        ax.errorbar(x, rows["median"], yerr=spread, color=color, marker=marker, linestyle="none",
                    capsize=3, label=label)
    ax.set_xticks(range(len(epochs)),
                  [f"after {e} epoch{'s' if e != 1 else ''}" for e in epochs])
    ax.set_xlabel("generator snapshot (DCGAN training before it was frozen)")
    ax.set_ylabel("FCD to the held-out digits (lower is better)")
    ax.set_yscale("log")  # snapshots differ by orders of magnitude; a step's change is a ratio
    ax.set_title("P1 Fig. 3: sample quality before and after generator steps against\n"
                 f"the trained, frozen discriminator ({seeds_note(frame, 'whiskers')})")
    ax.legend(loc="best")
    path = Path(out_dir) / "fig3_update_quality.pdf"
    save(fig, path)
    plt.close("all")
    return path


def figures(out_dir: Path) -> list[Path]:
    paths = plot_fig2(out_dir / "grad_norms.csv", out_dir)
    if (out_dir / "update_quality.csv").exists():  # the aggregation removes a stale one
        paths.append(plot_fig2_update_quality(out_dir / "update_quality.csv", out_dir))
    return paths
