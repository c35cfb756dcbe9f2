"""Figures from CSVs only (and the runs' sample grids): re-plotting never trains. Vector PDFs
with paper-like axes. ``figures`` is the one entry point: every experiment's figures, drawn
from the files its aggregation wrote."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from wgan_repro.results import EXPERIMENT_DIRS, FIG2_COLUMNS, read_csv, write_with
from wgan_repro.stats import final_rows, seed_band

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


def _seeds_note(frame, spread: str = "band") -> str:
    """The caption's note on what a line (or marker) and its ``spread`` show."""
    n_seeds = frame["seed"].nunique()
    return f"median of {n_seeds} seeds, {spread}: seed range" if n_seeds > 1 else "one seed"


def _median_and_band(ax, group, column: str, color, label: str) -> None:
    """One curve against d_iter: the seeds' median and, with more than one seed, their
    min-max band."""
    stats = seed_band(group, "d_iter", column)
    if group["seed"].nunique() > 1:
        ax.fill_between(stats.index, stats["min"], stats["max"], color=color, alpha=0.2,
                        linewidth=0)
    ax.plot(stats.index, stats["median"], color=color, label=label, linewidth=1.2)


def _epoch_curves(ax, frame, column, log: bool) -> str:
    """Median over seeds per epoch snapshot, with the seeds' min-max band; returns a note
    saying so, for the caption."""
    import matplotlib

    colors = matplotlib.colormaps["viridis"]
    epochs = sorted(frame["epoch"].unique())
    for i, epoch in enumerate(epochs):
        group = frame[frame["epoch"] == epoch]
        _median_and_band(ax, group, column, colors(i / max(len(epochs) - 1, 1) * 0.85),
                         f"After {epoch} epoch{'s' if epoch != 1 else ''}")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("discriminator iterations")
    ax.set_xlim(left=0)
    return _seeds_note(frame)


def plot_fig2(csv_path: Path, out_dir: Path) -> list[Path]:
    """P1 Fig. 1 (D error and accuracy), Fig. 2 and Fig. 3 (generator gradient norms); none
    when every seed's DCGAN diverged (no snapshot, no row)."""
    frame = read_csv(csv_path, FIG2_COLUMNS)
    if frame.empty:
        return []
    plt = _pyplot()
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
        note = _epoch_curves(ax, frame, column, log=True)
        ax.set_title(title)
    axes[0].set_ylabel(r"minibatch variance  mean$_k\,\|g_k - \bar g\|_2^2$")
    axes[0].legend(loc="best")
    fig.suptitle("P1 Fig. 3: variance of the generator gradient over independent noise "
                 f"batches, per discriminator iteration ({note})", fontsize=10)
    fig.tight_layout()
    _save(fig, path)
    return path


def plot_fig2_update_quality(csv_path: Path, out_dir: Path) -> Path:
    """P1 Fig. 3's "updates that lower sample quality": per generator snapshot, the FCD of
    the snapshot and after the probe's generator steps with each cost against the frozen,
    trained discriminator; markers: seed median, whiskers: seed range."""
    from wgan_repro.results import FIG2_UPDATE_QUALITY_COLUMNS

    plt = _pyplot()
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
                 f"the trained, frozen discriminator ({_seeds_note(frame, 'whiskers')})")
    ax.legend(loc="best")
    path = Path(out_dir) / "fig3_update_quality.pdf"
    _save(fig, path)
    plt.close("all")
    return path


def _filtered(group, column):
    from wgan_repro.stats import median_filtered

    return median_filtered(group.groupby("gen_iter")[column].median())


def _thumbnails(fig, spec, run_dir: Path, n: int = 3) -> None:
    """Sample grids at `n` stages of a run (first, middle, last saved grid)."""
    import matplotlib.image as mpimg

    grids = sorted(Path(run_dir).glob("samples/gen_iter_*.png"))
    if not grids:
        return
    picks = [grids[round(i * (len(grids) - 1) / max(n - 1, 1))] for i in range(n)]
    sub = spec.subgridspec(1, n, wspace=0.05)
    for i, path in enumerate(picks):
        ax = fig.add_subplot(sub[0, i])
        ax.imshow(mpimg.imread(path), cmap="gray")
        ax.set_axis_off()
        ax.set_title(f"iter {int(path.stem.split('_')[-1])}", fontsize=7)


