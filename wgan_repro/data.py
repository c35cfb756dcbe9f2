"""Datasets and batch sources.

Small datasets (the bundled digits, the 2-D mixtures, MNIST, CIFAR-10, image folders) are
decoded once into one tensor and batched by indexing a shuffled permutation: no DataLoader,
no per-batch Python objects. LSUN (millions of images) streams through a DataLoader.
Nothing is ever downloaded unless ``data.download=true``.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def load_image_folder(cfg, cache_dir: Path | None = None) -> Dataset:
    """Every image decoded once into one uint8 tensor; with ``cache_dir``, that tensor is also
    saved there, so later runs on the same folder skip decoding (a changed, added or removed
    file, or another size or channel count, makes a new cache entry)."""
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
    cache = None if cache_dir is None else _decoded_cache_file(folder.samples[:n], cfg, cache_dir)
    from wgan_repro.results import locked

    # Parallel jobs on one folder: the first decodes, the others wait and read its cache.
    with (contextlib.nullcontext() if cache is None
          else locked(cache.with_name(f".{cache.name}.lock"), f"image cache {cache}")):
        images, labels = _decode_folder(folder, n, cfg, cache)
    train_idx, held_idx = _split(n, cfg.heldout_fraction, cfg.split_seed)
    return Dataset("image_folder", images[train_idx].contiguous(), images[held_idx].contiguous(),
                   labels[train_idx], labels[held_idx], tuple(images.shape[1:]))


def _decode_folder(folder, n: int, cfg, cache: Path | None):
    """The first ``n`` images of ``folder`` as one tensor: from ``cache`` when it holds them."""
    saved = None
    if cache is not None and cache.is_file():
        from wgan_repro.checkpoint import verified_load
        from wgan_repro.errors import CheckpointError

        try:
            saved = verified_load(cache, "image cache")
        except CheckpointError:  # a damaged cache is rebuilt, never trusted
            saved = None
    if saved is not None:
        images, labels = saved["images"], saved["labels"]
    else:
        try:
            images = torch.stack([folder[i][0] for i in range(n)])
        except OSError as err:
            raise DataError(f"data=image_folder: unreadable image under {cfg.root!r}: {err}") from err
        labels = torch.as_tensor(folder.targets[:n]).long()
        if cache is not None:
            from wgan_repro.results import write_with

            write_with(cache, lambda tmp: torch.save({"images": images, "labels": labels}, tmp))
    return images, labels


def _decoded_cache_file(samples: list[tuple[str, int]], cfg, cache_dir: Path) -> Path:
    """Named by every file's path, size and modification time and by the decoding settings."""
    from wgan_repro.results import config_hash

    files = []
    for path, label in samples:
        stat = os.stat(path)
        files.append([os.path.abspath(path), label, stat.st_size, stat.st_mtime_ns])
    key = config_hash({"files": files, "image_size": cfg.image_size, "channels": cfg.channels})
    return Path(cache_dir) / "image_folder" / f"{key}.pt"


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


