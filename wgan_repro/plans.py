"""What each experiment verb runs: its jobs (Hydra override lists), the task that runs one job,
and how the jobs' results are aggregated; and the one function that expands sweeps, launches
every job through a Hydra launcher, aggregates, judges the claims, draws the figures and
records timings.

A planner takes the user's overrides (already free of sweeps) and returns a Plan. Every job's
config is composed and validated once, here, before anything is launched; the task then runs
on the config the launcher composes from the same overrides and checks nothing again. The CLI
builds the user's overrides from its options and calls ``execute``; tests call planners and
``execute`` directly.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wgan_repro import hydra_runner
from wgan_repro.errors import ConfigError


@dataclass
class Plan:
    experiment: str  # its name in claims.csv and timings.csv
    cfg: Any  # the verb-level config: what --show-config prints and config.yaml records
    jobs: list[list[str]]  # one full override list per job
    task: Callable[[Any], Any]  # runs one job; module-level so submitit can pickle it
    aggregate: Callable[[list[Any]], dict]  # the jobs' results -> summary (CSVs, summary.json)
    seeds: list[int]
    config_path: Path | None  # where the verb-level config is saved (None: not recorded)


def _validated(overrides: list[str], *checks: Callable[[Any], None]) -> Any:
    """Compose one job's (or the verb's) config and run the schema's and the experiment's
    checks on it, so a bad value fails before anything is launched. The only validation a job
    gets: neither its task nor ``train`` checks again."""
    from wgan_repro.schema import validate

    cfg = hydra_runner.compose(overrides)
    validate(cfg)
    for check in checks:
        check(cfg)
    return cfg


def _seeds_text(seeds) -> str:
    return ",".join(str(s) for s in seeds)


def planner_train(seeds: list[int] | None) -> Callable[[list[str]], Plan]:
    """One training run (P2 Algorithm 1 by default), or one per seed."""

    def plan_train(user: list[str]) -> Plan:
        from wgan_repro.train import train

        jobs = [[*user, f"seed={s}"] for s in seeds] if seeds else [list(user)]
        configs = [_validated(job) for job in jobs]
        return Plan("train", configs[0], jobs, train,
                    lambda runs: {"runs": runs, "claims": []}, [c.seed for c in configs], None)

    return plan_train


def plan_fig2(user: list[str]) -> Plan:
    from wgan_repro.experiments import fig2

    base = ["experiment=fig2", *user]
    cfg = _validated(base, fig2.validate_fig2)
    results = Path(cfg.results_dir)
    jobs = [[*base, f"seed={s}"] for s in cfg.fig2.seeds]
    for job in jobs:
        _validated(job, fig2.validate_fig2)
    source = (f"fig2/grad_norms.csv (tier {cfg.tier}, seeds {_seeds_text(cfg.fig2.seeds)}, "
              f"{cfg.fig2.d_iters} D iterations)")
    return Plan("fig2", cfg, jobs, fig2.run_fig2,
                lambda runs: fig2.aggregate(results, runs, source), list(cfg.fig2.seeds),
                results / "fig2" / "config.yaml")


def plan_curve(user: list[str]) -> Plan:
    from wgan_repro.experiments import curve

    cfg = _validated(["experiment=curve", *user], curve.validate_curve)
    results = Path(cfg.results_dir)
    # Each run's own overrides come first, so what the user typed wins over them.
    jobs = [["experiment=curve", *run_overrides, *user, f"curve.run={name}", f"seed={s}"]
            for name, run_overrides in cfg.curve.runs.items() for s in cfg.curve.seeds]
    for job in jobs:
        _validated(job, curve.validate_curve)
    source = (f"curve/curve.csv, curve/quality.csv (tier {cfg.tier}, seeds "
              f"{_seeds_text(cfg.curve.seeds)}, {cfg.train.iterations} generator iterations)")
    return Plan("curve", cfg, jobs, curve.run_curve,
                lambda runs: curve.aggregate(results, runs, source), list(cfg.curve.seeds),
                results / "curve" / "config.yaml")


def planner_ablate(variants: list[str] | None) -> Callable[[list[str]], Plan]:
    """``variants`` None runs every variant in ablate.variants."""

    def plan_ablate(user: list[str]) -> Plan:
        from wgan_repro.experiments import ablate

        cfg = _validated(["experiment=ablate", *user], ablate.validate_ablate)
        results = Path(cfg.results_dir)
        chosen = list(cfg.ablate.variants) if variants is None else list(variants)
        unknown = [v for v in chosen if v not in cfg.ablate.variants]
        if unknown:
            raise ConfigError(f"ablate.variants has no {', '.join(unknown)}")
        # The variant's and the arm's own overrides come first, so what the user typed wins.
        jobs = [["experiment=ablate", *cfg.ablate.variants[v], *cfg.ablate.objectives[arm], *user,
                 f"ablate.variant={v}", f"ablate.objective={arm}", f"seed={s}"]
                for v in chosen for s in cfg.ablate.seeds for arm in ablate.ARMS]
        # Each variant may have its own length and image size: its first job's config says.
        lengths = {}
        for job in jobs:
            job_cfg = _validated(job, ablate.validate_ablate)
            lengths.setdefault(job_cfg.ablate.variant, (job_cfg.train.iterations,
                                                        job_cfg.data.image_size))
        # Generator sizes of every variant (Fig. 6 is about ~10x fewer parameters than Fig. 5).
        variant_cfgs = {v: hydra_runner.compose(["experiment=ablate", *cfg.ablate.variants[v], *user])
                        for v in cfg.ablate.variants}
        if "dcgan" in variant_cfgs and "no_bn" in variant_cfgs:
            # P2's "10x fewer parameters" compares the two generators at the same image size
            size = variant_cfgs["no_bn"].data.image_size
            variant_cfgs[ablate.DCGAN_AT_NO_BN_SIZE] = hydra_runner.compose(
                ["experiment=ablate", *cfg.ablate.variants["dcgan"], *user,
                 f"data.image_size={size}"])
        parameters = ablate.generator_parameters(variant_cfgs)

        def aggregate(runs: list[dict]) -> dict:
            sources = {v: (f"ablate/metrics.csv (tier {cfg.tier}, seeds "
                           f"{_seeds_text(cfg.ablate.seeds)}, {lengths[v][0]} generator "
                           f"iterations, {lengths[v][1]}x{lengths[v][1]})") for v in chosen}
            summary = ablate.aggregate(results, runs, sources, parameters)
            return {**summary, "parameters": {v: parameters[v] for v in chosen},
                    "all_parameters": parameters}

        return Plan("ablate", cfg, jobs, ablate.run_ablate, aggregate, list(cfg.ablate.seeds),
                    results / "ablate" / "config.yaml")

    return plan_ablate


def plan_toy(user: list[str]) -> Plan:
    from wgan_repro.experiments import toy

    base = ["experiment=toy", *user]
    cfg = _validated(base, toy.validate_toy)  # the one job: the toy's nets are small
    results = Path(cfg.results_dir)
    return Plan("toy", cfg, [base], toy.run_toy, lambda runs: toy.aggregate(results, runs, cfg),
                [cfg.seed], results / "toy" / "config.yaml")


def planner_probe(kind: str) -> Callable[[list[str]], Plan]:
    def plan_probe(user: list[str]) -> Plan:
        from wgan_repro.experiments import probe

        spec = probe.PROBES[kind]
        cfg = hydra_runner.compose([f"experiment=probe_{kind}", *user])
        arms = spec.arms(cfg)  # adam: adam and rmsprop; noise: the control and each std
        # The arm's own overrides come first, so what the user typed wins over them.
        jobs = [[f"experiment=probe_{kind}", *cfg.probe.arms[arm], *user, f"probe.arm={arm}",
                 f"seed={s}"] for arm in arms for s in cfg.probe.seeds]
        for job in jobs:
            _validated(job, spec.validate)
        results = Path(cfg.results_dir)
        return Plan(f"probe_{kind}", cfg, jobs, spec.run,
                    lambda runs: spec.aggregate(results, runs, cfg), list(cfg.probe.seeds),
                    results / "probe" / f"config_{kind}.yaml")

    return plan_probe


# ---------------------------------------------------------------------------------------------


def cpu_count() -> int:
    """Cores this process may use (a SLURM or taskset allocation, not the whole node)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def has_key(overrides: list[str], key: str) -> bool:
    """Whether ``overrides`` set ``key`` (with or without Hydra's +/~ prefixes)."""
    return any(o.lstrip("+~").split("=", 1)[0] == key for o in overrides)


