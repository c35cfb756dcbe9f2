"""The expected time each verb prints before it starts (wgan_repro.eta, issue #23): step
counts by hand, the jobs shared out over workers, the per-machine cache, and auto's choice of
launcher from the two estimates."""

from __future__ import annotations

import pytest
from conftest import run_main

from wgan_repro import eta, hydra_runner, plans, registry


class FakeTimer:
    """One critic step 1 s, one generator step 0.1 s, any other kind 0.01 s."""

    def critic_step(self, cfg) -> float:
        return 1.0

    def generator_step(self, cfg) -> float:
        return 0.1

    def seconds(self, kind, key, run_steps) -> float:
        return 0.01


def test_a_train_run_counts_the_reference_warm_up_and_n_critic():
    cfg = hydra_runner.compose(["objective=wgan_clip", "train.iterations=30"])
    # 25 warm-up generator iterations of 100 critic steps, then 5 of n_critic = 5
    assert eta.train_loop_seconds(cfg, FakeTimer()) == pytest.approx(2525 * 1.0 + 30 * 0.1)
    cfg = hydra_runner.compose(["objective=gan_nonsaturating", "train.iterations=30"])
    assert eta.train_loop_seconds(cfg, FakeTimer()) == pytest.approx(30 * 1.0 + 30 * 0.1)


def test_fig2_counts_the_dcgan_the_discriminators_and_their_measurements():
    from wgan_repro.experiments import fig2

    cfg = hydra_runner.compose(["experiment=fig2", "scale=smoke", "fig2.epochs=[1,2]",
                                "results_dir=/tmp/unused"])
    f = cfg.fig2
    from wgan_repro.data import load_dataset

    batches = load_dataset(cfg.data).n_train // cfg.train.batch_size
    assert batches >= 1
    dcgan = 2 * batches * (1.0 + 0.1)  # epochs 1 and 2 of the GAN: one critic step each
    points = f.d_iters // f.measure_every + 1
    snapshot = f.d_iters * 1.0 + (2 * points * f.grad_batches + 2 * f.update_steps) * 0.1
    assert fig2.expected_seconds(cfg, FakeTimer()) == pytest.approx(dcgan + 2 * snapshot)
    without = fig2.expected_seconds(cfg, FakeTimer(), update_quality=False)
    assert without == pytest.approx(dcgan + 2 * (snapshot - 2 * f.update_steps * 0.1))


def test_jobs_go_longest_first_to_the_least_loaded_worker(monkeypatch, tmp_path):
    monkeypatch.setenv("WGAN_REPRO_CACHE", str(tmp_path))
    costs = iter([3.0, 2.0, 2.0])

    def expected(cfg, timer):
        return next(costs)

    assert eta.estimate(expected, [None] * 3, parallel=2, threads=1).seconds == 4.0
    costs = iter([3.0, 2.0, 2.0])
    assert eta.estimate(expected, [None] * 3, parallel=1, threads=2).seconds == 7.0


def test_step_times_are_cached_per_machine_unless_the_cores_were_busy(monkeypatch, tmp_path):
    monkeypatch.setenv("WGAN_REPRO_CACHE", str(tmp_path))
    monkeypatch.setattr(eta, "_load_per_core", lambda: 0.0)
    calls = []
    first = eta.StepTimer(threads=1).seconds("kind", {"a": 1}, calls.append)
    assert first > 0 and calls and (tmp_path / "calibration.json").exists()
    calls.clear()
    assert eta.StepTimer(threads=1).seconds("kind", {"a": 1}, calls.append) == first
    assert calls == []  # from the cache: nothing timed
    eta.StepTimer(threads=2).seconds("kind", {"a": 1}, calls.append)
    assert calls  # another thread count is another time
    monkeypatch.setattr(eta, "_load_per_core", lambda: 1.0)
    calls.clear()
    eta.StepTimer(threads=1).seconds("kind", {"a": 2}, calls.append)
    assert calls and '"a": 2' not in (tmp_path / "calibration.json").read_text()


