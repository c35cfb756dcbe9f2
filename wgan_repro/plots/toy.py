"""P2 Figures 1-2 (toy): parallel lines and two 1-D Gaussians."""

from __future__ import annotations

from pathlib import Path

from wgan_repro.plots.style import pyplot, save
from wgan_repro.results import read_csv


# ---- toy (P2 Fig. 1-2) ----------------------------------------------------------------------------
def plot_toy(out_dir: Path) -> list[Path]:
    """fig1_parallel_lines.pdf (EM, JS, KL and TV against theta) and fig2_two_gaussians.pdf."""
    import math

    from wgan_repro.results import PARALLEL_LINES_COLUMNS, TWO_GAUSSIANS_COLUMNS

    plt = pyplot()
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
    save(fig, paths[-1])

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
    save(fig, paths[-1])
    plt.close("all")
    return paths


def figures(out_dir: Path) -> list[Path]:
    return plot_toy(out_dir)