def launcher_settings(launcher: str, n_jobs: int, launch_overrides: list[str],
                      job_overrides: list[str]) -> tuple[list[str], list[str]]:
    """Extra (launch, per-job) overrides so parallel jobs share the cores instead of each
    starting one thread per core (which oversubscribes and slows every job down). What the
    user set explicitly is kept."""
    cores = cpu_count()
    launch, job = [], []
    if launcher == "joblib":
        parallel = min(n_jobs, cores)
        if not has_key(launch_overrides, "hydra.launcher.n_jobs"):
            launch.append(f"hydra.launcher.n_jobs={parallel}")
        job.append(f"threads={max(1, cores // parallel)}")
        # joblib workers crash with DataLoader worker processes (hydra #964): in-process loading
        job.append("data.num_workers=0")
    elif launcher == "submitit_local":
        # submitit's local executor starts every job at once
        job.append(f"threads={max(1, cores // n_jobs)}")
        if not has_key(launch_overrides, "hydra.launcher.timeout_min"):
            launch.append("hydra.launcher.timeout_min=10080")  # a week: local jobs end by themselves
    elif launcher == "submitit_slurm":
        cpus = [o.split("=", 1)[1] for o in launch_overrides
                if o.startswith("hydra.launcher.cpus_per_task=")]
        if cpus:  # torch would otherwise count the node's cores, not the allocation's
            job.append(f"threads={cpus[-1]}")
    job = [o for o in job if not has_key(job_overrides, o.split("=", 1)[0])]
    return launch, job


