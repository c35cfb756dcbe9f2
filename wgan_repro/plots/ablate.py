"""P2 Figures 5-7 (ablate): per variant, both arms' samples and final metrics over seeds."""

from __future__ import annotations

import json
from pathlib import Path

from wgan_repro.plots.style import pyplot, save
from wgan_repro.results import read_csv
from wgan_repro.stats import final_rows

ABLATE_TITLES = {
    "dcgan": "P2 Fig. 5: DCGAN generator",
    "no_bn": "P2 Fig. 6: generator without batch norm, constant filter count",
    "mlp": "P2 Fig. 7: MLP generator (4 hidden layers x 512 ReLU)",
}
ARM_LABELS = {"wgan": "WGAN", "gan": "standard GAN", "wgan_gp": "WGAN-GP"}
ARM_COLORS = {"wgan": "tab:blue", "gan": "tab:red", "wgan_gp": "tab:green"}


def arms_in(frame) -> list[str]:
    """WGAN and GAN (always drawn, "not run" when missing), then WGAN-GP where it ran."""
    return ["wgan", "gan"] + (["wgan_gp"] if "wgan_gp" in set(frame["arm"]) else [])
ABLATE_METRICS = (  # column, axis label, log axis, reference line
    ("fcd", "FCD to held-out digits (lower = better)", True, None),
    ("emd", "pixel EMD to held-out digits (lower = better)", False, None),
    ("classes_covered", "digit classes covered (of 10)", False, (9, ">= 9")),
    ("kl_uniform", "KL(class histogram || uniform), nats", False, None),
)


def _arm_title(arm: str, grid: dict, row) -> str:
    head = f"{ARM_LABELS[arm]} (seed {grid['seed']})"
    if row is None:
        return head
    if row["diverged"]:
        return f"{head}\ndiverged at generator iteration {int(row['gen_iters'])}"
    fcd = f"{row['fcd']:,.0f}" if row["fcd"] >= 1000 else f"{row['fcd']:.3g}"
    return (f"{head}, {int(row['gen_iters'])} gen. iters\nFCD {fcd}  EMD "
            f"{row['emd']:.3g}  classes {int(row['classes_covered'])}  KL {row['kl_uniform']:.2f}")


def plot_ablate(out_dir: Path) -> list[Path]:
    """One figure per variant (WGAN samples left, GAN right, metrics in the titles) and
    summary.pdf (every metric across variants: seeds as dots, median bar, seed range)."""

    from wgan_repro.results import ABLATE_COLUMNS

    plt = pyplot()
    out_dir = Path(out_dir)
    frame = read_csv(out_dir / "metrics.csv", ABLATE_COLUMNS)
    summary = json.loads((out_dir / "summary.json").read_text())
    order = [v for v in ("dcgan", "no_bn", "mlp") if v in summary["variants"]]
    order += sorted(set(summary["variants"]) - set(order))
    names = {"dcgan": "fig5_dcgan.pdf", "no_bn": "fig6_no_bn.pdf", "mlp": "fig7_mlp.pdf"}
    paths = []
    for variant in order:
        fig = _ablate_variant_figure(plt, frame, summary, variant)
        paths.append(out_dir / names.get(variant, f"ablate_{variant}.pdf"))
        save(fig, paths[-1])
    fig = _ablate_summary_figure(plt, frame, summary, order)
    paths.append(out_dir / "summary.pdf")
    save(fig, paths[-1])
    plt.close("all")
    return paths


