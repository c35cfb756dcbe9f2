"""Shared fixtures and helpers: configs composed from the real config tree, shrunk to
scale=smoke; ``run_main``, the real entry point called in-process (``from conftest import
run_main``)."""

from __future__ import annotations

import sys
import warnings
from contextlib import contextmanager

import pytest
import torch

from wgan_repro import cli, hydra_runner


@pytest.fixture(autouse=True)
def _few_threads():
    # Two cores in CI: keep every test on one thread set-up, and deterministic.
    torch.set_num_threads(2)


@pytest.fixture
def compose(tmp_path):
    """compose(*overrides) -> a smoke-scale config writing under tmp_path."""

    def _compose(*overrides: str):
        return hydra_runner.compose(
            ["scale=smoke", f"results_dir={tmp_path / 'results'}", "progress=none", *overrides]
        )

    return _compose


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
