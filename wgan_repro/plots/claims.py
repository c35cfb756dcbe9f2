"""claims.pdf: every claim on one figure (issue #23 item 4), drawn from claims.csv and
claims_seeds.csv only.

One row per claim, in claims.csv's order: each seed's value of each part on its rule's scale,
the threshold as a line and the verdict as the row's colour, so a reader sees at a glance which
claims hold on every seed, which split, and how far the rest are from the paper.

The scale: value ÷ threshold on a log axis (the threshold at 1) where the threshold is a
positive number, as for ratios and orders of magnitude; value − threshold on a symmetric-log
axis (the threshold at 0) where it is zero or negative (a change that must be positive, a fall
that must stay small). A part whose rule is an upper bound (<=, <) passes left of the line, the
others right of it; the part's label says which.
"""

from __future__ import annotations

import re
from pathlib import Path

from wgan_repro.plots.style import pyplot, save

VERDICT_COLORS = {"reproduced": "tab:green", "not reproduced": "tab:red",
                  "inconclusive": "tab:orange"}
THRESHOLD = re.compile(r"^\s*(>=|<=|>|<)\s*(-?[0-9.eE+-]+)\s*$")
PART_INCHES = 0.22  # height per part of a claim
CLAIM_INCHES = 0.75  # per claim: its title and its axis' labels


def points(seeds) -> dict[str, list[dict]]:
    """claims_seeds.csv's rows per claim, with their comparison and threshold as numbers (rows
    whose threshold is not a number, or whose value is missing, are left out of the figure)."""
    out: dict[str, list[dict]] = {}
    for row in seeds.to_dict("records"):
        match = THRESHOLD.match(str(row["threshold"]))
        text = str(row["value"]).strip()
        if not match or text in ("", "nan"):
            continue
        passes = {"true": True, "false": False}.get(str(row["passes"]).strip().lower())
        out.setdefault(str(row["claim_id"]), []).append({
            "part": row["part"], "value": float(text), "comparison": match.group(1),
            "threshold": float(match.group(2)), "passes": passes})
    return out


def scaled(rows: list[dict]) -> tuple[str, list[float]]:
    """One claim's scale and its points: ("ratio", value ÷ threshold) when every threshold and
    value is positive, else ("difference", value − threshold)."""
    if all(r["threshold"] > 0 and r["value"] > 0 for r in rows):
        return "ratio", [r["value"] / r["threshold"] for r in rows]
    return "difference", [r["value"] - r["threshold"] for r in rows]


def draw(results_dir: Path) -> Path | None:
    """results/claims.pdf from claims.csv and claims_seeds.csv; None when either is missing."""
    import pandas as pd

    results_dir = Path(results_dir)
    claims_csv, seeds_csv = results_dir / "claims.csv", results_dir / "claims_seeds.csv"
    if not (claims_csv.exists() and seeds_csv.exists()):
        return None
    claims = pd.read_csv(claims_csv, keep_default_na=False, dtype=str)
    by_claim = points(pd.read_csv(seeds_csv, keep_default_na=False, dtype=str))
    heights = [max(len({p["part"] for p in by_claim.get(c, [])}), 1) for c in claims["claim_id"]]
    plt = pyplot()
    fig, axes = plt.subplots(len(claims), 1, squeeze=False, layout="constrained",
                             figsize=(9.0, 0.6 + PART_INCHES * sum(heights)
                                      + CLAIM_INCHES * len(heights)),
                             gridspec_kw={"height_ratios": heights})
    for ax, claim in zip(axes[:, 0], claims.to_dict("records")):
        _claim_row(ax, claim, by_claim.get(claim["claim_id"], []))
    fig.suptitle("Every claim, every seed: each dot one seed's value on its rule's scale (green "
                 "passes, red fails); the line is the threshold, the row's colour the verdict",
                 fontsize=9)
    path = results_dir / "claims.pdf"
    save(fig, path)
    plt.close("all")
    return path


def _claim_row(ax, claim: dict, rows: list[dict]) -> None:
    color = VERDICT_COLORS.get(claim["verdict"], "black")
    ax.set_title(f"{claim['claim_id']}: {claim['verdict']}", loc="left", fontsize=8,
                 color=color, pad=2)
    for side in ("left", "bottom", "top", "right"):
        ax.spines[side].set_visible(True)
        ax.spines[side].set_color(color)
    if not rows:
        ax.text(0.5, 0.5, "no seed measured", ha="center", va="center", fontsize=7,
                transform=ax.transAxes)
        ax.set_yticks([])
        ax.set_xticks([])
        return
    parts = list(dict.fromkeys(r["part"] for r in rows))
    scale, xs = scaled(rows)
    for r, x in zip(rows, xs):
        ax.scatter(x, parts.index(r["part"]), s=14, zorder=3,
                   color={True: "tab:green", False: "tab:red"}.get(r["passes"], "tab:gray"))
    if scale == "ratio":
        ax.set_xscale("log")
        ax.axvline(1.0, color="black", linewidth=0.8)
    else:
        ax.set_xscale("symlog", linthresh=1e-2)
        ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_xlabel("value ÷ threshold" if scale == "ratio" else "value − threshold", fontsize=7,
                  labelpad=1)
    comparison = {r["part"]: r["comparison"] for r in rows}
    ax.set_yticks(range(len(parts)), [f"{p} ({comparison[p]})" for p in parts], fontsize=6)
    ax.set_ylim(-0.6, len(parts) - 0.4)
    from matplotlib.ticker import FuncFormatter, NullFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.tick_params(axis="x", labelsize=6)
    ax.grid(True, axis="x", alpha=0.3)
