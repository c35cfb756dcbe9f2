"""Datasets and batch sources.

Small datasets (the bundled digits, the 2-D mixtures, MNIST, CIFAR-10, image folders) are
decoded once into one tensor and batched by indexing a shuffled permutation: no DataLoader,
no per-batch Python objects. LSUN (millions of images) streams through a DataLoader.
Nothing is ever downloaded unless ``data.download=true``.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from wgan_repro.errors import DataError


@dataclass
class Dataset:
    name: str
    train: Tensor  # float32 in [-1, 1], or uint8 images converted per batch
    heldout: Tensor | None
    train_labels: Tensor | None
    heldout_labels: Tensor | None
    sample_shape: tuple[int, ...]
    stream: torch.utils.data.Dataset | None = None  # set when not held in memory

    @property
    def n_train(self) -> int:
        return len(self.stream) if self.stream is not None else int(self.train.shape[0])


def to_unit_range(x: Tensor) -> Tensor:
    """uint8 [0, 255] or float [-1, 1] -> float32 [-1, 1]."""
    if x.dtype == torch.uint8:
        return x.float().div_(127.5).sub_(1.0)
    return x


def _split(n: int, heldout_fraction: float, seed: int) -> tuple[Tensor, Tensor]:
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_held = max(1, round(n * heldout_fraction))
    return perm[n_held:], perm[:n_held]


def _cap(ds: Dataset, max_images: int | None) -> Dataset:
    if max_images is not None and ds.train.shape[0] > max_images:
        ds.train = ds.train[:max_images]
        if ds.train_labels is not None:
            ds.train_labels = ds.train_labels[:max_images]
    return ds


def _resize(images: Tensor, size: int) -> Tensor:
    """(N, C, H, W) float -> (N, C, size, size); antialias when shrinking."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False,
                         antialias=images.shape[-1] > size)


def _to_uint8(images: Tensor) -> Tensor:
    return images.round().clamp_(0, 255).to(torch.uint8)


def _digits_arrays() -> tuple[Tensor, Tensor]:
    """(1797, 8, 8) pixel values 0..16 and labels, read from the file scikit-learn bundles.

    Reading the file directly skips importing scikit-learn (~3 s on 2 cores); the public
    loader is the fallback should the file move.
    """
    import importlib.util

    import numpy as np

    spec = importlib.util.find_spec("sklearn")
    path = Path(next(iter(spec.submodule_search_locations or [""])), "datasets", "data",
                "digits.csv.gz") if spec else None
    if path is not None and path.is_file():
        table = np.loadtxt(path, delimiter=",", dtype=np.float32)
        images, labels = table[:, :-1].reshape(-1, 8, 8), table[:, -1]
    else:  # pragma: no cover - depends on the installed scikit-learn
        from sklearn.datasets import load_digits as sk_digits

        bunch = sk_digits()
        images, labels = bunch.images, bunch.target
    return torch.from_numpy(np.ascontiguousarray(images)).float(), torch.from_numpy(
        np.asarray(labels)).long()


def load_digits(cfg) -> Dataset:
    """scikit-learn's bundled 1797 handwritten digits (8x8, values 0..16), resized, in [-1, 1]."""
    raw, labels = _digits_arrays()
    images = raw.unsqueeze(1) / 16.0  # [0, 1]
    images = _resize(images, cfg.image_size).clamp_(0.0, 1.0) * 2.0 - 1.0
    if cfg.channels == 3:
        images = images.expand(-1, 3, -1, -1).contiguous()
    train_idx, held_idx = _split(len(images), cfg.heldout_fraction, cfg.split_seed)
    return Dataset("digits", images[train_idx].contiguous(), images[held_idx].contiguous(),
                   labels[train_idx], labels[held_idx], tuple(images.shape[1:]))


def mixture_centers(layout: str, n_modes: int, spacing: float) -> Tensor:
    """Mode centres: `n_modes` on a circle of radius `spacing` (no duplicate at 2*pi), or a
    sqrt(n_modes)^2 grid with step `spacing` centred on 0 (25 modes, step 2: {-4..4}^2)."""
    if layout == "ring":
        angles = torch.arange(n_modes, dtype=torch.float64) * (2 * math.pi / n_modes)
        return torch.stack([angles.cos(), angles.sin()], 1).float() * spacing
    side = math.isqrt(n_modes)
    if side * side != n_modes:
        raise DataError(f"data.n_modes={n_modes} is not a square: a grid layout needs k*k modes")
    axis = (torch.arange(side, dtype=torch.float32) - (side - 1) / 2) * spacing
    gx, gy = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)


