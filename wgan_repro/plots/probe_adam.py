"""P2 section 4.2 (probe adam): estimate, step cosine and quality per critic update."""

from __future__ import annotations

from pathlib import Path

from wgan_repro.plots.style import pyplot, save
from wgan_repro.results import read_csv


def plot_probe_adam(csv_path: Path, pdf_path: Path, quality_csv: Path | None = None) -> Path:
    """P2 section 4.2: per critic update, the estimate (top, blow-ups marked) and the cosine
    between the optimiser's step and the negative gradient (middle), one column per arm; with
    ``quality_csv`` (when it exists), the samples' FCD at each evaluation (bottom), placed at
    the critic update before it, so a blow-up and the quality after it line up."""
    from wgan_repro.results import PROBE_ADAM_COLUMNS, PROBE_ADAM_QUALITY_COLUMNS

    plt = pyplot()
    frame = read_csv(csv_path, PROBE_ADAM_COLUMNS)
    quality = (read_csv(quality_csv, PROBE_ADAM_QUALITY_COLUMNS)
               if quality_csv is not None and Path(quality_csv).exists() else None)
    arms = [a for a in ("adam", "rmsprop") if a in set(frame["arm"])]
    rows = 2 if quality is None else 3
    fig, axes = plt.subplots(rows, len(arms), figsize=(5.2 * len(arms), 2.8 * rows),
                             sharex="col", squeeze=False)
    for col, arm in enumerate(arms):
        group = frame[frame["arm"] == arm]
        ax_w, ax_c = axes[0, col], axes[1, col]
        for seed, run in group.groupby("seed"):
            ax_w.plot(run["critic_step"], run["wasserstein_estimate"], linewidth=0.5,
                      alpha=0.8, label=f"seed {seed}")
            ax_c.plot(run["critic_step"], run["step_cosine"], linewidth=0.4, alpha=0.8)
        blow = group[group["blow_up"].astype(bool)]
        ax_w.scatter(blow["critic_step"], blow["wasserstein_estimate"], marker="x", color="red",
                     s=18, zorder=3, label=f"blow-up ({len(blow)})")
        negative = group[group["step_cosine"] < 0]
        ax_c.scatter(negative["critic_step"], negative["step_cosine"], marker="o", s=8,
                     color="red", zorder=3, label=f"cosine < 0 ({len(negative)})")
        ax_c.axhline(0.0, color="black", linewidth=0.6)
        lr = group["lr"].iloc[0]
        name = {"adam": "Adam (beta1 > 0)", "rmsprop": "RMSProp"}[arm]
        ax_w.set_title(f"{name}, lr {lr:g}")
        ax_w.set_ylabel(r"estimate $\mathbb{E} f(x) - \mathbb{E} f(g(z))$")
        ax_c.set_ylabel("cos(step, -gradient)")
        ax_w.legend(loc="upper right", fontsize=7)
        ax_c.legend(loc="lower right", fontsize=7)
        if quality is not None:
            _quality_at_critic_steps(axes[2, col], group, quality[quality["arm"] == arm], blow)
        axes[-1, col].set_xlabel("critic updates")
    fig.suptitle("P2 section 4.2: the critic's optimiser step against its gradient, per update",
                 fontsize=10)
    fig.tight_layout()
    save(fig, Path(pdf_path))
    plt.close("all")
    return Path(pdf_path)


def _quality_at_critic_steps(ax, steps, quality, blow) -> None:
    """FCD per evaluation against the count of critic updates done when it was taken (the
    last update before that generator iteration's step); blow-ups as vertical ticks."""
    last_step = steps.groupby(["seed", "gen_iter"])["critic_step"].max()
    for seed, run in quality.groupby("seed"):
        at = [last_step.get((seed, g)) for g in run["gen_iter"]]
        ax.plot(at, run["fcd"], "o-", markersize=2.5, linewidth=0.8, label=f"seed {seed}")
    for step in blow["critic_step"].unique():
        ax.axvline(step, color="red", linewidth=0.4, alpha=0.4)
    ax.set_ylabel("FCD to held-out digits\n(lower = better)")
    ax.legend(loc="upper right", fontsize=7, title="red: blow-ups", title_fontsize=7)


def figures(out_dir: Path) -> list[Path]:
    return [plot_probe_adam(out_dir / "adam_cosine.csv", out_dir / "adam_cosine.pdf",
                            out_dir / "adam_quality.csv")]
