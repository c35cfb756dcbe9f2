"""P2 section 3 with WGAN-GP's Fig. 1 (clip): per-layer gradient norms, weight histograms,
the critics' distance from optimal and their value surfaces; drawn from clip/*.csv only."""

from __future__ import annotations

from pathlib import Path

from wgan_repro.plots.style import pyplot, save, seeds_note
from wgan_repro.plots.toy import judged
from wgan_repro.results import CLIP_PENALTY_METHOD

GP = CLIP_PENALTY_METHOD  # results.py declares it with the columns


def _label(method: str, c: float) -> str:
    return "gradient penalty" if method == GP else f"weight clipping c = {c:g}"


def _methods(frame) -> list[tuple[str, float]]:
    """(method, c) in the figures' order: clipping from the largest c, then the penalty."""
    pairs = {(str(m), float(c)) for m, c in zip(frame["method"], frame["c"].fillna(-1.0))}
    return (sorted((p for p in pairs if p[0] != GP), key=lambda p: -p[1])
            + sorted(p for p in pairs if p[0] == GP))


def _of(frame, method: str, c: float):
    return frame[(frame["method"] == method) & (frame["c"].fillna(-1.0) == c)]


def _saved(plt, fig, path: Path) -> Path:
    save(fig, path)
    plt.close(fig)
    return path


def _colors(n: int):
    import matplotlib

    cmap = matplotlib.colormaps["viridis"]
    return [cmap(i / max(n - 1, 1) * 0.85) for i in range(n)]


def layer_norms_figure(out_dir: Path) -> Path:
    """WGAN-GP Fig. 1b (left): log10 gradient norm against the critic's layer, the output layer
    on the left as in the paper; per method the seeds' median of each seed's median over the
    recorded updates, with the seeds' range."""
    import numpy as np

    from wgan_repro.results import CLIP_LAYER_COLUMNS, read_csv

    frame = read_csv(out_dir / "layer_grad_norms.csv", CLIP_LAYER_COLUMNS)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    methods = _methods(frame)
    for (method, c), color in zip(methods, _colors(len(methods))):
        per_seed = (_of(frame, method, c).groupby(["seed", "layer"])["grad_norm"].median()
                    .unstack("seed"))
        logs = np.log10(per_seed.clip(lower=1e-30))
        median, low, high = logs.median(axis=1), logs.min(axis=1), logs.max(axis=1)
        style = {"linestyle": "--"} if method == GP else {}
        ax.plot(median.index, median, marker="o", markersize=3, color=color,
                label=_label(method, c), **style)
        if logs.shape[1] > 1:
            ax.fill_between(median.index, low, high, color=color, alpha=0.2, linewidth=0)
    layers = sorted(frame["layer"].unique())
    ax.set_xlim(max(layers) + 0.5, min(layers) - 0.5)  # WGAN-GP: layer 13 -> 1
    ax.set_xticks(layers)
    ax.set_xlabel("critic layer (1 = input layer)")
    ax.set_ylabel("log10 gradient norm at the layer's output")
    ax.legend()
    line = judged(out_dir.parent, "p2_s3_small_clip_vanishes",
                  f"c = {min(c for m, c in methods if m != GP):g}", ".2f") if any(
        m != GP for m, _ in methods) else ""
    ax.set_title("Deep WGAN critics on Swiss Roll: gradient norms per layer\n"
                 f"({seeds_note(frame)}; each seed: median over its recorded critic updates)"
                 + (f"\norders fallen, {line}" if line else ""), fontsize=9)
    return _saved(plt, fig, out_dir / "fig1b_layer_grad_norms.pdf")


def weights_figure(out_dir: Path) -> Path:
    """WGAN-GP Fig. 1b (right): histograms of the Fig. 1b critics' final weights, in units of
    their bound (c, or the penalised critic's largest |w|), summed over the seeds."""
    from wgan_repro.results import CLIP_WEIGHTS_COLUMNS, read_csv

    frame = read_csv(out_dir / "weights.csv", CLIP_WEIGHTS_COLUMNS)
    frame = frame[frame["part"] == "fig1b"]
    methods = _methods(frame)
    plt = pyplot()
    fig, axes = plt.subplots(len(methods), 1, figsize=(6, 1.6 * len(methods) + 0.6),
                             sharex=True, squeeze=False)
    for ax, (method, c), color in zip(axes[:, 0], methods, _colors(len(methods))):
        bins = _of(frame, method, c).groupby(["bin_low", "bin_high"])["count"].sum().reset_index()
        total = bins["count"].sum()
        ax.bar(bins["bin_low"], bins["count"] / total if total else bins["count"],
               width=bins["bin_high"] - bins["bin_low"], align="edge", color=color)
        unit = "c" if method != GP else "its largest |w|"
        ax.set_title(f"{_label(method, c)} (weights / {unit})", fontsize=9)
        ax.set_ylabel("share")
    axes[-1, 0].set_xlabel("weight / bound")
    fig.suptitle(f"Deep WGAN critics on Swiss Roll: weights at the end ({seeds_note(frame)}, "
                 "summed)", fontsize=10)
    return _saved(plt, fig, out_dir / "fig1b_weights.pdf")


