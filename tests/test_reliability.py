"""Reliability: atomic writes, locks between concurrent runs, and divergence as a result.

(Resume after kill -9 and Ctrl-C: test_kill_resume.py; bad input: test_bad_input.py.)
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import run_main  # the real entry point, in-process

from wgan_repro import train as train_module
from wgan_repro.claims import all_claims
from wgan_repro.errors import ResultsError
from wgan_repro.experiments import fig2
from wgan_repro.objectives import build_objective
from wgan_repro.results import locked, write_text, write_with
from wgan_repro.train import run_dir_for, train

FIG2_CLAIMS = [c for c in all_claims() if c.experiment == "fig2"]


# ---- atomic writes -------------------------------------------------------------------------------
@pytest.mark.parametrize("failure", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, failure):
    path = tmp_path / "metrics.csv"
    write_text(path, "gen_iter\n1\n")

    def half_then_fail(tmp: Path) -> None:
        tmp.write_text("gen_iter\n1\n2\n3")  # truncated mid-row
        raise failure

    with pytest.raises(type(failure)):
        write_with(path, half_then_fail)
    assert path.read_text() == "gen_iter\n1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.csv"]


def test_an_unwritable_target_is_a_results_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ResultsError, match="a parent path is a file"):
        write_text(tmp_path / "file" / "summary.json", "{}")


def test_a_run_removes_the_temporaries_a_killed_writer_left(compose):
    cfg = compose("train.iterations=3")
    train(cfg)
    stale = run_dir_for(cfg) / "checkpoints" / ".last.pt.abc123.tmp"
    stale.write_bytes(b"half a checkpoint")
    train(cfg)  # reuses the finished run, and tidies its folder under the run's lock
    assert not stale.exists()


# ---- locks ---------------------------------------------------------------------------------------
HOLD_LOCK = """
import sys, time
from wgan_repro.results import locked
with locked(sys.argv[1], "test"):
    print("held", flush=True)
    time.sleep(120)
"""


@pytest.mark.slow  # kill -9 of a child process
def test_a_lock_waits_for_its_holder_and_kill_9_releases_it(tmp_path, capsys):
    lock = tmp_path / "run" / ".lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(lock)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        killer = threading.Timer(1.0, lambda: os.kill(holder.pid, signal.SIGKILL))
        killer.start()
        started = time.monotonic()
        with locked(lock, "run folder X"):
            waited = time.monotonic() - started
        killer.join()
    finally:
        holder.kill()
        holder.wait()
    assert waited >= 0.9  # it waited for the holder, and got the lock once the holder died
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "waiting: run folder X is in use by another wgan-repro" in err


def test_a_lock_is_reentrant_within_one_process(tmp_path, capsys):
    lock = tmp_path / ".lock"
    with locked(lock, "outer"), locked(lock, "inner"):
        pass
    assert capsys.readouterr().err == ""


def _fig2(results: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "wgan_repro", "fig2", "--scale", "smoke", "--epochs", "1,2",
            "--seed", "0", "--results", str(results), "progress=none", "threads=1", *extra]


@pytest.mark.slow  # two processes, two runs each
def test_two_runs_at_once_on_one_results_folder_equal_one_run_alone(tmp_path):
    """Two identical fig2 commands and a probe noise (which shares fig2's snapshot run) start
    together on one folder: all succeed, and fig2's files equal those of a run alone."""
    alone, shared = tmp_path / "alone", tmp_path / "shared"
    subprocess.run(_fig2(alone), check=True, capture_output=True, timeout=300)
    (dcgan_run,) = (alone / "fig2" / "dcgan").iterdir()
    probe = [sys.executable, "-m", "wgan_repro", "probe", "noise", "--scale", "smoke", "--seed",
             "0", "--results", str(shared), "fig2.epochs=[1,2]", "progress=none", "threads=1"]
    stderr = [tmp_path / f"stderr{i}.txt" for i in range(3)]
    # Hold the shared DCGAN run's lock until all three are queued on it, so they truly overlap.
    with locked(shared / "fig2" / "dcgan" / dcgan_run.name / ".lock", "test"):
        procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=path.open("w"))
                 for cmd, path in zip((_fig2(shared), _fig2(shared), probe), stderr, strict=True)]
        deadline = time.monotonic() + 240
        while not all("waiting: run folder" in p.read_text() for p in stderr):
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), \
                [p.read_text() for p in stderr]
            time.sleep(0.1)
    for proc, path in zip(procs, stderr, strict=True):
        assert proc.wait(timeout=600) == 0, path.read_text()
    for name in ("grad_norms.csv", "summary.json"):
        assert (shared / "fig2" / name).read_bytes() == (alone / "fig2" / name).read_bytes()
    claims = pd.read_csv(shared / "claims.csv")
    assert sorted(claims["experiment"]) == ["fig2"] * len(FIG2_CLAIMS) + ["probe_noise"]
    assert list(shared.rglob("*.tmp")) == []