def _estimate_panels(plt, curve, quality, runs, run_dirs, column, title, ylabel, path, ref=None):
    """One column per run: filtered estimate (left axis) and EMD (right axis), thumbnails below."""
    if not runs:
        return None
    fig = plt.figure(figsize=(4.8 * len(runs), 5.0))
    grid = fig.add_gridspec(2, len(runs), height_ratios=[3, 1.1], hspace=0.5, wspace=0.85)
    for i, run in enumerate(runs):
        ax = fig.add_subplot(grid[0, i])
        group = curve[curve["run"] == run]
        filtered = _filtered(group, column)
        ax.plot(filtered.index, filtered.to_numpy(), color="tab:blue", linewidth=1.0)
        if ref is not None:
            ax.axhline(ref[0], color="gray", linestyle="--", linewidth=0.8, label=ref[1])
            ax.legend(loc="lower right", fontsize=7)
        ax.set_xlabel("generator iterations")
        ax.set_ylabel(ylabel, color="tab:blue")
        q = quality[quality["run"] == run].groupby("gen_iter")["emd"].median()
        if len(q):
            twin = ax.twinx()
            twin.plot(q.index, q.to_numpy(), "o-", color="tab:red", markersize=2.5, linewidth=0.8)
            twin.set_ylabel("pixel EMD to held-out digits", color="tab:red")
            twin.grid(False)
            twin.spines["right"].set_visible(True)
        first = group.iloc[0]
        ax.set_title(f"{run}\nG: {first['generator']}, critic: {first['critic']}", fontsize=9)
        _thumbnails(fig, grid[1, i], run_dirs.get(run, ""))
    fig.suptitle(title, fontsize=10, y=1.0)
    _save(fig, path)
    return path


def plot_curve(curve_csv: Path, quality_csv: Path, run_dirs: dict[str, str], out_dir: Path
               ) -> list[Path]:
    """P2 Fig. 3 (WGAN estimate), Fig. 4 (GAN JS estimate), estimate-vs-EMD scatter."""
    import math

    from wgan_repro.results import CURVE_COLUMNS, QUALITY_COLUMNS

    plt = _pyplot()
    curve = read_csv(curve_csv, CURVE_COLUMNS)
    quality = read_csv(quality_csv, QUALITY_COLUMNS)
    out_dir = Path(out_dir)
    wgan_runs = sorted(curve.loc[curve["wasserstein_estimate"].notna(), "run"].unique())
    gan_runs = sorted(curve.loc[curve["js_estimate"].notna(), "run"].unique())
    paths = [
        _estimate_panels(plt, curve, quality, wgan_runs, run_dirs, "wasserstein_estimate",
                         "P2 Fig. 3: WGAN critic's estimate (median filter, width 101) and "
                         "sample quality", "Wasserstein estimate", out_dir /
                         "fig3_wasserstein_estimate.pdf"),
        _estimate_panels(plt, curve, quality, gan_runs, run_dirs, "js_estimate",
                         r"P2 Fig. 4: standard GAN's JS estimate $\frac{1}{2}L(D,g_\theta) + \log 2$"
                         " (median filter, width 101) and sample quality", "JS estimate",
                         out_dir / "fig4_js_estimate.pdf", ref=(math.log(2), "log 2")),
    ]
    from scipy.stats import spearmanr

    all_runs = wgan_runs + gan_runs
    fig, axes = plt.subplots(1, len(all_runs), figsize=(3.2 * len(all_runs), 3.2), squeeze=False)
    for ax, run in zip(axes[0], all_runs):  # one panel each: the estimates' scales differ a lot
        group = curve[curve["run"] == run]
        column = "wasserstein_estimate" if run in wgan_runs else "js_estimate"
        q = quality[quality["run"] == run].groupby("gen_iter")["emd"].median()
        at_eval = _filtered(group, column).reindex(q.index).to_numpy()
        ax.scatter(q.to_numpy(), at_eval, s=12, c=q.index, cmap="viridis")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rho = spearmanr(at_eval, q.to_numpy()).statistic if len(q) > 2 else float("nan")
        ax.set_title(f"{run}\nSpearman {rho:.2f}", fontsize=9)
        ax.set_xlabel("pixel EMD (lower = better)")
        ax.set_ylabel(f"filtered {'W' if column.startswith('w') else 'JS'} estimate")
    fig.suptitle("Estimate vs independent sample quality at each evaluation point "
                 "(colour: generator iteration)", fontsize=10, y=1.02)
    fig.tight_layout()
    paths.append(out_dir / "estimate_vs_emd.pdf")
    _save(fig, paths[-1])
    plt.close("all")
    return [p for p in paths if p is not None]


