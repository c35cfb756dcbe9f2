"""A verb's expected wall time on this machine, printed before it starts (issue #23: the same
job took 265 s on one session's CPU and 986 s on another's, so a time measured elsewhere says
little here).

Each experiment counts the steps one job takes (``expected_seconds(job_cfg, timer)`` in its
module, named by its registry row); :class:`StepTimer` times a few steps of each kind on this
machine, with the job's networks, batch, precision and thread count, and keeps the times in a
per-machine cache, so the calibration costs at most ``CALIBRATION_BUDGET_S`` once and nothing
after. The jobs are then shared out over the launcher's parallel workers.

What it leaves out: evaluations (FCD, EMD: ~0.3 s each at the cpu tier) and start-up. Work
already finished costs nothing (a train run with its summary and last checkpoint, a fig2
snapshot with its files: both are reused as they are); work begun and interrupted is counted
from scratch, so a resumed verb takes less than it says. The reference run's measured times
against this estimate: docs/times.md.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

CALIBRATION_BUDGET_S = 4.0  # issue #23: <= 5 s for a verb's calibration, shared by its step kinds
BUSY_LOAD = 0.5  # load average per core above which other work shares the cores: not cached
KIND_S = 0.3  # timing one kind longer than this adds no precision an estimate needs
MIN_TIMED_STEPS = 3  # fewer would time mostly the first call's allocations
CACHE_VERSION = 1  # bump when what a step does changes: older times no longer apply


def cache_file() -> Path:
    """Per machine and user: $WGAN_REPRO_CACHE, else $XDG_CACHE_HOME/wgan-repro, else
    ~/.cache/wgan-repro."""
    root = os.environ.get("WGAN_REPRO_CACHE") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "wgan-repro"
    return Path(root) / "calibration.json"


class StepTimer:
    """Seconds per step of a kind on this machine, measured once per kind and cached.

    ``seconds(kind, key, run_steps)`` times ``run_steps(n)`` (which runs n steps) after one
    warm-up call; ``budget_s`` is what this timer may spend in all, split between the kinds
    not yet cached (``kinds`` tells how many to expect)."""

    def __init__(self, threads: int, budget_s: float = CALIBRATION_BUDGET_S, kinds: int = 2):
        from wgan_repro.runtime import cpu_model

        self.threads, self.budget_s, self.kinds = threads, budget_s, max(1, kinds)
        self.machine = {"cpu": cpu_model(), "torch": torch.__version__, "threads": threads,
                        "version": CACHE_VERSION}
        self.path = cache_file()
        self.cache = _read(self.path)
        self.spent_s = 0.0
        self.measured = 0  # kinds timed in this call (the rest came from the cache)
        self.load = _load_per_core()  # before timing: this process's own work is not counted

    def seconds(self, kind: str, key: dict[str, Any], run_steps: Callable[[int], None]) -> float:
        ident = json.dumps({"kind": kind, **key, **self.machine}, sort_keys=True, default=str)
        if ident in self.cache:
            return self.cache[ident]
        previous = torch.get_num_threads()
        torch.set_num_threads(self.threads)  # as the job will run (joblib: 1 thread a job)
        try:
            run_steps(1)  # first call: allocations, kernel selection
            share = min(KIND_S, self.budget_s / self.kinds)
            steps, started = 0, time.perf_counter()
            while steps < MIN_TIMED_STEPS or time.perf_counter() - started < share:
                run_steps(1)
                steps += 1
            elapsed = time.perf_counter() - started
        finally:
            torch.set_num_threads(previous)
        self.spent_s += elapsed
        self.measured += 1
        self.cache[ident] = elapsed / steps
        if self.load <= BUSY_LOAD:  # a busy machine's times would stay wrong in the cache
            _write(self.path, self.cache)
        return self.cache[ident]

    # -- the two steps every GAN job is made of --------------------------------------------------
    def critic_step(self, cfg: DictConfig) -> float:
        """One critic update (real and fake batch forward, backward, optimiser, clipping)."""
        return self.seconds("critic_step", _nets_key(cfg),
                            lambda n: _run(cfg, n, critic=True))

    def generator_step(self, cfg: DictConfig) -> float:
        """One generator update through the frozen critic."""
        return self.seconds("generator_step", _nets_key(cfg),
                            lambda n: _run(cfg, n, critic=False))


def _nets_key(cfg: DictConfig) -> dict[str, Any]:
    """What a step's time depends on: the networks, batch, data shape, precision, layout."""
    from wgan_repro.runtime import run_precision

    section = {k: OmegaConf.to_container(cfg[k], resolve=True) for k in ("generator", "critic")}
    return {**section, "optim": cfg.optim.name, "batch": cfg.train.batch_size,
            "shape": list(sample_shape(cfg)), "device": str(cfg.device),
            "penalty": cfg.objective.gradient_penalty > 0,  # WGAN-GP: a second backward
            "precision": run_precision(cfg), "channels_last": bool(cfg.train.channels_last)}


