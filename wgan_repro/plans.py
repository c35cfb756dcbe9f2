"""The one function that runs an experiment (``execute``): expand sweeps, plan every job with
the experiment's planner, launch them all through a Hydra launcher, aggregate, judge the
claims, draw the figures and record config and timing. Which planner, task, aggregation,
judge and figures: the experiment's row in wgan_repro.registry.

A planner (``plan`` in each wgan_repro.experiments module) takes the user's overrides
(already free of sweeps) and returns a Plan. Every job's config is composed and validated
once, at plan time (``validated``), before anything is launched; the task then runs on the
config the launcher composes from the same overrides and checks nothing again. The CLI builds
the user's overrides from its options and calls ``execute``; tests call planners and
``execute`` directly.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wgan_repro import hydra_runner
from wgan_repro.errors import ConfigError
from wgan_repro.registry import Experiment, resolve


@dataclass
class Plan:
    """What one experiment's planner returns: every job, and what its aggregation needs."""

    experiment: str  # its registry name (claims.csv, timings.csv, its results folder)
    cfg: Any  # the verb-level config: what --show-config prints and config.yaml records
    jobs: list[list[str]]  # one full override list per job
    seeds: list[int]
    context: dict[str, Any] = field(default_factory=dict)  # what the aggregation needs beyond cfg
    job_cfgs: list[Any] = field(default_factory=list)  # each job's validated config (the estimate)

    @property
    def results_dir(self) -> Path:
        return Path(self.cfg.results_dir)


def validated(overrides: list[str], *checks: Callable[[Any], None]) -> Any:
    """Compose one job's (or the verb's) config and run the schema's and the experiment's
    checks on it, so a bad value fails before anything is launched. The only validation a job
    gets: neither its task nor ``train`` checks again."""
    from wgan_repro.schema import validate

    cfg = hydra_runner.compose(overrides)
    validate(cfg)
    for check in checks:
        check(cfg)
    return cfg


def validated_jobs(jobs: list[list[str]], *checks: Callable[[Any], None]) -> list[Any]:
    """Every job's config, composed and checked (see ``validated``)."""
    return [validated(job, *checks) for job in jobs]


def seeds_text(seeds) -> str:
    return ",".join(str(s) for s in seeds)


def plan_train(user: list[str], seeds: list[int] | None = None) -> Plan:
    """One training run (P2 Algorithm 1 by default), or one per seed."""
    jobs = [[*user, f"seed={s}"] for s in seeds] if seeds else [list(user)]
    configs = validated_jobs(jobs)
    return Plan("train", configs[0], jobs, [c.seed for c in configs], job_cfgs=configs)


def aggregate_train(plan: Plan, runs: list[dict]) -> dict:
    return {"runs": runs, "claims": []}


# `train` runs one configuration: no claims, no figures, so it is no registry row.
TRAIN = Experiment("train", "train", "one training run", plan_train, "wgan_repro.train:train",
                   aggregate_train, judge=None, figures=None, marker="", seeds_key=None,
                   expected="wgan_repro.eta:train_loop_seconds")


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


# issue #23: on 2 cores one process per job with one thread each (joblib) finished 1.21x (fig2)
# and 1.32x (ablate) the jobs an hour of one process with both threads (basic), 4 jobs each:
# benchmarks/launcher_throughput.csv (AMD EPYC, fp32). With 3 jobs on 2 workers one core
# idles through the last job, so auto compares both launchers' expected times (wgan_repro.eta).
# Short tiers and GPUs keep basic.
AUTO_PARALLEL_TIERS = ("cpu",)


def resolve_launcher(launcher: str, plans: list[tuple[str, Plan]], n_jobs: int,
                     experiment: Experiment | None = None, launch_user: list[str] = (),
                     job_user: list[str] = ()) -> tuple[str, Any, str]:
    """(launcher, its expected time or None, why auto chose it or ""). ``auto``: for a
    multi-job run on the CPU at the cpu tier with several cores and the joblib plugin, the one
    of basic and joblib with the shorter expected time on this machine (joblib when no estimate
    can be made); basic otherwise. Any other launcher is the user's choice and kept."""
    def expected(name: str):
        return expected_time(experiment, plans, name, n_jobs, launch_user, job_user)

    if launcher != "auto":
        return launcher, expected(launcher), ""
    cfg = plans[0][1].cfg
    parallel = (n_jobs > 1 and cpu_count() > 1 and cfg.get("tier") in AUTO_PARALLEL_TIERS
                and _runs_on_cpu(str(cfg.get("device", "auto")))
                and hydra_runner.plugin_installed(hydra_runner.LAUNCHER_PLUGINS["joblib"][0]))
    if not parallel:
        return "basic", expected("basic"), ""
    times = {name: expected(name) for name in ("basic", "joblib")}
    if any(t is None for t in times.values()):
        return "joblib", times["joblib"], ""
    if times["basic"].seconds == 0:  # every job finished before: one process reuses them all
        return "basic", times["basic"], "auto chose basic: every job has finished before"
    pick = min(times, key=lambda name: times[name].seconds)
    other = "basic" if pick == "joblib" else "joblib"
    return pick, times[pick], (f"auto chose {pick} over {other} "
                               f"({times[other].seconds / times[pick].seconds:.2f}x its time)")


