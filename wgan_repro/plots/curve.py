"""P2 Figures 3-4 (curve): the filtered estimates against sample quality, with sample grids."""

from __future__ import annotations

import json
from pathlib import Path

from wgan_repro.plots.style import pyplot, save
from wgan_repro.results import read_csv

CLAIMS_SEEDS = "claims_seeds.csv"  # in the results folder, the figure folder's parent


def _judged_spearman(path: Path):
    """claims_seeds.csv (the values every verdict was judged from), or None when it is not
    there (a figure drawn before, or without, judging)."""
    import pandas as pd

    return pd.read_csv(path) if Path(path).exists() else None


def spearman_title(judged, run: str) -> str:
    """A title's second line: the run's Spearman(filtered estimate, EMD) as judged, one value
    per seed, read from claims_seeds.csv; empty when it holds none for the run."""
    from wgan_repro.claims.curve import spearman_part
    from wgan_repro.stats import missing

    if judged is None:
        return ""
    claim_id, part = spearman_part(run)
    rows = judged[(judged["claim_id"] == claim_id) & (judged["part"] == part)].sort_values("seed")
    if rows.empty:
        return ""
    values = ", ".join("n/a" if missing(v) else f"{v:.2f}" for v in rows["value"])
    seeds = ", ".join(str(int(s)) for s in rows["seed"])
    return f"\nSpearman {values} (seed{'s' if len(rows) > 1 else ''} {seeds})"


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
    save(fig, path)
    return path


def plot_curve(curve_csv: Path, quality_csv: Path, run_dirs: dict[str, str], out_dir: Path
               ) -> list[Path]:
    """P2 Fig. 3 (WGAN estimate), Fig. 4 (GAN JS estimate), estimate-vs-EMD scatter (its
    titles quote each run's Spearman as judged, per seed, from the results folder's
    claims_seeds.csv: none when it is not there)."""
    import math

    from wgan_repro.results import CURVE_COLUMNS, QUALITY_COLUMNS

    plt = pyplot()
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
    judged = _judged_spearman(out_dir.parent / CLAIMS_SEEDS)
    all_runs = wgan_runs + gan_runs
    fig, axes = plt.subplots(1, len(all_runs), figsize=(3.2 * len(all_runs), 3.2), squeeze=False)
    for ax, run in zip(axes[0], all_runs):  # one panel each: the estimates' scales differ a lot
        group = curve[curve["run"] == run]
        column = "wasserstein_estimate" if run in wgan_runs else "js_estimate"
        q = quality[quality["run"] == run].groupby("gen_iter")["emd"].median()
        at_eval = _filtered(group, column).reindex(q.index).to_numpy()
        ax.scatter(q.to_numpy(), at_eval, s=12, c=q.index, cmap="viridis")
        ax.set_title(f"{run}{spearman_title(judged, run)}", fontsize=9)
        ax.set_xlabel("pixel EMD (lower = better)")
        ax.set_ylabel(f"filtered {'W' if column.startswith('w') else 'JS'} estimate")
    fig.suptitle("Estimate vs independent sample quality at each evaluation point "
                 "(colour: generator iteration)", fontsize=10, y=1.02)
    fig.tight_layout()
    paths.append(out_dir / "estimate_vs_emd.pdf")
    save(fig, paths[-1])
    plt.close("all")
    return [p for p in paths if p is not None]


def figures(out_dir: Path) -> list[Path]:
    """The thumbnails of each run are one seed's (the highest), from the run folder that
    summary.json names."""
    runs = json.loads((out_dir / "summary.json").read_text())["runs"]
    run_dirs = {}
    for key, entry in sorted(runs.items(), key=lambda item: int(item[0].rpartition("/s")[2])):
        if entry.get("run_dir"):
            run_dirs[key.rpartition("/s")[0]] = entry["run_dir"]
    return plot_curve(out_dir / "curve.csv", out_dir / "quality.csv", run_dirs, out_dir)