# ---- ablate (P2 Fig. 5-7) -------------------------------------------------------------------------
ABLATE_TITLES = {
    "dcgan": "P2 Fig. 5: DCGAN generator",
    "no_bn": "P2 Fig. 6: generator without batch norm, constant filter count",
    "mlp": "P2 Fig. 7: MLP generator (4 hidden layers x 512 ReLU)",
}
ARM_LABELS = {"wgan": "WGAN", "gan": "standard GAN"}
ARM_COLORS = {"wgan": "tab:blue", "gan": "tab:red"}
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
    import json

    from wgan_repro.results import ABLATE_COLUMNS

    plt = _pyplot()
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
        _save(fig, paths[-1])
    fig = _ablate_summary_figure(plt, frame, summary, order)
    paths.append(out_dir / "summary.pdf")
    _save(fig, paths[-1])
    plt.close("all")
    return paths


def _ablate_variant_figure(plt, frame, summary: dict, variant: str):
    """WGAN samples left, GAN right (the grid of the seed the summary names), metrics above."""
    import matplotlib.image as mpimg

    entry = summary["variants"][variant]
    finals = final_rows(frame, variant)
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 4.9))
    for ax, arm in zip(axes, ("wgan", "gan")):
        ax.set_axis_off()
        grid = entry["sample_grids"].get(arm)
        if grid is None:
            ax.set_title(f"{ARM_LABELS[arm]}: not run", fontsize=9)
            continue
        match = finals[(finals["objective"] == arm) & (finals["seed"] == grid["seed"])]
        row = match.iloc[0] if len(match) else None
        if grid["path"] and Path(grid["path"]).exists():
            ax.imshow(mpimg.imread(grid["path"]), cmap="gray")
        else:
            ax.text(0.5, 0.5, "no samples", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(_arm_title(arm, grid, row), fontsize=9)
    n_params = summary.get("generator_parameters", {}).get(variant)
    fig.suptitle(f"{ABLATE_TITLES.get(variant, variant)}"
                 + (f" ({n_params:,} generator parameters)" if n_params else "")
                 + "\nDCGAN critic in both; left WGAN (Algorithm 1), right standard GAN",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.9))  # room for the two-line suptitle
    return fig


def _ablate_summary_figure(plt, frame, summary: dict, order: list[str]):
    """Every metric across variants: each seed a circle, bar = median, line = seed range."""
    fig, axes = plt.subplots(1, len(ABLATE_METRICS), figsize=(3.6 * len(ABLATE_METRICS), 3.6))
    finals = {v: final_rows(frame, v) for v in order}
    floor = [e.get("fcd_real_vs_real") for e in summary["variants"].values()]
    for ax, (column, label, log, ref) in zip(axes, ABLATE_METRICS):
        for i, variant in enumerate(order):
            for j, arm in enumerate(("wgan", "gan")):
                group = finals[variant][finals[variant]["objective"] == arm]
                if not group.empty:
                    _seed_spread(ax, group, column, i + (j - 0.5) * 0.35, arm, first=i == 0)
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
    n_seeds = frame.groupby(["variant", "objective"])["seed"].nunique()
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
        ax.hlines(values.median(), x - 0.12, x + 0.12, color=ARM_COLORS[arm], linewidth=2)
    n_div = int(group["diverged"].astype(bool).sum())
    if n_div:
        ax.annotate(f"{n_div} diverged", (x, 1.0), xycoords=("data", "axes fraction"),
                    ha="center", va="top", fontsize=7, color=ARM_COLORS[arm])


