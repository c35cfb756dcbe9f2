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