def sample_shape(cfg: DictConfig) -> tuple[int, ...]:
    """One sample's shape: a 2-D point, or an image of the configured channels and size."""
    from wgan_repro.schema import POINT_DATASETS

    if cfg.data.name in POINT_DATASETS:
        return (2,)
    return (cfg.data.channels, cfg.data.image_size, cfg.data.image_size)


_NETS: dict[str, Any] = {}  # built once per key within a process: calibration re-uses them


def _run(cfg: DictConfig, n: int, critic: bool) -> None:
    from wgan_repro import precision, train
    from wgan_repro.objectives import build_objective
    from wgan_repro.runtime import run_precision, select_device

    ident = json.dumps(_nets_key(cfg), sort_keys=True, default=str)
    if ident not in _NETS:
        device = select_device(cfg.device)
        shape = sample_shape(cfg)
        batch = torch.rand(cfg.train.batch_size, *shape, device=device) * 2 - 1
        nets = train.build_nets_from(cfg, shape, _Repeat(batch), device)
        step = train.StepSetup(build_objective(cfg.objective),
                               precision.autocast(run_precision(cfg), device),
                               cfg.train.batch_size, cfg.generator.nz, device)
        _NETS[ident] = (nets, step, device)
    nets, step, device = _NETS[ident]
    for _ in range(n):
        if critic:
            train.critic_step(nets, step, 0.0, None, 1)
        else:
            train.generator_step(nets, step, 0.0)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class _Repeat:
    """A batch stream that serves one synthetic batch: the step's cost, not the data's."""

    def __init__(self, batch: torch.Tensor):
        self.batch = batch

    def next(self) -> torch.Tensor:
        return self.batch


def train_loop_seconds(cfg: DictConfig, timer: StepTimer) -> float:
    """A ``train`` run from scratch: its critic updates (the warm-up's included) and
    generator updates; 0 when it has finished before (train reuses it as it is)."""
    from wgan_repro.objectives import build_objective
    from wgan_repro.train import is_finished

    if is_finished(cfg):
        return 0.0

    objective = build_objective(cfg.objective)
    iterations = cfg.train.iterations
    critic_steps = sum(objective.critic_iters(i) for i in range(iterations))
    return critic_steps * timer.critic_step(cfg) + iterations * timer.generator_step(cfg)


@dataclass(frozen=True)
class Estimate:
    seconds: float  # the verb's expected wall time
    jobs: int
    parallel: int  # jobs at once
    calibration_s: float  # what timing the steps cost in this call (0: all cached)
    load: float = 0.0  # load average per core when the steps were timed (0: all cached)
    done: int = 0  # jobs whose work has all finished before (expected 0 s: reused)


def estimate(expected: Callable[[DictConfig, StepTimer], float], job_cfgs: Sequence[DictConfig],
             parallel: int, threads: int) -> Estimate:
    """Each job's expected seconds, shared out over ``parallel`` workers (longest first to the
    least loaded: how joblib's queue fills)."""
    timer = StepTimer(threads)
    try:
        seconds = sorted((expected(cfg, timer) for cfg in job_cfgs), reverse=True)
    finally:
        _NETS.clear()  # the timed networks are not kept through the run the estimate is for
    loads = [0.0] * max(1, parallel)
    for job in seconds:
        loads[loads.index(min(loads))] += job
    return Estimate(max(loads), len(seconds), len(loads), timer.spent_s,
                    timer.load if timer.measured else 0.0, sum(job == 0 for job in seconds))


def describe(result: Estimate) -> str:
    from wgan_repro.runtime import cpu_model

    at_once = f", {result.parallel} at a time" if result.parallel > 1 else ""
    timed = (f"; steps timed in {result.calibration_s:.1f} s" if result.calibration_s
             else "; step times cached")
    if result.load > BUSY_LOAD:
        timed += (f" while other work kept the cores busy (load {result.load:.1f} a core): "
                  "likely too long, and not cached")
    if result.jobs and result.done == result.jobs:
        return (f"expected time on this machine ({cpu_model()}): none, every one of the "
                f"{result.jobs} job{'s' if result.jobs != 1 else ''} finished before (reused)")
    done = f" ({result.done} already done)" if result.done else ""
    rest = "the rest from scratch" if result.done else "from scratch"
    return (f"expected time on this machine ({cpu_model()}): {_duration(result.seconds)} for "
            f"{result.jobs} job{'s' if result.jobs != 1 else ''}{done}{at_once}, {rest}{timed}")


def _load_per_core() -> float:
    try:
        return os.getloadavg()[0] / (os.cpu_count() or 1)
    except OSError:  # no load average on this platform: assume an idle machine
        return 0.0


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"~{hours} h {minutes:02d} min"
    return f"~{minutes} min {secs:02d} s" if minutes else f"~{secs} s"


def _read(path: Path) -> dict[str, float]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}  # no cache yet, or an unreadable one: time again


def _write(path: Path, cache: dict[str, float]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache, indent=0))
        tmp.replace(path)
    except OSError:
        pass  # a read-only home: the estimate still prints, the next call times again
