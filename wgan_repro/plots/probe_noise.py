"""P1 section 3 (probe noise): the fig2 protocol without and with instance noise."""

from __future__ import annotations

from pathlib import Path

from wgan_repro.plots.style import median_and_band, pyplot, save, seeds_note
from wgan_repro.results import read_csv


def plot_probe_noise(csv_path: Path, pdf_path: Path) -> list[Path]:
    """P1 section 3: the original-cost gradient norm without instance noise (the control) and
    with each fixed noise std, one panel per generator snapshot, every arm on one axis; each
    noise arm labelled with its std (the CSV's instance_noise_std). None when every seed's
    DCGAN diverged (no row)."""
    import matplotlib

    from wgan_repro.results import PROBE_NOISE_COLUMNS

    frame = read_csv(csv_path, PROBE_NOISE_COLUMNS)
    if frame.empty:
        return []
    plt = pyplot()
    epochs = sorted(frame["epoch"].unique())
    sigma = frame.groupby("arm")["instance_noise_std"].agg(["min", "max"])
    # The control first, then the noise arms from the smallest std; darker = more noise.
    arms = sorted(sigma.index, key=lambda a: (sigma.loc[a, "max"] > 0, sigma.loc[a, "max"], a))
    noisy = [a for a in arms if sigma.loc[a, "max"] > 0]
    blues = matplotlib.colormaps["Blues"]
    styles = {arm: ("tab:red", "without noise") for arm in arms if arm not in noisy}
    for i, arm in enumerate(noisy):
        low, high = sigma.loc[arm, "min"], sigma.loc[arm, "max"]
        level = f"{high:g}" if low == high else f"{low:g} to {high:g}"
        styles[arm] = (blues(0.45 + 0.5 * (i + 1) / len(noisy)), rf"noise $\sigma$ = {level}")
    fig, axes = plt.subplots(1, len(epochs), figsize=(4.4 * len(epochs), 3.8), squeeze=False)
    for ax, epoch in zip(axes[0], epochs):
        for arm in arms:
            group = frame[(frame["epoch"] == epoch) & (frame["arm"] == arm)]
            if not group.empty:
                median_and_band(ax, group, "grad_norm_original", *styles[arm])
        ax.set_yscale("log")
        ax.set_xlabel("discriminator iterations")
        ax.set_title(f"After {epoch} epoch{'s' if epoch != 1 else ''}")
    axes[0, 0].set_ylabel(r"$\|\nabla_\theta\,\mathbb{E}_z \log(1 - D(g_\theta(z)))\|_2$")
    axes[0, 0].legend(loc="lower left", fontsize=8)
    fig.suptitle("P1 section 3: original-cost gradient norm without and with fixed instance "
                 f"noise on the discriminator's inputs ({seeds_note(frame)})", fontsize=10)
    fig.tight_layout()
    save(fig, Path(pdf_path))
    plt.close("all")
    return [Path(pdf_path)]


def figures(out_dir: Path) -> list[Path]:
    return plot_probe_noise(out_dir / "instance_noise.csv", out_dir / "instance_noise.pdf")
