"""Sample-quality measures that need no downloaded weights.

- ``exact_emd``: the earth mover's distance (W1, Euclidean ground cost) between two sample
  sets, solved exactly by POT's network simplex (``ot.emd2``); n <= 2000 takes ~1 s.
- ``DigitsClassifier``: a small CNN trained once per dataset configuration on the training
  split and cached under ``results/.cache``; its penultimate layer is the feature space of
  the Fréchet distance (``fcd``) and its predictions give the class histogram for mode
  coverage (``kl_uniform``, ``classes_covered``).
- ``mixture_coverage``: modes covered and share of high-quality samples for 2-D mixtures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from wgan_repro.checkpoint import verified_load
from wgan_repro.errors import CheckpointError
from wgan_repro.results import config_hash, locked, write_with


# ---- distances between sample sets ---------------------------------------------------------------
def exact_emd(x: Tensor | np.ndarray, y: Tensor | np.ndarray, max_iter: int = 10_000_000) -> float:
    """W1 between the empirical distributions of x and y (any shapes, flattened per sample),
    uniform weights, Euclidean ground cost; exact (network simplex)."""
    import ot

    x = np.asarray(torch.as_tensor(x).reshape(len(x), -1).double())
    y = np.asarray(torch.as_tensor(y).reshape(len(y), -1).double())
    cost = ot.dist(x, y, metric="euclidean")
    a, b = np.full(len(x), 1.0 / len(x)), np.full(len(y), 1.0 / len(y))
    return float(ot.emd2(a, b, cost, numItermax=max_iter))


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + Tr(C1 + C2 - 2 (C1 C2)^(1/2)), the Fréchet distance of two Gaussians.

    Tr((C1 C2)^(1/2)) = sum of sqrt(eigenvalues of C1^(1/2) C2 C1^(1/2)), a symmetric PSD
    matrix: symmetric eigen-solvers only, stable where a covariance is singular (dead ReLU
    features), no complex square roots.
    """
    vals, vecs = np.linalg.eigh(np.asarray(cov1, dtype=np.float64))
    sqrt1 = (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T
    middle = sqrt1 @ np.asarray(cov2, dtype=np.float64) @ sqrt1
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    diff = np.asarray(mu1, dtype=np.float64) - np.asarray(mu2, dtype=np.float64)
    return float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * trace_sqrt)


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    features = np.asarray(features, dtype=np.float64)
    return features.mean(0), np.cov(features, rowvar=False)


# ---- mode coverage --------------------------------------------------------------------------------
def class_histogram(predictions: Tensor, n_classes: int) -> np.ndarray:
    """Share of samples predicted as each class."""
    counts = torch.bincount(torch.as_tensor(predictions).long(), minlength=n_classes).double()
    return (counts / counts.sum()).numpy()


def kl_uniform(histogram: np.ndarray) -> float:
    """KL(p || uniform) = sum_i p_i log(K p_i) in nats; 0 for a uniform p, log K for one class."""
    p = np.asarray(histogram, dtype=np.float64)
    nonzero = p > 0
    return float((p[nonzero] * np.log(len(p) * p[nonzero])).sum())


def mixture_coverage(samples: Tensor, centers: Tensor, std: float, min_share: float = 0.01
                     ) -> dict[str, float]:
    """For 2-D Gaussian mixtures: a sample is high quality within 3 std of its nearest mode; a
    mode is covered when at least ``min_share`` of the samples are high quality around it."""
    dist = torch.cdist(samples.double(), centers.double())
    nearest, index = dist.min(1)
    good = nearest <= 3 * std
    per_mode = torch.bincount(index[good], minlength=len(centers)).double() / len(samples)
    return {"modes_covered": int((per_mode >= min_share).sum()),
            "high_quality_share": float(good.double().mean())}


# ---- the digits classifier ------------------------------------------------------------------------
class SmallCNN(nn.Module):
    """Three stride-2 convolutions and a 64-unit feature layer: ~30k parameters."""

    def __init__(self, channels: int, image_size: int, n_classes: int = 10, width: int = 16,
                 feature_dim: int = 64) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 3, 2, 1), nn.ReLU(True),
            nn.Conv2d(width, 2 * width, 3, 2, 1), nn.ReLU(True),
            nn.Conv2d(2 * width, 4 * width, 3, 2, 1), nn.ReLU(True),
            nn.Flatten(),
            nn.Linear(4 * width * math.ceil(image_size / 8) ** 2, feature_dim), nn.ReLU(True),
        )
        self.head = nn.Linear(feature_dim, n_classes)

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