class CheckedImages(torch.utils.data.Dataset):
    """Images of a streamed dataset (the first ``length`` of them) through ``transform``;
    an unreadable item raises a one-line DataError naming the database, not a decoder's
    traceback. Items are image tensors (no labels).

    ``reopen()``, if given, opens ``inner`` again: pickling (DataLoader workers started by
    spawn, the default on macOS and Windows) leaves out ``inner`` (an open LMDB database
    cannot be pickled) and the worker reopens it.
    """

    def __init__(self, inner, transform, where: str, length: int | None = None,
                 reopen: Callable[[], Any] | None = None) -> None:
        self.inner, self.transform, self.where, self.reopen = inner, transform, where, reopen
        self.length = len(inner) if length is None else min(len(inner), length)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if self.reopen is not None:
            del state["inner"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if "inner" not in state:
            self.inner = self.reopen()

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> Tensor:
        if not 0 <= index < self.length:
            raise IndexError(index)
        try:
            return self.transform(self.inner[index][0])
        except Exception as err:  # PIL.UnidentifiedImageError, lmdb.Error, a missing key ...
            raise DataError(f"{self.where}: cannot read image #{index}: {_one_line(err)}") from err


# torchvision LSUN datasets open in this process, by absolute database path. py-lmdb refuses
# to open one database twice in a process ("already open in this process"), and experiments
# load their data more than once (fig2: the protocol, then the DCGAN run): a second load
# shares the open database while the first is alive. Weak: dropping every dataset closes it.
_OPEN_LSUN: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def _lsun_cache_ident(db: Path) -> str:
    """Names the key cache of ``db``: its absolute path, size and modification time, so two
    databases, or one rebuilt, never share keys."""
    from wgan_repro.results import config_hash

    stat = (db / "data.mdb").stat()
    return config_hash({"db": str(db), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns})


def _lsun_cache_folder(db: Path, folder: Path) -> Path:
    """``folder``, holding torchvision's LSUN key cache for ``db``, built here, atomically.

    torchvision's ``LSUNClass`` pickles the database's keys (minutes to list on the real
    3M-image database) to ``_cache_<letters of the path>`` in the *working directory*, and
    reads them back from there when the file exists. The cache is built here instead, under
    the results' cache folder, written to a temporary file and renamed: two processes
    starting at once each see no file or a whole one, never a partial one. torchvision is
    then constructed inside that folder, finds the file and writes nothing.
    """
    import pickle
    import string

    import lmdb

    from wgan_repro.results import write_with

    # The file name torchvision computes (torchvision/datasets/lsun.py, LSUNClass.__init__).
    cache_file = folder / ("_cache_" + "".join(c for c in str(db) if c in string.ascii_letters))
    if not cache_file.is_file():
        env = lmdb.open(str(db), max_readers=1, readonly=True, lock=False, readahead=False,
                        meminit=False)  # torchvision's flags
        try:
            with env.begin(write=False) as txn:
                keys = list(txn.cursor().iternext(keys=True, values=False))
        finally:
            env.close()
        write_with(cache_file, lambda tmp: tmp.write_bytes(pickle.dumps(keys, protocol=4)))
    return folder


def _open_lsun(db: Path, classes: str, cache_dir: Path):
    """torchvision's LSUN over ``db`` (images as PIL, no transform), shared while alive."""
    from torchvision import datasets

    ident = _lsun_cache_ident(db)
    held = _OPEN_LSUN.get(str(db))
    if held is not None and held.wgan_repro_ident == ident:
        return held
    if held is not None:  # the database changed on disk since: close the stale handle
        for sub in getattr(held, "dbs", []):  # torchvision's LSUNClass per class, env its LMDB
            if getattr(sub, "env", None) is not None:
                sub.env.close()
    folder = _lsun_cache_folder(db, cache_dir / "lsun" / ident)
    # torchvision reads (and, were our file not there, would write) its key cache in the
    # working directory: run its constructor inside our cache folder, never the user's cwd.
    with contextlib.chdir(folder):
        stream = datasets.LSUN(str(db.parent), classes=[classes])
    stream.wgan_repro_ident = ident
    _OPEN_LSUN[str(db)] = stream
    return stream


def load_lsun(cfg, cache_dir: Path) -> Dataset:
    """LSUN streams from its LMDB database (too large to hold in memory) through torchvision's
    ``LSUN``; images are resized (shorter side) to ``image_size``, center-cropped square and
    scaled to [-1, 1], as in P2's reference code."""
    try:
        import lmdb  # noqa: F401
    except ImportError as err:
        raise DataError("data=lsun needs the lmdb package: pip install 'wgan-repro[lsun]'") from err
    from torchvision import transforms

    from wgan_repro.errors import WganReproError

    folder_name = f"{cfg.lsun_classes}_lmdb"
    if not cfg.root:
        raise DataError(f"data=lsun needs data.root=<folder holding {folder_name}/>, LSUN's "
                        f"'{cfg.lsun_classes}' LMDB database (data.mdb inside)")
    # Absolute: torchvision is constructed in another working directory (see _open_lsun),
    # and the cache is keyed by the path.
    db = Path(os.path.abspath(os.path.expanduser(str(cfg.root)))) / folder_name
    if not db.is_dir():
        raise DataError(f"data=lsun: no LMDB database at {str(db)!r}; put LSUN's "
                        f"'{cfg.lsun_classes}' database there (the {folder_name}/ folder "
                        f"holding data.mdb) or set data.root to the folder that holds it")
    if not (db / "data.mdb").is_file():
        raise DataError(f"data=lsun: {str(db)!r} has no data.mdb; it is not a complete LMDB "
                        f"database (re-download or re-extract LSUN '{cfg.lsun_classes}')")
    try:
        stream = _open_lsun(db, cfg.lsun_classes, Path(cache_dir))
    except WganReproError:
        raise  # e.g. ResultsError: the cache folder is not writable
    except Exception as err:  # lmdb.Error (corrupted, unreadable), pickle errors, OSError
        raise DataError(f"data=lsun: cannot read the LMDB database at {str(db)!r}: "
                        f"{_one_line(err)}") from err
    if len(stream) == 0:
        raise DataError(f"data=lsun: the database at {str(db)!r} is empty")
    transform = transforms.Compose([_image_transform(cfg), transforms.Lambda(to_unit_range)])
    shape = (cfg.channels, cfg.image_size, cfg.image_size)
    checked = CheckedImages(stream, transform, f"data=lsun ({db})", cfg.max_images,
                            reopen=functools.partial(_open_lsun, db, cfg.lsun_classes,
                                                     Path(cache_dir)))
    return Dataset("lsun", torch.empty(0, *shape), None, None, None, shape, stream=checked)


def load_swiss_roll(cfg) -> Dataset:
    """scikit-learn's Swiss Roll as WGAN-GP's toy experiments use it: the roll's (x, z)
    coordinates with Gaussian noise of std ``std``, divided by ``scale``; generated (nothing to
    download), fixed by ``split_seed``. Labels: none (the roll has no modes to count)."""
    from sklearn.datasets import make_swiss_roll

    points, _ = make_swiss_roll(cfg.n_points, noise=cfg.std, random_state=cfg.split_seed)
    points = torch.from_numpy(points[:, [0, 2]] / cfg.scale).float()
    train_idx, held_idx = _split(cfg.n_points, cfg.heldout_fraction, cfg.split_seed)
    return Dataset(cfg.name, points[train_idx], points[held_idx], None, None, (2,))


def load_dataset(cfg, cache_dir: Path | str | None = None) -> Dataset:
    """``cache_dir`` (runs pass <results>/.cache) keeps decoded image folders and LSUN's key
    lists between runs; without it image folders are decoded every time."""
    if cfg.name == "digits":
        ds = load_digits(cfg)
    elif cfg.name in ("ring8", "grid25"):
        ds = load_mixture(cfg)
    elif cfg.name == "swiss_roll":
        ds = load_swiss_roll(cfg)
    elif cfg.name in ("mnist", "cifar10"):
        ds = load_torchvision(cfg)
    elif cfg.name == "image_folder":
        ds = load_image_folder(cfg, None if cache_dir is None else Path(cache_dir))
    elif cfg.name == "lsun":
        return load_lsun(cfg, Path("results/.cache" if cache_dir is None else cache_dir))
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
        if batch_size > len(dataset):
            raise DataError(f"train.batch_size={batch_size} is larger than the training set "
                            f"({len(dataset)} examples)")
        self.loader = torch.utils.data.DataLoader(
            dataset, batch_size=batch_size, shuffle=True, drop_last=True,
            num_workers=num_workers, generator=torch.Generator().manual_seed(seed),
            pin_memory=device.type == "cuda", persistent_workers=num_workers > 0)
        self.device = device
        self.iterator = iter(self.loader)
        self.epoch = 0

    def next(self) -> Tensor:
        try:
            try:
                batch = next(self.iterator)
            except StopIteration:
                self.epoch += 1
                self.iterator = iter(self.loader)
                batch = next(self.iterator)
        except DataError as err:
            # From a loader worker, the message is the worker's whole traceback: keep its
            # last line, the DataError's own message.
            lines = [line for line in str(err).splitlines() if line.strip()]
            if len(lines) <= 1:
                raise
            # The re-raised exception's frames hold the loader's iterator in a reference
            # cycle; collected later, its workers take 5 s to stop. Drop the frames now (the
            # worker's traceback stays in the message of the cause, for --debug).
            err.__traceback__ = None
            raise DataError(lines[-1].split("DataError: ", 1)[-1].strip()) from err
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

