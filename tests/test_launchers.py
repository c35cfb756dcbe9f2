"""Seeds, sweeps and launchers: Hydra multirun driven from the CLI (basic, joblib,
submitit_local), sweep expansion, thread sharing, timings and configs recorded per experiment.

hydra_runner.launch uses Hydra's internal API (pinned to hydra-core 1.3): these tests are
what tells us when an upgrade breaks it.
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import run_main

from wgan_repro import hydra_runner, plans, registry
from wgan_repro.errors import ConfigError
from wgan_repro.results import FIG2_COLUMNS, TIMINGS_COLUMNS, read_csv

FIG2_SMOKE = ("fig2", "--scale", "smoke", "--epochs", "1,2")


def test_sweeps_expand_to_the_cartesian_product_in_hydra_order():
    points = hydra_runner.expand_sweeps(["optim.lr=1e-4,2e-4", "scale=smoke", "seed=range(0,2)",
                                         "fig2.epochs=[1,2]"])
    assert points == [
        ["optim.lr=0.0001", "scale=smoke", "seed=0", "fig2.epochs=[1,2]"],
        ["optim.lr=0.0001", "scale=smoke", "seed=1", "fig2.epochs=[1,2]"],
        ["optim.lr=0.0002", "scale=smoke", "seed=0", "fig2.epochs=[1,2]"],
        ["optim.lr=0.0002", "scale=smoke", "seed=1", "fig2.epochs=[1,2]"],
    ]
    assert hydra_runner.expand_sweeps(["scale=smoke"]) == [["scale=smoke"]]


def test_a_malformed_override_is_a_config_error():
    with pytest.raises(ConfigError, match="mismatched|no viable|token"):
        hydra_runner.expand_sweeps(["optim.lr=1e-4,,"])


@pytest.mark.parametrize("launcher,n_jobs,cores,launch,job", [
    ("basic", 4, 2, [], []),
    ("joblib", 4, 2, ["hydra.launcher.n_jobs=2"], ["threads=1", "data.num_workers=0"]),
    ("joblib", 1, 8, ["hydra.launcher.n_jobs=1"], ["threads=8", "data.num_workers=0"]),
    ("joblib", 3, 8, ["hydra.launcher.n_jobs=3"], ["threads=2", "data.num_workers=0"]),
    ("submitit_local", 2, 2, ["hydra.launcher.timeout_min=10080"], ["threads=1"]),
    ("submitit_slurm", 2, 64, [], []),
])
def test_parallel_jobs_share_the_cores(monkeypatch, launcher, n_jobs, cores, launch, job):
    monkeypatch.setattr(plans, "cpu_count", lambda: cores)
    assert plans.launcher_settings(launcher, n_jobs, [], []) == (launch, job)


def _plan(tier: str, device: str = "cpu") -> list[tuple[str, plans.Plan]]:
    from omegaconf import OmegaConf

    cfg = OmegaConf.create({"tier": tier, "device": device, "results_dir": "results"})
    return [("", plans.Plan("fig2", cfg, [["seed=0"], ["seed=1"]], [0, 1]))]


@pytest.mark.parametrize("launcher,tier,device,n_jobs,cores,expected", [
    ("auto", "cpu", "cpu", 3, 2, "joblib"),  # issue #23: the cpu tier's multi-job default
    ("auto", "cpu", "cpu", 1, 2, "basic"),  # one job: nothing to run side by side
    ("auto", "cpu", "cpu", 3, 1, "basic"),  # one core: nothing to share out
    ("auto", "smoke", "cpu", 3, 2, "basic"),  # short tiers: process start-up would dominate
    ("auto", "quick", "cpu", 3, 2, "basic"),
    ("auto", "cpu", "cuda", 3, 2, "basic"),  # one GPU: jobs one after another
    ("basic", "cpu", "cpu", 3, 2, "basic"),  # --launcher basic keeps today's behaviour
    ("submitit_slurm", "cpu", "cpu", 3, 2, "submitit_slurm"),
])
def test_auto_picks_joblib_only_for_several_cpu_tier_jobs_on_several_cores(
        monkeypatch, launcher, tier, device, n_jobs, cores, expected):
    monkeypatch.setattr(plans, "cpu_count", lambda: cores)
    assert plans.resolve_launcher(launcher, _plan(tier, device), n_jobs)[0] == expected


def test_auto_falls_back_to_basic_without_the_joblib_plugin(monkeypatch):
    monkeypatch.setattr(plans, "cpu_count", lambda: 2)
    monkeypatch.setattr(hydra_runner, "plugin_installed", lambda module: False)
    assert plans.resolve_launcher("auto", _plan("cpu"), 3)[0] == "basic"


def test_the_cpu_tier_records_the_launcher_auto_chose(monkeypatch):
    """What --show-config prints: the launcher auto resolved to, before anything runs."""
    monkeypatch.setattr(plans, "cpu_count", lambda: 2)
    lines = []
    plans.execute(registry.get("toy"), ["device=cpu"], "auto", show_config=True,
                  echo=lines.append)
    assert any("with the joblib launcher" in line for line in lines)


def test_what_the_user_sets_for_the_launcher_is_kept(monkeypatch):
    monkeypatch.setattr(plans, "cpu_count", lambda: 2)
    launch, job = plans.launcher_settings("joblib", 4, ["hydra.launcher.n_jobs=1"], ["threads=2"])
    assert launch == [] and job == ["data.num_workers=0"]
    launch, job = plans.launcher_settings("submitit_slurm", 4, ["hydra.launcher.cpus_per_task=8"],
                                          [])
    assert job == ["threads=8"]


def _grad_norms(results) -> pd.DataFrame:
    return read_csv(results / "fig2" / "grad_norms.csv", FIG2_COLUMNS)


@pytest.mark.slow  # the launcher matrix: process start-up per launcher
@pytest.mark.parametrize("launcher", ["joblib", "submitit_local"])
def test_a_two_seed_sweep_runs_in_parallel_processes_and_is_aggregated(
        monkeypatch, capsys, tmp_path, launcher):
    results = tmp_path / launcher
    code, out, err = run_main(monkeypatch, capsys, *FIG2_SMOKE, "--seeds", "0,1", "--launcher",
                              launcher, "--results", str(results))
    assert code == 0, err
    assert f"fig2: launching 2 jobs with the {launcher} launcher" in out
    frame = _grad_norms(results)
    assert sorted(frame["seed"].unique()) == [0, 1]
    assert sorted(frame["epoch"].unique()) == [1, 2]
    claims = pd.read_csv(results / "claims.csv", keep_default_na=False)
    assert (claims["experiment"] == "fig2").sum() == 5  # P1 Fig. 1, 2 and three of Fig. 3
    assert "seeds 0,1" in claims["source"].iloc[0]
    timings = read_csv(results / "timings.csv", TIMINGS_COLUMNS)
    assert timings.iloc[0]["launcher"] == launcher and timings.iloc[0]["jobs"] == 2
    assert (results / "fig2" / "config.yaml").is_file()
    assert (results / "fig2" / "fig2_grad_norm_original.pdf").is_file()


@pytest.mark.slow  # joblib worker processes: ~12 s each on 2 cores
def test_the_launcher_does_not_change_the_numbers(monkeypatch, capsys, tmp_path):
    """Same seeds and thread count in-process and in joblib workers: identical CSVs."""
    for launcher in ("basic", "joblib"):
        code, _, err = run_main(monkeypatch, capsys, *FIG2_SMOKE, "--seeds", "0,1", "threads=1",
                                "--launcher", launcher, "--results", str(tmp_path / launcher))
        assert code == 0, err
    pd.testing.assert_frame_equal(_grad_norms(tmp_path / "basic"), _grad_norms(tmp_path / "joblib"))


@pytest.mark.slow  # joblib worker processes: ~12 s each on 2 cores
def test_seeds_times_a_parameter_sweep_runs_four_jobs(monkeypatch, capsys, tmp_path):
    """The issue's acceptance command: 2 seeds x 2 learning rates = 4 jobs, one results
    folder per sweep point, each aggregating its two seeds."""
    code, out, err = run_main(monkeypatch, capsys, *FIG2_SMOKE, "--seeds", "0,1",
                              "optim.lr=1e-4,2e-4", "--results", str(tmp_path))
    assert code == 0, err
    assert "fig2: launching 4 jobs with the basic launcher over 2 sweep points" in out
    for lr in ("0.0001", "0.0002"):
        point = tmp_path / "sweeps" / f"optim.lr={lr}"
        assert f"sweep point optim.lr={lr}" in out
        assert sorted(_grad_norms(point)["seed"].unique()) == [0, 1]
        assert f"lr: {lr}" in (point / "fig2" / "config.yaml").read_text()
    frames = [_grad_norms(tmp_path / "sweeps" / f"optim.lr={lr}") for lr in ("0.0001", "0.0002")]
    assert not frames[0]["grad_norm_original"].equals(frames[1]["grad_norm_original"])


def test_show_config_counts_the_jobs_and_runs_nothing(monkeypatch, capsys, tmp_path):
    code, out, _ = run_main(monkeypatch, capsys, *FIG2_SMOKE, "--seeds", "0,1",
                            "optim.lr=1e-4,2e-4", "--show-config", "--results", str(tmp_path))
    assert code == 0
    assert out.count("# sweep point optim.lr=") == 2 and "lr: 0.0002" in out
    assert "# 4 jobs with the basic launcher; nothing was run" in out
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_a_failing_job_is_one_line_with_its_exit_code(monkeypatch, capsys, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run_main(monkeypatch, capsys, "train", "--scale", "smoke", "--launcher",
                            "joblib", "data=image_folder", f"data.root={empty}", "--results",
                            str(tmp_path / "r"))
    assert code == 3
    assert len(err.strip().splitlines()) == 1 and str(empty) in err


def test_seed_lists_go_through_seeds_not_a_seed_sweep(monkeypatch, capsys, tmp_path):
    code, _, err = run_main(monkeypatch, capsys, *FIG2_SMOKE, "seed=0,1", "--results",
                            str(tmp_path))
    assert code == 2 and "--seeds" in err


def test_train_seeds_are_separate_runs(monkeypatch, capsys, tmp_path):
    code, out, err = run_main(monkeypatch, capsys, "train", "--scale", "smoke", "--seeds", "0,1",
                              "train.iterations=2", "--results", str(tmp_path))
    assert code == 0, err
    assert "train: launching 2 jobs" in out
    assert len(list((tmp_path / "train").glob("*/metrics.csv"))) == 2


def test_an_unknown_launcher_is_a_usage_error(monkeypatch, capsys, tmp_path):
    code, _, err = run_main(monkeypatch, capsys, *FIG2_SMOKE, "--launcher", "mpi")
    assert code == 2 and "--launcher" in err


@pytest.mark.parametrize("cuda,mps,name,expected", [
    (True, True, "auto", "cuda"),
    (False, True, "auto", "mps"),
    (False, False, "auto", "cpu"),
    (True, True, "cpu", "cpu"),
    (True, False, "cuda:1", "cuda:1"),
])
def test_device_is_cuda_then_mps_then_cpu_unless_chosen(monkeypatch, cuda, mps, name, expected):
    import torch

    from wgan_repro.runtime import select_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert str(select_device(name)) == expected


def test_an_unknown_device_is_a_config_error(compose):
    from wgan_repro.schema import validate

    with pytest.raises(ConfigError, match="device must be auto, cpu, cuda"):
        validate(compose("device=tpu"))