def test_a_real_step_is_timed_within_the_budget(monkeypatch, tmp_path):
    monkeypatch.setenv("WGAN_REPRO_CACHE", str(tmp_path))
    cfg = hydra_runner.compose(["scale=smoke", "device=cpu"])
    timer = eta.StepTimer(threads=1)
    assert 0 < timer.critic_step(cfg) < 1 and 0 < timer.generator_step(cfg) < 1
    assert timer.spent_s <= eta.CALIBRATION_BUDGET_S + 1


@pytest.mark.parametrize("name", list(registry.EXPERIMENTS))
def test_every_experiment_estimates_its_jobs_at_the_cpu_tier(name):
    """Its estimate resolves and gives a positive time for every job the cpu tier plans."""
    experiment = registry.get(name)
    expected = registry.resolve(experiment.expected)
    plan = plans.resolve(experiment.plan)(["device=cpu", "results_dir=/tmp/unused-eta"])
    assert plan.job_cfgs and len(plan.job_cfgs) == len(plan.jobs)
    assert all(expected(cfg, FakeTimer()) > 0 for cfg in plan.job_cfgs)


def test_auto_takes_the_launcher_with_the_shorter_expected_time(monkeypatch):
    """3 equal jobs on 2 cores: joblib runs the third alone on one thread, so when two threads
    are nearly twice as fast as one, basic finishes first."""
    monkeypatch.setattr(plans, "cpu_count", lambda: 2)
    one_thread = {1: 10.0, 2: 5.5}  # seconds a job at 1 and 2 threads

    def fake_estimate(expected, job_cfgs, parallel, threads):
        per_job = one_thread[threads]
        return eta.Estimate(per_job * -(-len(job_cfgs) // parallel), len(job_cfgs), parallel, 0)

    monkeypatch.setattr(eta, "estimate", fake_estimate)
    plan = plans.resolve(registry.get("toy").plan)(["device=cpu"])
    launcher, estimate, why = plans.resolve_launcher("auto", [("", plan)], 3, registry.get("toy"))
    assert launcher == "basic" and estimate.seconds == 16.5 and "1.21x" in why
    one_thread[2] = 9.0  # threads barely help: two processes win
    launcher, estimate, _ = plans.resolve_launcher("auto", [("", plan)], 3, registry.get("toy"))
    assert launcher == "joblib" and estimate.seconds == 20.0


def test_a_verb_prints_its_expected_time(monkeypatch, capsys, tmp_path):
    code, out, _ = run_main(monkeypatch, capsys, "toy", "--scale", "smoke", "--results",
                            str(tmp_path), "progress=none")
    assert code == 0 and "expected time on this machine" in out


def _finish(run_dir, gen_iters, diverged=False):
    """The two files a finished train run leaves that train's reuse checks."""
    import json

    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "checkpoints" / "last.pt").write_bytes(b"")
    (run_dir / "summary.json").write_text(json.dumps({"gen_iters": gen_iters,
                                                      "diverged": diverged}))


def test_a_finished_train_run_is_expected_to_cost_nothing(tmp_path):
    from wgan_repro.train import run_dir_for

    cfg = hydra_runner.compose(["objective=gan_nonsaturating", "train.iterations=30",
                                f"results_dir={tmp_path}"])
    assert eta.train_loop_seconds(cfg, FakeTimer()) == pytest.approx(30 * 1.1)
    _finish(run_dir_for(cfg), gen_iters=20)  # stopped short of 30: not finished
    assert eta.train_loop_seconds(cfg, FakeTimer()) == pytest.approx(30 * 1.1)
    (run_dir_for(cfg) / "summary.json").write_text('{"gen_iters": 30, "diverged": false}')
    assert eta.train_loop_seconds(cfg, FakeTimer()) == 0.0
    (run_dir_for(cfg) / "checkpoints" / "last.pt").unlink()  # a committed run: trained again
    assert eta.train_loop_seconds(cfg, FakeTimer()) == pytest.approx(30 * 1.1)


def test_a_diverged_train_run_is_reused_too(tmp_path):
    from wgan_repro.train import run_dir_for

    cfg = hydra_runner.compose(["objective=gan_nonsaturating", "train.iterations=30",
                                f"results_dir={tmp_path}"])
    _finish(run_dir_for(cfg), gen_iters=12, diverged=True)
    assert eta.train_loop_seconds(cfg, FakeTimer()) == 0.0


def test_fig2_leaves_out_the_snapshots_finished_before(tmp_path):
    from wgan_repro.data import load_dataset
    from wgan_repro.experiments import fig2

    cfg = hydra_runner.compose(["experiment=fig2", "scale=smoke", "fig2.epochs=[1,2]",
                                f"results_dir={tmp_path}"])
    f = cfg.fig2
    batches = load_dataset(cfg.data).n_train // cfg.train.batch_size
    points = f.d_iters // f.measure_every + 1
    snapshot = f.d_iters * 1.0 + (2 * points * f.grad_batches + 2 * f.update_steps) * 0.1
    dcgan = 2 * batches * 1.1
    assert fig2.expected_seconds(cfg, FakeTimer()) == pytest.approx(dcgan + 2 * snapshot)
    seed_dir = fig2.seed_dir_for(cfg, fig2.snapshot_run_config(cfg, batches))
    seed_dir.mkdir(parents=True)
    for name in ("epoch_001.csv", "epoch_001_discriminator.pt"):
        (seed_dir / name).write_bytes(b"")
    # trained but not probed: fig2 still has epoch 1's update-quality steps to take
    assert fig2.expected_seconds(cfg, FakeTimer()) == pytest.approx(dcgan + 2 * snapshot)
    without_probe = dcgan + snapshot - 2 * f.update_steps * 0.1  # probe noise's view: done
    assert fig2.expected_seconds(cfg, FakeTimer(), update_quality=False) == pytest.approx(
        without_probe)
    fig2.update_quality_path(cfg, seed_dir, 1).write_bytes(b"")
    assert fig2.expected_seconds(cfg, FakeTimer()) == pytest.approx(dcgan + snapshot)
    from wgan_repro.train import run_dir_for

    _finish(run_dir_for(fig2.snapshot_run_config(cfg, batches)), 2 * batches)  # the DCGAN
    assert fig2.expected_seconds(cfg, FakeTimer()) == pytest.approx(snapshot)


def test_the_printed_line_says_how_many_jobs_are_already_done(monkeypatch, tmp_path):
    monkeypatch.setenv("WGAN_REPRO_CACHE", str(tmp_path))
    costs = iter([3.0, 0.0, 2.0])
    result = eta.estimate(lambda cfg, timer: next(costs), [None] * 3, parallel=2, threads=1)
    assert result.done == 1 and result.seconds == 3.0
    assert "for 3 jobs (1 already done), 2 at a time, the rest from scratch" in eta.describe(result)
    fresh = eta.estimate(lambda cfg, timer: 1.0, [None] * 3, parallel=2, threads=1)
    assert "for 3 jobs, 2 at a time, from scratch" in eta.describe(fresh)
    everything = eta.estimate(lambda cfg, timer: 0.0, [None] * 3, parallel=2, threads=1)
    assert "none, every one of the 3 jobs finished before" in eta.describe(everything)


def test_auto_with_every_job_finished_before_takes_basic(monkeypatch):
    """Nothing left to run (both estimates 0 s): no ratio to compare, one process reuses all."""
    monkeypatch.setattr(plans, "cpu_count", lambda: 2)
    monkeypatch.setattr(eta, "estimate", lambda expected, job_cfgs, parallel, threads:
                        eta.Estimate(0.0, len(job_cfgs), parallel, 0, 0.0, len(job_cfgs)))
    plan = plans.resolve(registry.get("toy").plan)(["device=cpu"])
    launcher, estimate, why = plans.resolve_launcher("auto", [("", plan)], 3, registry.get("toy"))
    assert launcher == "basic" and estimate.seconds == 0.0 and "finished before" in why
