"""``probe noise`` (P1 section 3): the fig2 protocol (a discriminator trained from scratch
against frozen DCGAN snapshots) without instance noise on the discriminator's inputs (the
control) and with it at each configured fixed std; without it the original-cost gradient
norm vanishes, with it it should not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from wgan_repro.aggregate import concatenated, dcgan_left_out_note, diverged_seeds
from wgan_repro.errors import ConfigError
from wgan_repro.experiments.arms import plan_arms, validate_arms
from wgan_repro.plans import Plan, seeds_text
from wgan_repro.results import FIG2_COLUMNS, PROBE_NOISE_COLUMNS, read_csv, write_csv, write_json
from wgan_repro.stats import edge_medians

CONTROL_ARM = "without_noise"  # the one required arm; the others are fixed noise levels


def run(cfg: DictConfig) -> dict[str, Any]:
    """One arm (``probe.arm``: the control or one fixed noise std), one seed: the fig2
    protocol (its snapshots are shared). ``cfg`` was validated when the job was planned
    (validate_probe_noise)."""
    from wgan_repro.experiments import fig2

    result = fig2.run(cfg, update_quality=False)  # the probe measures norms only
    return {"arm": cfg.probe.arm, "seed": cfg.seed, "files": result["files"],
            "diverged_at": result.get("diverged_at")}


def expected_seconds(cfg: DictConfig, timer) -> float:
    """One arm and seed: fig2's protocol without its update-quality probe (fig2's run, when
    it is done, serves the control and the snapshots)."""
    from wgan_repro.experiments import fig2

    return fig2.expected_seconds(cfg, timer, update_quality=False)


def summarize_noise(frame) -> dict[str, Any]:
    """Per arm and snapshot (seed medians): the original-cost norm at d_iter 0 and over the
    last 5% of D iterations, the final accuracy; no decay between them: the claim judges each
    seed's from instance_noise.csv, and what it judged joins this summary as "claims_seeds"
    (wgan_repro.claims.judge_and_write)."""
    arms: dict[str, Any] = {}
    for arm, group in frame.groupby("arm"):
        accuracy = edge_medians(group, "d_accuracy")
        for epoch, norms in edge_medians(group, "grad_norm_original").items():
            arms.setdefault(str(arm), {})[str(epoch)] = {
                "grad_norm_original_start": norms["start"],
                "grad_norm_original_last": norms["last"],
                "d_accuracy_last": accuracy[epoch]["last"]}
    return {"arms": arms}


def aggregate(plan: Plan, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Every arm's and seed's fig2 CSVs into instance_noise.csv, summarised into
    summary.json; returns the summary. A seed whose DCGAN diverged has no snapshots in
    any arm: it is left out, and said so."""
    cfg = plan.cfg
    diverged = diverged_seeds(runs)
    frame = concatenated((read_csv(Path(f), FIG2_COLUMNS).assign(arm=run["arm"])
                          for run in runs if run["seed"] not in diverged for f in run["files"]),
                         PROBE_NOISE_COLUMNS, ["arm", "epoch", "seed", "d_iter"])
    out = plan.results_dir / "probe_noise"
    write_csv(out / "instance_noise.csv", frame.to_dict("records"), PROBE_NOISE_COLUMNS)
    summary = summarize_noise(frame)
    summary["diverged_dcgan"] = {str(s): i for s, i in diverged.items()}
    summary["noise_std"] = {str(arm): float(group["instance_noise_std"].max())
                            for arm, group in frame.groupby("arm")}  # fixed per arm
    noise_arms = [arm for arm in dict.fromkeys(run["arm"] for run in runs) if arm != CONTROL_ARM]
    summary["source"] = noise_source(cfg, noise_arms) + dcgan_left_out_note(diverged)
    write_json(out / "summary.json", summary)
    return summary


def noise_source(cfg: DictConfig, arms: list[str]) -> str:
    """The claim's source: the CSV, the run, and each noise arm's overrides."""
    noise = "; ".join(f"{arm}: {' '.join(cfg.probe.arms[arm])}" for arm in arms)
    return (f"probe_noise/instance_noise.csv (tier {cfg.tier}, seeds "
            f"{seeds_text(cfg.probe.seeds)}, {cfg.fig2.d_iters} D iterations; "
            f"{noise})")


def validate_probe_noise(cfg: DictConfig) -> None:
    from wgan_repro.experiments.fig2 import validate_fig2

    validate_arms(cfg, (CONTROL_ARM,), extra_arms=True)
    validate_fig2(cfg)
    validate_noise_arm(cfg)


def validate_noise_arm(cfg: DictConfig) -> None:
    """One job's arm: the control has no noise, every other arm one fixed std for the whole
    discriminator run (P1's prediction tested at one level, not through an annealing)."""
    arm, o = cfg.probe.arm, cfg.objective
    if arm not in cfg.probe.arms:
        raise ConfigError(f"probe.arm must name one of probe.arms ({', '.join(cfg.probe.arms)}), "
                          f"got {arm!r}")
    std, final, anneal = (o.instance_noise_std, o.instance_noise_final_std,
                          o.instance_noise_anneal_iters)
    if arm == CONTROL_ARM and (std > 0 or final > 0):
        raise ConfigError(f"probe.arms.{arm} is the control: it must have no instance noise, got "
                          f"objective.instance_noise_std={std}, instance_noise_final_std={final}")
    fixed = anneal == 0 or final == std  # anneal_iters 0 keeps instance_noise_std throughout
    if arm != CONTROL_ARM and not (fixed and std > 0):
        raise ConfigError(
            f"probe.arms.{arm} must add one fixed noise std (objective.instance_noise_std > 0, "
            "and instance_noise_final_std equal to it or instance_noise_anneal_iters=0), got "
            f"{std} -> {final} over {anneal} D iterations")


def plan(user: list[str]) -> Plan:
    """One job per arm (the control, then each noise level) and seed."""
    return plan_arms("probe_noise", user, (CONTROL_ARM,), True, validate_probe_noise)