def surfaces_figure(out_dir: Path) -> Path:
    """WGAN-GP Fig. 1a: each dataset (columns) by method (rows): the first seed's critic value
    surface, with real (orange) and fake (green) samples on top."""
    from wgan_repro.results import CLIP_POINTS_COLUMNS, CLIP_SURFACE_COLUMNS, read_csv

    surface = read_csv(out_dir / "value_surface.csv", CLIP_SURFACE_COLUMNS)
    points = read_csv(out_dir / "points.csv", CLIP_POINTS_COLUMNS)
    seed = int(surface["seed"].min())
    surface, points = surface[surface["seed"] == seed], points[points["seed"] == seed]
    datasets, methods = sorted(surface["dataset"].unique()), _methods(surface)
    plt = pyplot()
    fig, axes = plt.subplots(len(methods), len(datasets), squeeze=False,
                             figsize=(2.6 * len(datasets), 2.5 * len(methods) + 0.5))
    for row, (method, c) in enumerate(methods):
        for col, dataset in enumerate(datasets):
            ax = axes[row, col]
            grid = _of(surface[surface["dataset"] == dataset], method, c).pivot(
                index="y", columns="x", values="value")
            ax.contourf(grid.columns, grid.index, grid.to_numpy(), levels=20, cmap="viridis")
            ax.contour(grid.columns, grid.index, grid.to_numpy(), levels=20, colors="k",
                       linewidths=0.3)
            for kind, color in (("fake", "tab:green"), ("real", "tab:orange")):
                shown = points[(points["dataset"] == dataset) & (points["kind"] == kind)]
                ax.scatter(shown["x"], shown["y"], s=2, color=color, marker="+", linewidths=0.5)
            ax.set_xlim(grid.columns.min(), grid.columns.max())  # the surface's square: a few
            ax.set_ylim(grid.index.min(), grid.index.max())  # noisy fakes fall outside it
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            ax.set_aspect("equal")
            if row == 0:
                ax.set_title(dataset, fontsize=10)
            if col == 0:
                ax.set_ylabel(_label(method, c), fontsize=8)
    fig.suptitle(f"Critic value surfaces against a fixed generator (real + noise), seed {seed};"
                 "\nreal samples orange, fake green", fontsize=10)
    return _saved(plt, fig, out_dir / "fig1a_value_surfaces.pdf")


def optimality_figure(out_dir: Path) -> Path:
    """P2 section 3's large c: per dataset, the share of weights at +-c and the critic's
    optimality against critic steps, per method (seeds' median and range)."""
    from wgan_repro.results import CLIP_OPTIMALITY_COLUMNS, read_csv
    from wgan_repro.stats import seed_band

    frame = read_csv(out_dir / "critic_optimality.csv", CLIP_OPTIMALITY_COLUMNS)
    datasets, methods = sorted(frame["dataset"].unique()), _methods(frame)
    plt = pyplot()
    fig, axes = plt.subplots(2, len(datasets), squeeze=False, sharex=True,
                             figsize=(3.3 * len(datasets), 5.2))
    for col, dataset in enumerate(datasets):
        mine = frame[frame["dataset"] == dataset]
        for (method, c), color in zip(methods, _colors(len(methods))):
            group = _of(mine, method, c)
            for row, column in enumerate(("share_at_bound", "optimality")):
                if column == "share_at_bound" and method == GP:
                    continue
                band = seed_band(group, "step", column)
                ax = axes[row, col]
                ax.plot(band.index, band["median"], color=color, label=_label(method, c))
                if group["seed"].nunique() > 1:
                    ax.fill_between(band.index, band["min"], band["max"], color=color, alpha=0.2,
                                    linewidth=0)
        axes[0, col].set_title(dataset, fontsize=10)
        axes[1, col].set_xlabel("critic steps")
    axes[0, 0].set_ylabel("share of weights at ±c")
    axes[1, 0].set_ylabel("optimality (estimate / Lipschitz / EMD)")
    axes[1, 0].legend(fontsize=7)
    fig.suptitle(f"Critics against a fixed generator: how fast clipping reaches its bounds and "
                 f"optimality ({seeds_note(frame)})", fontsize=10)
    return _saved(plt, fig, out_dir / "p2_s3_critic_optimality.pdf")


def figures(out_dir: Path) -> list[Path]:
    out_dir = Path(out_dir)
    return [layer_norms_figure(out_dir), weights_figure(out_dir), surfaces_figure(out_dir),
            optimality_figure(out_dir)]