def expected_time(experiment: Experiment | None, plans: list[tuple[str, Plan]], launcher: str,
                  n_jobs: int, launch_user: list[str], job_user: list[str]):
    """The expected wall time on this machine (wgan_repro.eta.Estimate) with ``launcher``, or
    None: no estimate for a cluster (its queue and nodes are not this machine's), for an
    experiment without one, or when the steps cannot be timed here."""
    job_cfgs = [cfg for _, plan in plans for cfg in plan.job_cfgs]
    if (experiment is None or experiment.expected is None or not job_cfgs
            or launcher.startswith("submitit")):
        return None
    from wgan_repro import eta

    launch, job = launcher_settings(launcher, n_jobs, launch_user, job_user)

    def setting(overrides: list[str], key: str, default: int) -> int:
        values = [o.split("=", 1)[1] for o in overrides if has_key([o], key)]
        return int(values[-1]) if values else default

    parallel = setting([*launch_user, *launch], "hydra.launcher.n_jobs", 1)
    threads = setting([*job_user, *job], "threads", job_cfgs[0].get("threads") or cpu_count())
    try:
        return eta.estimate(resolve(experiment.expected), job_cfgs, parallel, threads)
    except (RuntimeError, ValueError, OSError):  # an estimate never stops a run
        return None


def _runs_on_cpu(device: str) -> bool:
    if device != "auto":
        return device == "cpu"
    from wgan_repro.runtime import select_device

    return select_device("auto").type == "cpu"


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
class SweepPointResult:
    label: str  # the sweep point ('' when nothing is swept)
    plan: Plan
    summary: dict | None  # None with show_config


def plan_points(experiment: Experiment, points: list[list[str]], options: dict
                ) -> list[tuple[str, Plan]]:
    """One plan per sweep point; each point is its own experiment, in
    <results>/sweeps/<point>/, so that points never mix in one figure."""
    planner = resolve(experiment.plan)
    first = planner(points[0], **options)
    if len(points) == 1:
        return [("", first)]
    root = first.results_dir
    fixed = [o for o in points[0] if all(o in p for p in points)]
    plans = []
    for point in points:
        label = _label(point, fixed)
        kept = [o for o in point if not has_key([o], "results_dir")]
        # quoted: the label holds '=' and ',', which Hydra's grammar would parse
        results = hydra_runner.quote(str(root / "sweeps" / label))
        plans.append((label, planner([*kept, f"results_dir={results}"], **options)))
    return plans


def execute(experiment: Experiment, user: list[str], launcher: str = "auto",
            show_config: bool = False, command: str | None = None,
            echo: Callable[[str], None] = print, **options: Any) -> list[SweepPointResult]:
    """Expand sweeps in ``user``, plan every sweep point (``options`` go to the planner, e.g.
    ablate's variants), launch all their jobs in one launcher call, aggregate each point, judge
    its claims, draw its figures and record its config and timing."""
    if launcher != "auto":
        hydra_runner.check_launcher(launcher)  # before any planning: a missing plugin says so
    launch_user = [o for o in user if hydra_runner.is_hydra_override(o)]
    job_user = [o for o in user if not hydra_runner.is_hydra_override(o)]
    points = hydra_runner.expand_sweeps(job_user)
    if len(points) > 1 and any(has_key([o], "seed") for o in job_user if "," in o):
        raise ConfigError("sweep seeds with --seeds A,B,..., not seed=A,B")
    plans = plan_points(experiment, points, options)
    root = plans[0][1].results_dir
    n_jobs = sum(len(plan.jobs) for _, plan in plans)
    launcher, estimate, why = resolve_launcher(launcher, plans, n_jobs, experiment, launch_user,
                                               job_user)
    timing = "" if estimate is None else _estimate_line(estimate, why)
    if show_config:
        _show(plans, n_jobs, launcher, echo, timing)
        return [SweepPointResult(label, plan, None) for label, plan in plans]
    from wgan_repro.results import tidied_on_failure

    with tidied_on_failure(root):  # a failed command leaves no new empty folders
        return _launch(experiment, plans, launcher, launch_user, job_user, timing, command, echo)