def load_mixture(cfg) -> Dataset:
    centers = mixture_centers(cfg.layout, cfg.n_modes, cfg.spacing)
    gen = torch.Generator().manual_seed(cfg.split_seed)
    labels = torch.randint(len(centers), (cfg.n_points,), generator=gen)
    points = centers[labels] + cfg.std * torch.randn(cfg.n_points, 2, generator=gen)
    train_idx, held_idx = _split(cfg.n_points, cfg.heldout_fraction, cfg.split_seed)
    return Dataset(cfg.name, points[train_idx], points[held_idx], labels[train_idx],
                   labels[held_idx], (2,))


def _missing(cfg, what: str) -> DataError:
    return DataError(
        f"data={cfg.name}: {what} under data.root={cfg.root!r}; put the dataset there"
        + (" or add data.download=true" if cfg.name in ("mnist", "cifar10") else "")
    )


def _torchvision_split(cfg, train: bool) -> tuple[Tensor, Tensor]:
    from torchvision import datasets

    cls = {"mnist": datasets.MNIST, "cifar10": datasets.CIFAR10}[cfg.name]
    try:
        ds = cls(cfg.root, train=train, download=cfg.download)
    except RuntimeError as err:  # torchvision: "Dataset not found or corrupted ..."
        raise _missing(cfg, "no readable dataset") from err
    data = torch.as_tensor(ds.data)
    data = data.unsqueeze(1) if data.ndim == 3 else data.permute(0, 3, 1, 2)  # N, C, H, W
    images = _to_uint8(_resize(data.float(), cfg.image_size))
    if cfg.channels != images.shape[1]:
        images = images.expand(-1, 3, -1, -1) if cfg.channels == 3 else _to_uint8(
            images.float().mean(1, keepdim=True))
    return images.contiguous(), torch.as_tensor(ds.targets).long()


def load_torchvision(cfg) -> Dataset:
    if not cfg.root:
        raise DataError(f"data={cfg.name} needs data.root=<folder of the dataset>")
    train, train_labels = _torchvision_split(cfg, True)
    held, held_labels = _torchvision_split(cfg, False)
    return Dataset(cfg.name, train, held, train_labels, held_labels, tuple(train.shape[1:]))


def _image_transform(cfg):
    from torchvision import transforms

    steps = [transforms.Resize(cfg.image_size), transforms.CenterCrop(cfg.image_size)]
    if cfg.channels == 1:
        steps.append(transforms.Grayscale())
    return transforms.Compose(steps + [transforms.PILToTensor()])


def load_image_folder(cfg) -> Dataset:
    from torchvision import datasets

    root = Path(cfg.root or "")
    if not cfg.root or not root.is_dir():
        raise DataError(f"data=image_folder: data.root={cfg.root!r} is not a folder; "
                        "point it at a folder of class subfolders holding images")
    try:
        folder = datasets.ImageFolder(str(root), transform=_image_transform(cfg))
    except FileNotFoundError as err:  # no class folders / no images with a known extension
        raise DataError(f"data=image_folder: no images under data.root={cfg.root!r} "
                        "(expected <root>/<class>/<image>.png|jpg)") from err
    n = len(folder) if cfg.max_images is None else min(len(folder), cfg.max_images)
    try:
        images = torch.stack([folder[i][0] for i in range(n)])
    except OSError as err:
        raise DataError(f"data=image_folder: unreadable image under {cfg.root!r}: {err}") from err
    labels = torch.as_tensor(folder.targets[:n]).long()
    train_idx, held_idx = _split(n, cfg.heldout_fraction, cfg.split_seed)
    return Dataset("image_folder", images[train_idx].contiguous(), images[held_idx].contiguous(),
                   labels[train_idx], labels[held_idx], tuple(images.shape[1:]))