def _label(point: list[str], fixed: list[str]) -> str:
    """A sweep point's folder name: its swept overrides, e.g. 'optim.lr=0.0001'."""
    swept = [o for o in point if o not in fixed]
    return ",".join(swept).replace(os.sep, "_").replace(" ", "").replace("'", "")


@dataclass
class Outcome:
    label: str  # the sweep point ('' when nothing is swept)
    plan: Plan
    summary: dict | None  # None with show_config


def execute(planner: Callable[[list[str]], Plan], user: list[str], launcher: str = "basic",
            show_config: bool = False, command: str | None = None,
            echo: Callable[[str], None] = print) -> list[Outcome]:
    """Expand sweeps in ``user``, plan every sweep point, launch all their jobs in one launcher
    call, aggregate each point and record its config and timing.

    Each sweep point is its own experiment: its results go to <results>/sweeps/<point>/ so
    that points never mix in one figure.
    """
    hydra_runner.check_launcher(launcher)  # before any planning: a missing plugin says so
    launch_user = [o for o in user if hydra_runner.is_hydra_override(o)]
    job_user = [o for o in user if not hydra_runner.is_hydra_override(o)]
    points = hydra_runner.expand_sweeps(job_user)
    if len(points) > 1 and any(has_key([o], "seed") for o in job_user if "," in o):
        raise ConfigError("sweep seeds with --seeds A,B,..., not seed=A,B")
    first = planner(points[0])
    root = Path(first.cfg.results_dir)
    if len(points) == 1:
        plans = [("", first)]
    else:
        fixed = [o for o in points[0] if all(o in p for p in points)]
        plans = []
        for point in points:
            label = _label(point, fixed)
            kept = [o for o in point if not has_key([o], "results_dir")]
            # quoted: the label holds '=' and ',', which Hydra's grammar would parse
            plans.append((label, planner([*kept, f"results_dir='{root / 'sweeps' / label}'"])))
    n_jobs = sum(len(plan.jobs) for _, plan in plans)
    if show_config:
        for label, plan in plans:
            if label:
                echo(f"# sweep point {label}")
            from omegaconf import OmegaConf

            echo(OmegaConf.to_yaml(plan.cfg))
        echo(f"# {n_jobs} job{'s' if n_jobs != 1 else ''} with the {launcher} launcher; "
             "nothing was run (--show-config)")
        return [Outcome(label, plan, None) for label, plan in plans]
    from wgan_repro.results import check_writable, experiment_lock

    check_writable(root)  # before the launcher makes its sweep folder there
    launch_extra, job_extra = launcher_settings(launcher, n_jobs, launch_user, job_user)
    jobs = [[*job, *job_extra] for _, plan in plans for job in plan.jobs]
    echo(f"{first.experiment}: launching {n_jobs} job{'s' if n_jobs != 1 else ''} with the "
         f"{launcher} launcher" + (f" over {len(plans)} sweep points" if len(plans) > 1 else ""))
    started = time.perf_counter()
    returns = hydra_runner.launch(first.task, jobs, launcher,
                                  [*launch_user, *launch_extra, f"results_dir='{root}'"])
    outcomes, offset = [], 0
    for label, plan in plans:
        runs = returns[offset:offset + len(plan.jobs)]
        offset += len(plan.jobs)
        # Figures, CSVs, summary and config of one experiment are written as one set: two
        # processes aggregating into the same folder take turns. (train has no such set:
        # its runs lock their own folders.)
        with (experiment_lock(Path(plan.cfg.results_dir), plan.experiment)
              if plan.config_path is not None else contextlib.nullcontext()):
            summary = plan.aggregate(runs)
            if plan.config_path is not None:
                conclude(plan.experiment, Path(plan.cfg.results_dir), summary)
                record(plan, launcher, len(plan.jobs), time.perf_counter() - started,
                       command or f"wgan-repro {' '.join(sys.argv[1:])}")
        outcomes.append(Outcome(label, plan, summary))
    return outcomes


