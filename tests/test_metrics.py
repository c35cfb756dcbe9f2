"""Quality measures against hand-computed values; the classifier is trained once and cached."""

import math

import numpy as np
import pytest
import torch

from wgan_repro import metrics
from wgan_repro.data import load_dataset, mixture_centers, to_unit_range


def test_emd_of_identical_sets_is_zero():
    x = torch.randn(50, 3, 4, 4)
    assert metrics.exact_emd(x, x.clone()) == pytest.approx(0.0, abs=1e-6)


def test_emd_two_points_by_hand():
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    y = torch.tensor([[0.0, 1.0], [1.0, 1.0]])
    assert metrics.exact_emd(x, y) == pytest.approx(1.0)
    # unequal sizes: each of 2 points carries 1/2, the single point all of it
    assert metrics.exact_emd(x, torch.tensor([[0.5, 0.0]])) == pytest.approx(0.5)


@pytest.mark.parametrize("theta", [-0.8, -0.1, 0.3, 1.0])
def test_emd_of_parallel_lines_is_abs_theta(theta):
    u = torch.rand(400, generator=torch.Generator().manual_seed(1))
    v = torch.rand(400, generator=torch.Generator().manual_seed(2))
    p0 = torch.stack([torch.zeros(400), u], 1)
    p_theta = torch.stack([torch.full((400,), theta), v], 1)
    assert metrics.exact_emd(p0, p_theta) == pytest.approx(abs(theta), abs=0.01)


def test_frechet_distance_closed_forms():
    one_d = metrics.frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([3.0]),
                                     np.array([[9.0]]))
    assert one_d == pytest.approx((1 - 3) ** 2 + 4 + 9 - 2 * 2 * 3)
    rng = np.random.default_rng(0)
    a = rng.normal(size=(6, 6))
    cov = a @ a.T
    mu = rng.normal(size=6)
    assert metrics.frechet_distance(mu, cov, mu, cov) == pytest.approx(0.0, abs=1e-8)
    # a singular covariance (a dead feature) is fine
    cov[0, :] = cov[:, 0] = 0.0
    assert math.isfinite(metrics.frechet_distance(mu, cov, mu + 1, np.eye(6)))


def test_kl_uniform_by_hand():
    assert metrics.kl_uniform(np.full(10, 0.1)) == pytest.approx(0.0)
    assert metrics.kl_uniform(np.eye(10)[3]) == pytest.approx(math.log(10))
    two = np.zeros(10)
    two[[1, 7]] = 0.5
    assert metrics.kl_uniform(two) == pytest.approx(math.log(5))
    skewed = np.array([0.7, 0.2, 0.1] + [0.0] * 7)
    hand = 0.7 * math.log(7) + 0.2 * math.log(2) + 0.1 * math.log(1)
    assert metrics.kl_uniform(skewed) == pytest.approx(hand)


def test_class_histogram():
    hist = metrics.class_histogram(torch.tensor([0, 0, 3, 9]), 10)
    assert hist.tolist() == [0.5, 0, 0, 0.25, 0, 0, 0, 0, 0, 0.25]


def test_mixture_coverage():
    centers = mixture_centers("ring", 8, 1.0)
    gen = torch.Generator().manual_seed(0)
    near = centers[[0, 0, 2, 5]].repeat(25, 1) + 0.005 * torch.randn(100, 2, generator=gen)
    far = torch.full((100, 2), 5.0)
    result = metrics.mixture_coverage(torch.cat([near, far]), centers, std=0.01)
    assert result == {"modes_covered": 3, "high_quality_share": pytest.approx(0.5)}


def test_classifier_is_accurate_and_trained_once(compose, tmp_path, monkeypatch):
    cfg = compose("scale=cpu")
    ds = load_dataset(cfg.data)
    classifier = metrics.load_or_train_classifier(ds, cfg.data, tmp_path)
    assert classifier.heldout_accuracy >= 0.95
    assert classifier.features(to_unit_range(ds.heldout[:7])).shape == (7, 64)
    monkeypatch.setattr(metrics.nn.functional, "cross_entropy",
                        lambda *a, **k: pytest.fail("the cached classifier was retrained"))
    again = metrics.load_or_train_classifier(ds, cfg.data, tmp_path)
    assert again.path == classifier.path and again.heldout_accuracy == classifier.heldout_accuracy
    monkeypatch.undo()
    damaged = bytearray(classifier.path.read_bytes())  # a flipped byte: retrained, not trusted
    damaged[len(damaged) // 2] ^= 0xFF
    classifier.path.write_bytes(bytes(damaged))
    calls, cross_entropy = [], metrics.nn.functional.cross_entropy
    monkeypatch.setattr(metrics.nn.functional, "cross_entropy",
                        lambda *a, **k: calls.append(1) or cross_entropy(*a, **k))
    rebuilt = metrics.load_or_train_classifier(ds, cfg.data, tmp_path)
    assert calls and rebuilt.heldout_accuracy == classifier.heldout_accuracy
    assert metrics.load_or_train_classifier(ds, cfg.data, tmp_path).path == classifier.path
    real = to_unit_range(ds.heldout)
    assert classifier.fcd(real, real) == pytest.approx(0.0, abs=1e-3)  # vs ~100 real-vs-real
    noise = torch.rand_like(real) * 2 - 1
    assert classifier.fcd(noise, real) > 10 * classifier.fcd(to_unit_range(ds.train[:359]), real)
    assert classifier.coverage(real)["classes_covered"] == 10
    assert classifier.coverage(real[ds.heldout_labels == 3])["classes_covered"] <= 2
