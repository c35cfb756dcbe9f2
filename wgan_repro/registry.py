"""Every experiment wgan-repro runs, declared once.

An :class:`Experiment` row names, in one place, everything the rest of the code needs to know
about one experiment: its one name (the results folder, the config's ``experiment_name``,
``conf/experiment/<name>.yaml``, the ``experiment`` column of claims.csv and timings.csv), the
CLI words that run it, the planner, the task that runs one job, the aggregation, the judge of
its claims, its figures and the config file the report shows. The CLI, plans, claims, plots
and report read this table; none of them lists experiments of its own.

Adding an experiment: write its module (planner, task, aggregation), its claims module, its
figures and ``conf/experiment/<name>.yaml``, then add one row here (or call :func:`register`).

The callables are given as ``"module:attribute"`` strings, imported on first use, so reading
the table (``wgan-repro --help``, the report) never imports torch; a row may also hold the
callables themselves (a test registers one that way).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Ref = str | Callable[..., Any]  # "package.module:function", or the function itself


def resolve(ref: Ref) -> Callable[..., Any]:
    """The callable a Ref names (imported now, not when the table was read)."""
    if callable(ref):
        return ref
    module, _, attribute = ref.partition(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class Experiment:
    name: str  # the one name: results/<name>/, experiment_name, conf/experiment/<name>.yaml
    verb: str  # the CLI words that run it with its defaults, e.g. "probe noise", "ablate --all"
    title: str  # the report's heading for it
    plan: Ref  # (user overrides, **verb options) -> plans.Plan: every job's overrides
    task: Ref  # (job config) -> dict: runs one job; module-level so submitit can pickle it
    aggregate: Ref  # (plan, the jobs' returns) -> summary: writes the experiment's CSVs
    judge: Ref | None  # (results folder) -> list of verdicts.Claim, read from the files alone
    figures: Ref | None  # (the experiment's folder) -> list of PDF paths, drawn from its files alone
    marker: str  # a file in its folder whose presence means it ran (what --rejudge looks for)
    seeds_key: str | None  # the config key of its seed list (None: one run, seeded by `seed`)
    config_file: str = "config.yaml"  # the verb-level config, saved in its folder
    # (job config, eta.StepTimer) -> seconds one job takes from scratch on this machine
    expected: Ref | None = None

    @property
    def folder(self) -> str:
        """Its folder under the results folder: its name (one name per thing)."""
        return self.name


TRAIN_RUN_SECONDS = "wgan_repro.eta:train_loop_seconds"  # the estimate where a job is one train run


def _row(name: str, verb: str, title: str, module: str, marker: str,
         seeds_key: str | None, expected: str | None = None) -> Experiment:
    """A row whose planner, task and aggregation live in wgan_repro.experiments.<module> as
    plan/run/aggregate, whose claims live in wgan_repro.claims.<name> as judge and whose figures
live in wgan_repro.plots.<name> as figures and whose time estimate is ``expected``, by
    default the module's expected_seconds."""
    experiment = f"wgan_repro.experiments.{module}"
    return Experiment(name, verb, title, f"{experiment}:plan", f"{experiment}:run",
                      f"{experiment}:aggregate", f"wgan_repro.claims.{name}:judge",
                      f"wgan_repro.plots.{name}:figures", marker, seeds_key,
                      expected=expected or f"{experiment}:expected_seconds")


# Report order: the papers' figures first, then the probes.
EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in (
    _row("fig2", "fig2", "P1 Figures 1–3: a discriminator trained against frozen DCGAN "
         "generators; the original cost's gradient vanishes, the −log D cost's does not",
         "fig2", "grad_norms.csv", "fig2.seeds"),
    _row("curve", "curve", "P2 Figures 3–4: the WGAN critic's estimate against independent "
         "measures of sample quality", "curve", "curve.csv", "curve.seeds", TRAIN_RUN_SECONDS),
    _row("ablate", "ablate --all", "P2 Figures 5–7: WGAN against the standard GAN with DCGAN, "
         "no-batch-norm and MLP generators; mode collapse", "ablate", "metrics.csv",
         "ablate.seeds", TRAIN_RUN_SECONDS),
    _row("toy", "toy", "P2 Figures 1–2: parallel lines and two 1-D Gaussians", "toy",
         "summary.json", "toy.seeds"),
    _row("clip", "clip", "P2 §3 with WGAN-GP Fig. 1: weight clipping against the gradient "
         "penalty (per-layer gradient norms, weights, value surfaces)", "clip",
         "layer_grad_norms.csv", "clip.seeds"),
    _row("probe_adam", "probe adam", "P2 §4.2: Adam against RMSProp on the WGAN critic (step "
         "cosine, blow-ups)", "probe_adam", "adam_cosine.csv", "probe.seeds",
         TRAIN_RUN_SECONDS),
    _row("probe_noise", "probe noise", "P1 §3: the fig2 protocol without and with instance "
         "noise (fixed σ per arm)", "probe_noise", "instance_noise.csv", "probe.seeds"),
)}


def get(name: str) -> Experiment:
    try:
        return EXPERIMENTS[name]
    except KeyError:
        raise KeyError(f"no experiment named {name!r} (have {', '.join(EXPERIMENTS)})") from None


def register(experiment: Experiment) -> Experiment:
    """Add (or replace) a row; returns it. Tests use it for an experiment of their own."""
    EXPERIMENTS[experiment.name] = experiment
    return experiment
