"""Interrupt a run in the middle (kill -9 or Ctrl-C), rerun the same command: the same
numbers as an uninterrupted run (only the wall-clock column differs)."""

import os
import shlex
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

pytestmark = pytest.mark.slow  # kill -9 and Ctrl-C of real processes mid-run

NUMBERS = ["gen_iter", "critic_iters", "critic_loss", "generator_loss", "wasserstein_estimate"]
ARGS = ["train", "--scale", "smoke", "train.iterations=120", "train.checkpoint_every=20",
        "train.sample_every=100", "progress=none"]


def _command(results, name, *extra):
    return [sys.executable, "-m", "wgan_repro", *ARGS, *extra, "--results", str(results),
            f"run_name={name}"]


def _whole(results, *extra):
    subprocess.run(_command(results, "whole", *extra), check=True, capture_output=True,
                   timeout=300)
    return pd.read_csv(results / "train" / "whole" / "metrics.csv")[NUMBERS]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    return _whole(tmp_path_factory.mktemp("whole"))


def _interrupt_mid_way(results, sig, *extra):
    """Start the run, send ``sig`` once its second checkpoint (40 rows) is on disk."""
    metrics = results / "train" / "cut" / "metrics.csv"
    # Ctrl-C as in a terminal: a child of a shell without job control inherits SIGINT
    # ignored (and Python then leaves it ignored), so restore the default before exec.
    proc = subprocess.Popen(_command(results, "cut", *extra), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if metrics.exists() and len(pd.read_csv(metrics)) >= 40:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be interrupted"
    os.kill(proc.pid, sig)
    _, err = proc.communicate(timeout=60)
    rows_at_interrupt = len(pd.read_csv(metrics))  # a complete CSV, never a truncated one
    assert 40 <= rows_at_interrupt < 120
    return proc.returncode, err


def _rerun_and_compare(results, uninterrupted, *extra):
    subprocess.run(_command(results, "cut", *extra), check=True, capture_output=True,
                   timeout=300)
    resumed = pd.read_csv(results / "train" / "cut" / "metrics.csv")[NUMBERS]
    pd.testing.assert_frame_equal(uninterrupted, resumed)


def test_kill_9_then_rerun_equals_uninterrupted(tmp_path, uninterrupted):
    code, _ = _interrupt_mid_way(tmp_path, signal.SIGKILL)
    assert code == -signal.SIGKILL
    _rerun_and_compare(tmp_path, uninterrupted)


def test_ctrl_c_says_how_to_resume_exits_130_and_resumes_exactly(tmp_path, uninterrupted):
    code, err = _interrupt_mid_way(tmp_path, signal.SIGINT)
    assert code == 130
    (line,) = err.strip().splitlines()  # one line, no traceback
    rerun = shlex.join(["wgan-repro", *ARGS, "--results", str(tmp_path), "run_name=cut"])
    assert line == ("interrupted: finished work and checkpoints are kept; to resume, rerun: "
                    + rerun)
    _rerun_and_compare(tmp_path, uninterrupted)


def test_wgan_gp_kill_9_then_rerun_equals_uninterrupted(tmp_path):
    """The penalty's interpolation weights come from the run's RNG state: resumed exactly."""
    gp = "objective=wgan_gp"
    whole = _whole(tmp_path / "whole", gp)
    code, _ = _interrupt_mid_way(tmp_path, signal.SIGKILL, gp)
    assert code == -signal.SIGKILL
    _rerun_and_compare(tmp_path, whole, gp)