def conclude(experiment: str, results_dir: Path, summary: dict) -> dict:
    """What every experiment does once its aggregation has written its CSVs and summary.json:
    judge its claims from those files (into claims.csv, summary.json and ``summary``) and draw
    its figures from them."""
    from wgan_repro import claims, plots

    summary["claims"] = claims.record(results_dir, experiment)
    plots.figures(experiment, results_dir)
    return summary


def device_name(cfg: Any) -> str:
    from wgan_repro.runtime import select_device

    device = select_device(cfg.device)
    if device.type == "cuda":
        import torch

        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type


def record(plan: Plan, launcher: str, n_jobs: int, wall_s: float, command: str) -> None:
    """Save the verb-level config next to the figures and the run's row of timings.csv."""
    import torch
    from omegaconf import OmegaConf

    from wgan_repro.results import update_timings, write_text

    write_text(plan.config_path, OmegaConf.to_yaml(plan.cfg))
    update_timings(Path(plan.cfg.results_dir), {
        "experiment": plan.experiment, "command": command, "tier": plan.cfg.tier,
        "launcher": launcher, "seeds": _seeds_text(plan.seeds), "jobs": n_jobs,
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_s": round(wall_s, 1), "python_version": platform.python_version(),
        "torch_version": torch.__version__, "device": device_name(plan.cfg)})