def load_lsun(cfg, cache_dir: Path) -> Dataset:
    """LSUN streams from its LMDB database (too large to hold in memory)."""
    try:
        import lmdb  # noqa: F401
    except ModuleNotFoundError as err:
        raise DataError("data=lsun needs the lmdb package: pip install 'wgan-repro[lsun]'") from err
    from torchvision import datasets, transforms

    db = Path(cfg.root or "") / f"{cfg.lsun_classes}_lmdb"
    if not cfg.root or not db.is_dir():
        raise DataError(f"data=lsun: no LMDB database at {str(db)!r}; download LSUN "
                        f"'{cfg.lsun_classes}' and set data.root to the folder that holds it")
    transform = transforms.Compose([_image_transform(cfg), transforms.Lambda(to_unit_range)])
    cache_dir.mkdir(parents=True, exist_ok=True)
    try:
        # torchvision writes its key cache into the working directory: keep it with ours.
        with contextlib.chdir(cache_dir):
            stream = datasets.LSUN(str(cfg.root), classes=[cfg.lsun_classes], transform=transform)
    except Exception as err:  # lmdb.Error and friends
        raise DataError(f"data=lsun: cannot open {str(db)!r}: {err}") from err
    shape = (cfg.channels, cfg.image_size, cfg.image_size)
    return Dataset("lsun", torch.empty(0, *shape), None, None, None, shape, stream=stream)


def load_dataset(cfg, cache_dir: Path | str = "results/.cache") -> Dataset:
    if cfg.name == "digits":
        ds = load_digits(cfg)
    elif cfg.name in ("ring8", "grid25"):
        ds = load_mixture(cfg)
    elif cfg.name in ("mnist", "cifar10"):
        ds = load_torchvision(cfg)
    elif cfg.name == "image_folder":
        ds = load_image_folder(cfg)
    elif cfg.name == "lsun":
        return load_lsun(cfg, Path(cache_dir))
    else:
        raise DataError(f"unknown dataset {cfg.name!r}")
    ds = _cap(ds, cfg.max_images)
    if ds.train.shape[0] == 0:
        raise DataError(f"data={cfg.name}: the training set is empty")
    return ds


class InMemoryBatches:
    """Endless shuffled batches (epoch by epoch, last partial batch dropped) from one tensor.

    Its RNG is separate from the global one, and its state is checkpointed, so a resumed
    run draws exactly the batches an uninterrupted run would.
    """

    def __init__(self, data: Tensor, batch_size: int, seed: int, device: torch.device) -> None:
        if batch_size > data.shape[0]:
            raise DataError(f"train.batch_size={batch_size} is larger than the training set "
                            f"({data.shape[0]} examples)")
        self.data = data.to(device)
        self.batch_size = batch_size
        self.rng = torch.Generator().manual_seed(seed)
        self.perm = torch.randperm(data.shape[0], generator=self.rng)
        self.pos = 0
        self.epoch = 0

    def next(self) -> Tensor:
        if self.pos + self.batch_size > self.perm.numel():
            self.perm = torch.randperm(self.data.shape[0], generator=self.rng)
            self.pos = 0
            self.epoch += 1
        idx = self.perm[self.pos:self.pos + self.batch_size].to(self.data.device)
        self.pos += self.batch_size
        return to_unit_range(self.data.index_select(0, idx))

    def state_dict(self) -> dict:
        return {"rng": self.rng.get_state(), "perm": self.perm, "pos": self.pos,
                "epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        self.rng.set_state(state["rng"])
        self.perm, self.pos, self.epoch = state["perm"], int(state["pos"]), int(state["epoch"])


class StreamBatches:
    """Batches from a DataLoader over a dataset too large for memory (LSUN).

    Resuming restarts the shuffled stream: batches after a resume differ from an
    uninterrupted run's (the networks, optimisers and noise are still restored exactly).
    """

    def __init__(self, dataset, batch_size: int, seed: int, device: torch.device,
                 num_workers: int = 0) -> None:
        self.loader = torch.utils.data.DataLoader(
            dataset, batch_size=batch_size, shuffle=True, drop_last=True,
            num_workers=num_workers, generator=torch.Generator().manual_seed(seed),
            pin_memory=device.type == "cuda", persistent_workers=num_workers > 0)
        self.device = device
        self.iterator = iter(self.loader)
        self.epoch = 0

    def next(self) -> Tensor:
        try:
            batch = next(self.iterator)
        except StopIteration:
            self.epoch += 1
            self.iterator = iter(self.loader)
            batch = next(self.iterator)
        images = batch[0] if isinstance(batch, (list, tuple)) else batch
        return images.to(self.device, non_blocking=True)

    def state_dict(self) -> dict:
        return {"epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        self.epoch = int(state["epoch"])


def make_batches(ds: Dataset, batch_size: int, seed: int, device: torch.device,
                 num_workers: int = 0):
    if ds.stream is not None:
        return StreamBatches(ds.stream, batch_size, seed, device, num_workers)
    return InMemoryBatches(ds.train, batch_size, seed, device)

