"""P2 Figures 1-2 (toy): parallel lines and two 1-D Gaussians, every seed of the run."""

from __future__ import annotations

from pathlib import Path

from wgan_repro.plots.style import pyplot, save

CLAIMS_SEEDS = "claims_seeds.csv"  # in the results folder, the figure folder's parent


def read_seeds(path: Path, columns):
    """A toy CSV with its seed column (an older one, one run, gets seed 0: only drawn)."""
    import pandas as pd

    from wgan_repro.results import read_csv

    frame = pd.read_csv(path, nrows=0)
    if "seed" in frame.columns:
        return read_csv(path, columns)
    return read_csv(path, [c for c in columns if c != "seed"]).assign(seed=0)[list(columns)]


def judged(results_dir: Path, claim_id: str, part: str, spec: str = ".3g") -> str:
    """A title's line: one part's value per seed as judged, read from claims_seeds.csv (the
    numbers the verdict was decided from, never computed here); "" when that file, or the
    part, is not there (figures drawn before, or without, judging)."""
    import pandas as pd

    from wgan_repro.stats import missing

    path = Path(results_dir) / CLAIMS_SEEDS
    if not path.exists():
        return ""
    seeds = pd.read_csv(path)
    rows = seeds[(seeds["claim_id"] == claim_id) & (seeds["part"] == part)].sort_values("seed")
    if rows.empty:
        return ""
    values = ", ".join("n/a" if missing(v) else f"{v:{spec}}" for v in rows["value"])
    many = "s" if len(rows) > 1 else ""
    return (f"{part}: {values} (seed{many} {', '.join(str(int(s)) for s in rows['seed'])}; "
            f"needs {rows['threshold'].iloc[0]})")


def _with_line(title: str, line: str) -> str:
    return f"{title}\n{line}" if line else title


def _band(ax, frame, column: str, color: str, marker: str, label: str, **style) -> None:
    """Per theta, the seeds' median (markers) and their range (error bars)."""
    from wgan_repro.stats import seed_band

    band = seed_band(frame, "theta", column)
    ax.errorbar(band.index, band["median"], yerr=[band["median"] - band["min"],
                                                  band["max"] - band["median"]],
                fmt=marker, color=color, capsize=2, elinewidth=0.8, label=label, **style)


# ---- toy (P2 Fig. 1-2) ----------------------------------------------------------------------------
def plot_toy(out_dir: Path) -> list[Path]:
    """fig1_parallel_lines.pdf (EM, JS, KL and TV against theta: the seeds' median and range)
    and fig2_two_gaussians.pdf (one line per seed); the titles quote the judged values per seed
    from the results folder's claims_seeds.csv (none when it is not there)."""
    from wgan_repro.results import PARALLEL_LINES_COLUMNS, TWO_GAUSSIANS_COLUMNS

    out_dir = Path(out_dir)
    lines = read_seeds(out_dir / "parallel_lines.csv", PARALLEL_LINES_COLUMNS)
    gaussians = read_seeds(out_dir / "two_gaussians.csv", TWO_GAUSSIANS_COLUMNS)
    return [_parallel_lines(lines, out_dir), _two_gaussians(gaussians, out_dir)]


