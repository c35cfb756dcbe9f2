"""Shared fixtures and helpers: configs composed from the real config tree, shrunk to
scale=smoke; one smoke fig2 run made once per test session and shared (read-only, or as a
private copy); ``run_main``, the real entry point called in-process (``from conftest import
run_main``)."""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

from wgan_repro import cli, hydra_runner

# Two cores in CI: one thread a worker when pytest-xdist runs two, else two. Set at import
# too: module- and session-scoped fixtures run before any function-scoped one, and a run made
# on another thread count sums in another order (and then differs in the last bits).
THREADS = 1 if os.environ.get("PYTEST_XDIST_WORKER") else 2
torch.set_num_threads(THREADS)
# Step times for the verbs' time estimates (wgan_repro.eta): one cache for the test session's
# workers, never the user's own (~/.cache/wgan-repro).
_SESSION = os.getppid() if os.environ.get("PYTEST_XDIST_WORKER") else os.getpid()
os.environ.setdefault("WGAN_REPRO_CACHE", os.path.join(os.environ.get("TMPDIR", "/tmp"),
                                                       f"wgan-repro-test-eta-{_SESSION}"))


@pytest.fixture(autouse=True)
def _few_threads():
    torch.set_num_threads(THREADS)  # a test may have changed it


@pytest.fixture(scope="session", autouse=True)
def _one_digits_classifier_per_session(tmp_path_factory):
    """Experiments train the digits classifier once per results folder (~9 s on 2 cores) and
    every test has its own folder: share one cache for the session instead. Its key is the
    data config and the fixed recipe, so each test gets the classifier it would have trained
    (tests/test_metrics.py trains and caches it for real)."""
    from wgan_repro import metrics
    from wgan_repro.experiments import quality

    folder = tmp_path_factory.mktemp("classifier_cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(quality, "load_or_train_classifier",
                      lambda data, data_cfg, _: metrics.load_or_train_classifier(data, data_cfg,
                                                                                 folder))
        yield


def _smoke(results_dir: Path, *overrides: str):
    return hydra_runner.compose(
        ["scale=smoke", f"results_dir={results_dir}", "progress=none", *overrides])


@pytest.fixture
def compose(tmp_path):
    """compose(*overrides) -> a smoke-scale config writing under tmp_path."""
    return lambda *overrides: _smoke(tmp_path / "results", *overrides)


@pytest.fixture(scope="session")
def fig2_smoke_shared(tmp_path_factory):
    """(cfg, run): one smoke seed of fig2.run (epochs 1 and 2: the smoke tier's), made once
    for the whole session. Read it, never write into its folder: a test that reruns,
    extends or aggregates takes ``fig2_smoke`` instead."""
    from wgan_repro.experiments import fig2

    cfg = _smoke(tmp_path_factory.mktemp("fig2_smoke") / "results", "experiment=fig2")
    return cfg, fig2.run(cfg)


def _moved(value, old: str, new: str):
    if isinstance(value, str):
        return new + value[len(old):] if value.startswith(old) else value
    if isinstance(value, list):
        return [_moved(v, old, new) for v in value]
    return value


@pytest.fixture
def fig2_smoke(fig2_smoke_shared, tmp_path):
    """(cfg, run) of the shared smoke fig2 run, copied into this test's tmp_path/results (the
    folder ``compose`` writes to), every path in cfg and run pointing into the copy."""
    cfg, run = fig2_smoke_shared
    old, new = str(cfg.results_dir), str(tmp_path / "results")
    shutil.copytree(old, new)
    copy = cfg.copy()
    copy.results_dir = new
    return copy, {key: _moved(value, old, new) for key, value in run.items()}


@contextmanager
def warnings_printed_as_by_the_command():
    """pytest records warnings; the installed command prints them on stderr (Python's default
    filters), where the user sees them next to the error line."""

    def print_warning(message, category, filename, lineno, file=None, line=None):
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    with warnings.catch_warnings():
        warnings.resetwarnings()
        for hidden in (DeprecationWarning, PendingDeprecationWarning, ImportWarning,
                       ResourceWarning):
            warnings.simplefilter("ignore", hidden)
        warnings.showwarning = print_warning
        yield


def run_main(monkeypatch, capsys, *args):
    """Call the real entry point (with its error handling) in-process: (exit code, stdout,
    stderr), warnings on stderr as the installed command prints them."""
    monkeypatch.setattr(sys, "argv", ["wgan-repro", *args])
    with pytest.raises(SystemExit) as exit_info, warnings_printed_as_by_the_command():
        cli.main()
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def plan_for(name: str, cfg, **context):
    """The Plan an experiment's aggregation reads, for a job config a test ran by hand."""
    from wgan_repro.plans import Plan

    return Plan(name, cfg, [], [cfg.seed], context)


def conclude(name: str, plan, runs) -> dict:
    """plans.conclude for the registry's experiment ``name``: aggregate, judge, draw."""
    from wgan_repro import plans, registry

    return plans.conclude(registry.get(name), plan, runs)