def _launch(experiment: Experiment, plans: list[tuple[str, Plan]], launcher: str,
            launch_user: list[str], job_user: list[str], timing: str, command: str | None,
            echo: Callable[[str], None]) -> list[SweepPointResult]:
    """Launch every plan's jobs in one launcher call, then conclude each plan."""
    from wgan_repro.results import check_writable

    root = plans[0][1].results_dir
    n_jobs = sum(len(plan.jobs) for _, plan in plans)
    check_writable(root)  # before the launcher makes its sweep folder there
    launch_extra, job_extra = launcher_settings(launcher, n_jobs, launch_user, job_user)
    jobs = [[*job, *job_extra] for _, plan in plans for job in plan.jobs]
    echo(f"{experiment.name}: launching {n_jobs} job{'s' if n_jobs != 1 else ''} with the "
         f"{launcher} launcher" + (f" over {len(plans)} sweep points" if len(plans) > 1 else ""))
    if timing:
        echo(timing)
    started = time.perf_counter()
    returns = hydra_runner.launch(resolve(experiment.task), jobs, launcher,
                                  [*launch_user, *launch_extra,
                                   f"results_dir={hydra_runner.quote(str(root))}"])
    results, offset = [], 0
    for label, plan in plans:
        runs = returns[offset:offset + len(plan.jobs)]
        offset += len(plan.jobs)
        launched = Launched(launcher, time.perf_counter() - started,
                            command or f"wgan-repro {' '.join(sys.argv[1:])}")
        summary = conclude(experiment, plan, runs, launched)
        results.append(SweepPointResult(label, plan, summary))
    return results


def _estimate_line(estimate, why: str) -> str:
    from wgan_repro.eta import describe

    return describe(estimate) + (f"; {why}" if why else "")


def _show(plans: list[tuple[str, Plan]], n_jobs: int, launcher: str, echo, timing: str) -> None:
    from omegaconf import OmegaConf

    for label, plan in plans:
        if label:
            echo(f"# sweep point {label}")
        echo(OmegaConf.to_yaml(plan.cfg))
    echo(f"# {n_jobs} job{'s' if n_jobs != 1 else ''} with the {launcher} launcher; "
         "nothing was run (--show-config)" + (f"\n# {timing}" if timing else ""))


@dataclass(frozen=True)
class Launched:
    """How a plan's jobs were run: what timings.csv records."""

    launcher: str
    wall_s: float
    command: str


def conclude(experiment: Experiment, plan: Plan, runs: list, launched: Launched | None = None
             ) -> dict:
    """What every experiment does once its jobs are done: aggregate their results into its
    CSVs and summary.json, save the verb-level config next to them, judge its claims from those
    files (into claims.csv, summary.json and the returned summary), draw its figures from them
    and, given ``launched``, record its timing.

    Figures, CSVs, summary and config of one experiment are written as one set: two processes
    concluding into the same folder take turns. (train has no such set: its runs lock their
    own folders.)"""
    aggregate = resolve(experiment.aggregate)
    if experiment.judge is None:
        return aggregate(plan, runs)
    from wgan_repro import claims
    from wgan_repro.plots import claims as claims_figure
    from wgan_repro.results import experiment_lock

    with experiment_lock(plan.results_dir, experiment.name):
        summary = aggregate(plan, runs)
        save_config(experiment, plan)  # before judging: a judge may read its settings
        summary["claims"] = claims.judge_and_write(plan.results_dir, experiment.name)
        resolve(experiment.figures)(plan.results_dir / experiment.folder)
        claims_figure.draw(plan.results_dir)  # every claim on every seed, this one's new ones
        if launched is not None:
            save_timing(experiment, plan, launched)
    return summary


def device_name(cfg: Any) -> str:
    from wgan_repro.runtime import select_device

    device = select_device(cfg.device)
    if device.type == "cuda":
        import torch

        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type


def save_config(experiment: Experiment, plan: Plan) -> None:
    """The verb-level config, next to the figures (the report shows it, judges may read it)."""
    from omegaconf import OmegaConf

    from wgan_repro.results import write_text

    write_text(plan.results_dir / experiment.folder / experiment.config_file,
               OmegaConf.to_yaml(plan.cfg))


def save_timing(experiment: Experiment, plan: Plan, launched: Launched) -> None:
    """The experiment's row of timings.csv."""
    import torch

    from wgan_repro.results import update_timings
    from wgan_repro.runtime import cpu_model, run_precision

    update_timings(plan.results_dir, {
        "experiment": experiment.name, "command": launched.command, "tier": plan.cfg.tier,
        "launcher": launched.launcher, "seeds": seeds_text(plan.seeds), "jobs": len(plan.jobs),
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_s": round(launched.wall_s, 1), "python_version": platform.python_version(),
        "torch_version": torch.__version__, "device": device_name(plan.cfg),
        "cpu_model": cpu_model(), "precision": run_precision(plan.cfg)})