def _ablate_variant_figure(plt, frame, summary: dict, variant: str):
    """WGAN samples left, GAN right, WGAN-GP third where it ran (the grid of the seed the
    summary names), metrics above."""
    import matplotlib.image as mpimg

    entry = summary["variants"][variant]
    finals = final_rows(frame, variant)
    arms = arms_in(finals)
    fig, axes = plt.subplots(1, len(arms), figsize=(4.2 * len(arms), 4.9))
    for ax, arm in zip(axes, arms):
        ax.set_axis_off()
        grid = entry["sample_grids"].get(arm)
        if grid is None:
            ax.set_title(f"{ARM_LABELS[arm]}: not run", fontsize=9)
            continue
        match = finals[(finals["arm"] == arm) & (finals["seed"] == grid["seed"])]
        row = match.iloc[0] if len(match) else None
        if grid["path"] and Path(grid["path"]).exists():
            ax.imshow(mpimg.imread(grid["path"]), cmap="gray")
        else:
            ax.text(0.5, 0.5, "no samples", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(_arm_title(arm, grid, row), fontsize=9)
    n_params = summary.get("generator_parameters", {}).get(variant)
    fig.suptitle(f"{ABLATE_TITLES.get(variant, variant)}"
                 + (f" ({n_params:,} generator parameters)" if n_params else "")
                 + ("\nDCGAN critic in both; left WGAN (Algorithm 1), right standard GAN"
                    if len(arms) == 2 else "\nDCGAN critic in all three (without batch norm for "
                    "WGAN-GP); WGAN (P2 Algorithm 1), standard GAN, WGAN-GP"),
                 fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.9))  # room for the two-line suptitle
    return fig


def _ablate_summary_figure(plt, frame, summary: dict, order: list[str]):
    """Every metric across variants: each seed a circle, bar = median, line = seed range."""
    fig, axes = plt.subplots(1, len(ABLATE_METRICS), figsize=(3.6 * len(ABLATE_METRICS), 3.6))
    finals = {v: final_rows(frame, v) for v in order}
    floor = [e.get("fcd_real_vs_real") for e in summary["variants"].values()]
    arms = arms_in(frame)
    for ax, (column, label, log, ref) in zip(axes, ABLATE_METRICS):
        for i, variant in enumerate(order):
            for j, arm in enumerate(arms):
                group = finals[variant][finals[variant]["arm"] == arm]
                offset = (j - (len(arms) - 1) / 2) * 0.7 / len(arms)
                if not group.empty:
                    _seed_spread(ax, group, column, i + offset, arm,
                                 first=ARM_LABELS[arm] not in ax.get_legend_handles_labels()[1])
        if ref is not None:
            ax.axhline(ref[0], color="gray", linestyle="--", linewidth=0.8)
        if column == "fcd" and floor and floor[0]:
            ax.axhline(floor[0], color="gray", linestyle="--", linewidth=0.8)
            ax.annotate("real vs real", (0.02, floor[0]), xycoords=("axes fraction", "data"),
                        fontsize=7, color="gray", va="bottom")
        if log:
            ax.set_yscale("log")
        else:
            ax.ticklabel_format(axis="y", useOffset=False)
        if column == "classes_covered":
            ax.set_ylim(0, 10.5)
        ax.set_xticks(range(len(order)), [v.replace("_", "-") for v in order])
        ax.set_xlim(-0.6, len(order) - 0.4)
        ax.set_ylabel(label)
    axes[0].legend(loc="best", fontsize=8)
    n_seeds = frame.groupby(["variant", "arm"])["seed"].nunique()
    seeds_note = (f"{n_seeds.min()} seed{'s' if n_seeds.max() > 1 else ''}"
                  if n_seeds.min() == n_seeds.max() else f"{n_seeds.min()}-{n_seeds.max()} seeds")
    fig.suptitle(f"P2 Fig. 5-7 measured: final evaluation of each run ({seeds_note} per "
                 "arm: circles, bar = median, line = seed range)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    return fig


def _seed_spread(ax, group, column: str, x: float, arm: str, first: bool) -> None:
    """One arm's final values at ``x``: circles, the seed range, the median; diverged runs
    counted above."""
    ok = group[~group["diverged"].astype(bool)]
    values = ok[column].astype(float)
    ax.scatter([x] * len(values), values, s=16, facecolors="none", edgecolors=ARM_COLORS[arm],
               linewidths=1.0, label=ARM_LABELS[arm] if first else None)
    if len(values):
        ax.vlines(x, values.min(), values.max(), color=ARM_COLORS[arm], linewidth=1)
        ax.hlines(values.median(), x - 0.09, x + 0.09, color=ARM_COLORS[arm], linewidth=2)
    n_div = int(group["diverged"].astype(bool).sum())
    if n_div:
        ax.annotate(f"{n_div} diverged", (x, 1.0), xycoords=("data", "axes fraction"),
                    ha="center", va="top", fontsize=7, color=ARM_COLORS[arm])


def figures(out_dir: Path) -> list[Path]:
    return plot_ablate(out_dir)
