"""kill -9 in the middle of a run, rerun the same command: the same numbers as an
uninterrupted run (only the wall-clock column differs)."""

import os
import signal
import subprocess
import sys
import time

import pandas as pd


def _command(results, name):
    return [sys.executable, "-m", "wgan_repro", "train", "--scale", "smoke", "--results",
            str(results), f"run_name={name}", "train.iterations=200", "train.checkpoint_every=25",
            "train.sample_every=100", "progress=none"]


def test_kill_9_then_rerun_equals_uninterrupted(tmp_path):
    subprocess.run(_command(tmp_path, "whole"), check=True, capture_output=True, timeout=300)

    metrics = tmp_path / "train" / "cut" / "metrics.csv"
    proc = subprocess.Popen(_command(tmp_path, "cut"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:  # wait for the second checkpoint (50 rows)
        if metrics.exists() and len(pd.read_csv(metrics)) >= 50:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    rows_at_kill = len(pd.read_csv(metrics))  # a complete CSV, never a truncated one
    assert 50 <= rows_at_kill < 200

    subprocess.run(_command(tmp_path, "cut"), check=True, capture_output=True, timeout=300)
    numbers = ["gen_iter", "critic_iters", "critic_loss", "generator_loss", "wasserstein_estimate"]
    whole = pd.read_csv(tmp_path / "train" / "whole" / "metrics.csv")[numbers]
    cut = pd.read_csv(metrics)[numbers]
    pd.testing.assert_frame_equal(whole, cut)