# ---- divergence is a result, not a crash ------------------------------------------------------------
def _poison(monkeypatch, at_call: int, only=lambda objective_cfg: True):
    """Make the generator's loss NaN on its ``at_call``-th call in every run ``only`` picks."""

    def build(objective_cfg):
        objective = build_objective(objective_cfg)
        if not only(objective_cfg):
            return objective
        calls = {"n": 0}

        def generator_loss(out):
            calls["n"] += 1
            loss = objective.generator_loss(out)
            return loss * float("nan") if calls["n"] == at_call else loss

        return type(objective)(**{**objective.__dict__, "generator_loss": generator_loss})

    monkeypatch.setattr(train_module, "build_objective", build)


def test_a_diverged_gan_run_is_recorded_and_ablate_goes_on(monkeypatch, capsys, tmp_path):
    _poison(monkeypatch, at_call=5, only=lambda o: o.loss != "wasserstein")  # the GAN arm
    results = tmp_path / "results"
    code, out, err = run_main(monkeypatch, capsys, "ablate", "--no-bn", "--scale", "smoke",
                              "--seed", "0", "--results", str(results), "progress=none")
    assert code == 0, err
    frame = pd.read_csv(results / "ablate" / "metrics.csv")
    gan, wgan = frame[frame["arm"] == "gan"], frame[frame["arm"] == "wgan"]
    assert gan["diverged"].tolist() == [True] and gan["gen_iters"].tolist() == [5]
    assert not wgan["diverged"].any() and wgan["emd"].notna().all()  # the other arm ran on
    summary = json.loads((results / "ablate" / "summary.json").read_text())
    assert summary["variants"]["no_bn"]["final"]["gan"]["diverged_seeds"] == 1
    (gan_run,) = (results / "ablate").glob("gan_nonsaturating-*/summary.json")
    assert json.loads(gan_run.read_text())["status"] == "diverged"
    assert (results / "ablate" / "fig6_no_bn.pdf").read_bytes().startswith(b"%PDF")


def test_a_seed_whose_dcgan_diverges_is_left_out_and_fig2_goes_on(monkeypatch, capsys, tmp_path):
    seed_in_training = {}
    real_train = fig2.train

    def train_noting_the_seed(cfg, *args, **kwargs):
        seed_in_training["seed"] = cfg.seed
        return real_train(cfg, *args, **kwargs)

    monkeypatch.setattr(fig2, "train", train_noting_the_seed)
    _poison(monkeypatch, at_call=3, only=lambda o: seed_in_training.get("seed") == 1)
    results = tmp_path / "results"
    code, out, err = run_main(monkeypatch, capsys, "fig2", "--scale", "smoke", "--epochs", "1,2",
                              "--seeds", "0,1", "--results", str(results), "progress=none")
    assert code == 0, err
    frame = pd.read_csv(results / "fig2" / "grad_norms.csv")
    assert set(frame["seed"]) == {0} and set(frame["epoch"]) == {1, 2}
    summary = json.loads((results / "fig2" / "summary.json").read_text())
    assert summary["diverged_dcgan"] == {"1": 3}
    claims = pd.read_csv(results / "claims.csv", keep_default_na=False)
    assert len(claims) == len(FIG2_CLAIMS)
    assert claims["source"].str.contains("DCGAN diverged: seed 1 at generator iteration 3").all()
    # seed 0 is still measured and judged; one seed alone decides no claim over trained networks
    assert not claims["reason"].str.contains("every seed's DCGAN diverged").any()
    fig1 = claims.set_index("claim_id").loc["p1_fig1_perfect_discriminator"]
    assert fig1["verdict"] == "inconclusive" and "1 seed (needs >= 3)" in fig1["reason"]
    seeds = pd.read_csv(results / "claims_seeds.csv", keep_default_na=False, dtype=str)
    fig1_seeds = seeds[seeds["claim_id"] == "p1_fig1_perfect_discriminator"]
    assert set(fig1_seeds["seed"]) == {"0"} and set(fig1_seeds["passes"]) <= {"True", "False"}


def test_when_every_dcgan_diverges_fig2_claims_are_inconclusive(monkeypatch, capsys, tmp_path):
    _poison(monkeypatch, at_call=2)
    results = tmp_path / "results"
    code, out, err = run_main(monkeypatch, capsys, "fig2", "--scale", "smoke", "--epochs", "1,2",
                              "--seed", "0", "--results", str(results), "progress=none")
    assert code == 0, err
    claims = pd.read_csv(results / "claims.csv")
    assert claims["verdict"].tolist() == ["inconclusive"] * len(FIG2_CLAIMS)
    assert claims["reason"].str.contains("every seed's DCGAN diverged").all()
    assert pd.read_csv(results / "fig2" / "grad_norms.csv").empty


def test_when_the_dcgan_diverges_probe_noise_is_inconclusive(monkeypatch, capsys, tmp_path):
    _poison(monkeypatch, at_call=2)
    results = tmp_path / "results"
    code, out, err = run_main(monkeypatch, capsys, "probe", "noise", "--scale", "smoke",
                              "--seed", "0", "--results", str(results), "fig2.epochs=[1,2]",
                              "progress=none")
    assert code == 0, err
    claims = pd.read_csv(results / "claims.csv")
    assert claims["verdict"].tolist() == ["inconclusive"]
    assert "seed 0 at generator iteration 2" in claims["source"][0]
    summary = json.loads((results / "probe_noise" / "summary.json").read_text())
    assert summary["diverged_dcgan"] == {"0": 2}