def _parallel_lines(lines, out_dir: Path) -> Path:
    import math

    from wgan_repro.claims import toy as rules

    plt = pyplot()
    theta = lines.drop_duplicates("theta")["theta"]
    fine = [t / 200 for t in range(-200, 201)]
    n_seeds = lines["seed"].nunique()
    fig, (ax_w, ax_js, ax_kl) = plt.subplots(1, 3, figsize=(14, 4.0))
    ax_w.plot(fine, [abs(t) for t in fine], color="black", linewidth=1.2, label=r"$W = |\theta|$")
    _band(ax_w, lines, "emd_samples", "tab:green", "s", "exact sample EMD (POT)", markersize=4)
    _band(ax_w, lines, "critic_estimate", "tab:blue", "o", "WGAN critic / its Lipschitz const.",
          markersize=8, markerfacecolor="none")
    w_id = rules.P2_FIG1_W.claim_id
    ax_w.set_title(_with_line("Earth-Mover (Wasserstein-1)",
                              "\n".join(t for t in (judged(out_dir.parent, w_id, part, ".3f")
                                                    for part in (rules.CRITIC_PART, rules.EMD_PART))
                                         if t)),
                   fontsize=8)
    ax_js.step(fine, [math.log(2) if t != 0 else 0.0 for t in fine], where="mid", color="black",
               linewidth=1.2, label=r"$JS = \log 2\,[\theta \neq 0]$")
    _band(ax_js, lines, "js_estimate", "tab:red", "o", r"GAN discriminator $\frac{1}{2}L + \log 2$",
          markersize=4, markerfacecolor="none")
    ax_js.set_ylim(-0.05, 0.85)
    ax_js.set_title(_with_line("Jensen-Shannon", judged(out_dir.parent, rules.P2_FIG1_JS.claim_id,
                                                        rules.JS_PART, ".3f")), fontsize=8)
    ax_kl.step(fine, [1.0 if t != 0 else 0.0 for t in fine], where="mid", color="tab:purple",
               linewidth=1.2, label=r"$TV = [\theta \neq 0]$")
    ax_kl.plot(theta[theta != 0], [1.35] * int((theta != 0).sum()), "^", color="tab:orange",
               markersize=5, label=r"$KL = +\infty$ for $\theta \neq 0$")
    ax_kl.plot([0], [0], "o", color="tab:orange", markersize=5)
    ax_kl.set_ylim(-0.05, 1.5)
    ax_kl.set_yticks([0, 0.5, 1.0, 1.35], ["0", "0.5", "1", r"$\infty$"])
    ax_kl.set_title("KL and total variation (closed forms)", fontsize=8)
    for ax, where in ((ax_w, "upper center"), (ax_js, "lower left"), (ax_kl, "center right")):
        ax.set_xlabel(r"$\theta$")
        ax.legend(loc=where, fontsize=7)
    ax_w.set_ylim(-0.05, 1.35)
    fig.suptitle(r"P2 Fig. 1: $P_0$ uniform on $\{0\}\times[0,1]$, $P_\theta$ on "
                 r"$\{\theta\}\times[0,1]$: only the EM distance is continuous in $\theta$"
                 f" (markers: median of {n_seeds} seed{'s' if n_seeds != 1 else ''}, bars: "
                 "their range)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    path = out_dir / "fig1_parallel_lines.pdf"
    save(fig, path)
    plt.close(fig)
    return path


def _two_gaussians(g, out_dir: Path) -> Path:
    from wgan_repro.claims import toy as rules

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    first = g[g["seed"] == g["seed"].min()]  # the densities are the same for every seed
    ax.fill_between(first["x"], first["density_real"], color="tab:green", alpha=0.25,
                    label="real density")
    ax.fill_between(first["x"], first["density_fake"], color="tab:gray", alpha=0.35,
                    label="fake density")
    twin = ax.twinx()
    for i, (_, run) in enumerate(g.groupby("seed")):
        ax.plot(run["x"], run["discriminator"], color="tab:red", linewidth=1.2, alpha=0.8,
                label="GAN discriminator D(x), one line per seed" if i == 0 else None)
        twin.plot(run["x"], run["critic"], color="tab:blue", linewidth=1.2, alpha=0.8,
                  label="WGAN critic f(x), one line per seed" if i == 0 else None)
    ax.set_xlabel("x")
    ax.set_ylabel("density, D(x)")
    twin.set_ylabel("critic f(x)", color="tab:blue")
    twin.grid(False)
    twin.spines["right"].set_visible(True)
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    labels = ax.get_legend_handles_labels()[1] + twin.get_legend_handles_labels()[1]
    ax.legend(handles, labels, loc="center left", fontsize=8)
    numbers = [judged(out_dir.parent, rules.P2_FIG2.claim_id, part)
               for part in (rules.SATURATION_PART, rules.R2_PART)]
    ax.set_title(_with_line("P2 Fig. 2: discriminator saturates where the fakes are; the critic "
                            "stays linear", "\n".join(t for t in numbers if t)), fontsize=9)
    fig.tight_layout()
    path = out_dir / "fig2_two_gaussians.pdf"
    save(fig, path)
    plt.close(fig)
    return path


def figures(out_dir: Path) -> list[Path]:
    return plot_toy(out_dir)
