"""Shared fixtures: configs composed from the real config tree, shrunk to scale=smoke."""

from __future__ import annotations

import pytest
import torch

from wgan_repro import hydra_runner


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