# ---- toy (P2 Fig. 1-2) ----------------------------------------------------------------------------
def plot_toy(out_dir: Path) -> list[Path]:
    """fig1_parallel_lines.pdf (EM, JS, KL and TV against theta) and fig2_two_gaussians.pdf."""
    import math

    from wgan_repro.results import PARALLEL_LINES_COLUMNS, TWO_GAUSSIANS_COLUMNS

    plt = _pyplot()
    out_dir = Path(out_dir)
    lines = read_csv(out_dir / "parallel_lines.csv", PARALLEL_LINES_COLUMNS)
    theta = lines["theta"]
    fine = [t / 200 for t in range(-200, 201)]

    fig, (ax_w, ax_js, ax_kl) = plt.subplots(1, 3, figsize=(12, 3.6))
    ax_w.plot(fine, [abs(t) for t in fine], color="black", linewidth=1.2, label=r"$W = |\theta|$")
    ax_w.plot(theta, lines["emd_samples"], "s", color="tab:green", markersize=4,
              label="exact sample EMD (POT)")
    ax_w.plot(theta, lines["critic_estimate"], "o", color="tab:blue", markersize=8,
              markerfacecolor="none", label="WGAN critic / its Lipschitz const.")
    ax_w.set_title("Earth-Mover (Wasserstein-1)")
    ax_js.step(fine, [math.log(2) if t != 0 else 0.0 for t in fine], where="mid", color="black",
               linewidth=1.2, label=r"$JS = \log 2\,[\theta \neq 0]$")
    ax_js.plot(theta, lines["js_estimate"], "o", color="tab:red", markersize=4,
               markerfacecolor="none", label=r"GAN discriminator $\frac{1}{2}L + \log 2$")
    ax_js.set_ylim(-0.05, 0.85)
    ax_js.set_title("Jensen-Shannon")
    ax_kl.step(fine, [1.0 if t != 0 else 0.0 for t in fine], where="mid", color="tab:purple",
               linewidth=1.2, label=r"$TV = [\theta \neq 0]$")
    ax_kl.plot(theta[theta != 0], [1.35] * int((theta != 0).sum()), "^", color="tab:orange",
               markersize=5, label=r"$KL = +\infty$ for $\theta \neq 0$")
    ax_kl.plot([0], [0], "o", color="tab:orange", markersize=5)
    ax_kl.set_ylim(-0.05, 1.5)
    ax_kl.set_yticks([0, 0.5, 1.0, 1.35], ["0", "0.5", "1", r"$\infty$"])
    ax_kl.set_title("KL and total variation (closed forms)")
    for ax, where in ((ax_w, "upper center"), (ax_js, "lower left"), (ax_kl, "center right")):
        ax.set_xlabel(r"$\theta$")
        ax.legend(loc=where, fontsize=7)
    ax_w.set_ylim(-0.05, 1.35)
    fig.suptitle(r"P2 Fig. 1: $P_0$ uniform on $\{0\}\times[0,1]$, $P_\theta$ on "
                 r"$\{\theta\}\times[0,1]$: only the EM distance is continuous in $\theta$",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    paths = [out_dir / "fig1_parallel_lines.pdf"]
    _save(fig, paths[-1])

    g = read_csv(out_dir / "two_gaussians.csv", TWO_GAUSSIANS_COLUMNS)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.fill_between(g["x"], g["density_real"], color="tab:green", alpha=0.25, label="real density")
    ax.fill_between(g["x"], g["density_fake"], color="tab:gray", alpha=0.35, label="fake density")
    ax.plot(g["x"], g["discriminator"], color="tab:red", linewidth=1.5,
            label="GAN discriminator D(x)")
    ax.set_xlabel("x")
    ax.set_ylabel("density, D(x)")
    twin = ax.twinx()
    twin.plot(g["x"], g["critic"], color="tab:blue", linewidth=1.5, label="WGAN critic f(x)")
    twin.set_ylabel("critic f(x)", color="tab:blue")
    twin.grid(False)
    twin.spines["right"].set_visible(True)
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    labels = ax.get_legend_handles_labels()[1] + twin.get_legend_handles_labels()[1]
    ax.legend(handles, labels, loc="center left", fontsize=8)
    ax.set_title("P2 Fig. 2: discriminator saturates where the fakes are; the critic stays "
                 "linear", fontsize=10)
    fig.tight_layout()
    paths.append(out_dir / "fig2_two_gaussians.pdf")
    _save(fig, paths[-1])
    plt.close("all")
    return paths


def plot_probe_adam(csv_path: Path, pdf_path: Path, quality_csv: Path | None = None) -> Path:
    """P2 section 4.2: per critic update, the estimate (top, blow-ups marked) and the cosine
    between the optimiser's step and the negative gradient (middle), one column per arm; with
    ``quality_csv`` (when it exists), the samples' FCD at each evaluation (bottom), placed at
    the critic update before it, so a blow-up and the quality after it line up."""
    from wgan_repro.results import PROBE_ADAM_COLUMNS, PROBE_ADAM_QUALITY_COLUMNS

    plt = _pyplot()
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
    _save(fig, Path(pdf_path))
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
    plt = _pyplot()
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
                _median_and_band(ax, group, "grad_norm_original", *styles[arm])
        ax.set_yscale("log")
        ax.set_xlabel("discriminator iterations")
        ax.set_title(f"After {epoch} epoch{'s' if epoch != 1 else ''}")
    axes[0, 0].set_ylabel(r"$\|\nabla_\theta\,\mathbb{E}_z \log(1 - D(g_\theta(z)))\|_2$")
    axes[0, 0].legend(loc="lower left", fontsize=8)
    fig.suptitle("P1 section 3: original-cost gradient norm without and with fixed instance "
                 f"noise on the discriminator's inputs ({_seeds_note(frame)})", fontsize=10)
    fig.tight_layout()
    _save(fig, Path(pdf_path))
    plt.close("all")
    return [Path(pdf_path)]


# ---- every experiment's figures, from its files ---------------------------------------------------
def _fig2_figures(out_dir: Path) -> list[Path]:
    paths = plot_fig2(out_dir / "grad_norms.csv", out_dir)
    if (out_dir / "update_quality.csv").exists():  # the aggregation removes a stale one
        paths.append(plot_fig2_update_quality(out_dir / "update_quality.csv", out_dir))
    return paths


def _curve_figures(out_dir: Path) -> list[Path]:
    """The thumbnails of each run are one seed's (the highest), from the run folder that
    summary.json names."""
    runs = json.loads((out_dir / "summary.json").read_text())["runs"]
    run_dirs = {}
    for key, entry in sorted(runs.items(), key=lambda item: int(item[0].rpartition("/s")[2])):
        if entry.get("run_dir"):
            run_dirs[key.rpartition("/s")[0]] = entry["run_dir"]
    return plot_curve(out_dir / "curve.csv", out_dir / "quality.csv", run_dirs, out_dir)


def _probe_adam_figures(out_dir: Path) -> list[Path]:
    return [plot_probe_adam(out_dir / "adam_cosine.csv", out_dir / "adam_cosine.pdf",
                            out_dir / "adam_quality.csv")]


def _probe_noise_figures(out_dir: Path) -> list[Path]:
    return plot_probe_noise(out_dir / "instance_noise.csv", out_dir / "instance_noise.pdf")


FIGURES = {"fig2": _fig2_figures, "curve": _curve_figures, "ablate": plot_ablate,
           "toy": plot_toy, "probe_adam": _probe_adam_figures,
           "probe_noise": _probe_noise_figures}


def figures(experiment: str, results_dir: Path) -> list[Path]:
    """Every figure of ``experiment`` (a key of results.EXPERIMENT_DIRS), drawn from the CSVs
    and summary.json its aggregation wrote under ``results_dir``; returns their paths."""
    return FIGURES[experiment](Path(results_dir) / EXPERIMENT_DIRS[experiment])