@dataclass
class DigitsClassifier:
    model: SmallCNN
    heldout_accuracy: float
    n_classes: int
    path: Path

    @torch.no_grad()
    def _batched(self, images: Tensor, fn, batch: int = 500) -> Tensor:
        self.model.eval()
        return torch.cat([fn(images[i:i + batch].float()) for i in range(0, len(images), batch)])

    def features(self, images: Tensor) -> np.ndarray:
        return self._batched(images, self.model.features).numpy()

    def predict(self, images: Tensor) -> Tensor:
        return self._batched(images, self.model).argmax(1)

    def fcd(self, generated: Tensor, real: Tensor) -> float:
        """Fréchet distance between generated and real images in the classifier's features."""
        return frechet_distance(*gaussian_stats(self.features(generated)),
                                *gaussian_stats(self.features(real)))

    def coverage(self, generated: Tensor, min_share: float = 0.01) -> dict[str, float]:
        hist = class_histogram(self.predict(generated), self.n_classes)
        return {"classes_covered": int((hist >= min_share).sum()), "kl_uniform": kl_uniform(hist)}


# Training recipe of the classifier: fixed, so its cache key is the data config alone.
CLASSIFIER_RECIPE = {"width": 16, "feature_dim": 64, "epochs": 30, "batch_size": 64, "lr": 2e-3,
                     "seed": 0, "version": 1}


def load_or_train_classifier(dataset, data_cfg, cache_dir: Path) -> DigitsClassifier:
    """The classifier for this dataset configuration: trained once, then read from the cache."""
    from omegaconf import OmegaConf

    key = {k: v for k, v in OmegaConf.to_container(data_cfg, resolve=True).items()
           if k not in ("root", "download", "num_workers")}
    path = Path(cache_dir) / f"classifier-{data_cfg.name}-{config_hash({**key, **CLASSIFIER_RECIPE})}.pt"
    # Parallel jobs need the same classifier: the first trains it, the others wait and read it.
    with locked(path.with_name(f".{path.name}.lock"), f"classifier cache {path}"):
        channels, size = dataset.sample_shape[0], dataset.sample_shape[-1]
        n_classes = int(dataset.train_labels.max()) + 1
        model = SmallCNN(channels, size, n_classes, CLASSIFIER_RECIPE["width"],
                         CLASSIFIER_RECIPE["feature_dim"])
        if path.exists():
            try:
                state = verified_load(path, "classifier cache")
                model.load_state_dict(state["model"])
                return DigitsClassifier(model, float(state["heldout_accuracy"]), n_classes, path)
            except (CheckpointError, KeyError, RuntimeError):
                pass  # a damaged cache entry is retrained, never trusted

        from wgan_repro.data import to_unit_range

        generator = torch.Generator().manual_seed(CLASSIFIER_RECIPE["seed"])
        torch.manual_seed(CLASSIFIER_RECIPE["seed"])
        model = SmallCNN(channels, size, n_classes, CLASSIFIER_RECIPE["width"],
                         CLASSIFIER_RECIPE["feature_dim"])
        optimizer = torch.optim.Adam(model.parameters(), lr=CLASSIFIER_RECIPE["lr"])
        images, labels = to_unit_range(dataset.train), dataset.train_labels
        bs = CLASSIFIER_RECIPE["batch_size"]
        model.train()
        for _ in range(CLASSIFIER_RECIPE["epochs"]):
            order = torch.randperm(len(images), generator=generator)
            for i in range(0, len(images) - bs + 1, bs):
                idx = order[i:i + bs]
                loss = nn.functional.cross_entropy(model(images[idx]), labels[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        classifier = DigitsClassifier(model, 0.0, n_classes, path)
        held = to_unit_range(dataset.heldout)
        classifier.heldout_accuracy = float(
            (classifier.predict(held) == dataset.heldout_labels).double().mean())
        write_with(path, lambda tmp: torch.save(
            {"model": model.state_dict(), "heldout_accuracy": classifier.heldout_accuracy}, tmp))
        return classifier
