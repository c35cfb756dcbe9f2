"""The paper tier's data: LSUN read from a tiny LMDB database in torchvision's format.

No real LSUN is needed: the database is built here (keys are bytes, values are encoded
images, the folder is named ``<lsun_classes>_lmdb``), with non-square images so that the
resize-then-center-crop of P2's reference code is checked exactly.
"""

from __future__ import annotations

import io
import multiprocessing
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from wgan_repro import hydra_runner
from wgan_repro.data import load_dataset, make_batches
from wgan_repro.errors import DataError

lmdb = pytest.importorskip("lmdb")
Image = pytest.importorskip("PIL.Image")

N_IMAGES = 20
SIZE = (80, 96)  # width, height: portrait, so the crop removes rows


def encoded_image(index: int, fmt: str) -> bytes:
    rng = np.random.default_rng(index)
    pixels = rng.integers(0, 256, (SIZE[1], SIZE[0], 3), dtype=np.uint8)
    pixels[: SIZE[1] // 4] = (255, 0, 0)  # a red top band: a squash keeps it, a crop cuts it
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format=fmt)
    return buf.getvalue()


def make_lsun(root: Path, n: int = N_IMAGES, classes: str = "bedroom_train",
              corrupt: set[int] = frozenset()) -> Path:
    """``root/<classes>_lmdb``, an LMDB database laid out as LSUN's (and torchvision's)."""
    db = root / f"{classes}_lmdb"
    db.mkdir(parents=True, exist_ok=True)
    env = lmdb.open(str(db), map_size=1 << 26)
    with env.begin(write=True) as txn:
        for i in range(n):
            value = b"not an image" if i in corrupt else encoded_image(i, ("JPEG", "WEBP")[i % 2])
            txn.put(f"{i:040x}".encode(), value)  # LSUN's keys: 40 hex characters
    env.close()
    return db


def paper_cfg(tmp_path: Path, root: Path | str, *overrides: str):
    """The paper tier as shipped, pointed at the fake database, writing under tmp_path."""
    return hydra_runner.compose(["scale=paper", f"data.root={root}",
                                 f"results_dir={tmp_path / 'results'}", "progress=none",
                                 *overrides])


def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "results" / ".cache"


@pytest.fixture
def lsun_root(tmp_path) -> Path:
    make_lsun(tmp_path / "lsun")
    return tmp_path / "lsun"


@pytest.fixture
def elsewhere(tmp_path, monkeypatch) -> Path:
    """An empty working directory: whatever appears in it was littered there."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


def test_paper_scale_wins_over_smoke_and_keeps_algorithm_1(compose, lsun_root):
    cfg = compose("scale=paper", f"data.root={lsun_root}")  # the fixture puts scale=smoke first
    assert cfg.tier == "paper"
    d, g, c, o, op, t = cfg.data, cfg.generator, cfg.critic, cfg.objective, cfg.optim, cfg.train
    assert (d.name, d.lsun_classes, d.image_size, d.channels) == ("lsun", "bedroom_train", 64, 3)
    assert d.max_images is None and not d.in_memory
    assert (g.arch, g.nz, g.ngf, g.n_extra_layers, g.batch_norm, g.constant_filters) == (
        "dcgan", 100, 64, 0, True, False)
    assert (c.arch, c.ndf, c.n_extra_layers, c.batch_norm) == ("dcgan", 64, 0, True)
    assert (o.loss, o.clip, o.n_critic) == ("wasserstein", pytest.approx(0.01), 5)
    assert (o.warmup, o.warmup_critic_iters, o.warmup_gen_iters, o.warmup_every) == (
        True, 100, 25, 500)
    assert o.instance_noise_std == 0 and o.instance_noise_final_std == 0
    assert (op.name, op.lr, op.alpha, op.eps) == ("rmsprop", pytest.approx(5e-5),
                                                  pytest.approx(0.99), pytest.approx(1e-8))
    assert (t.batch_size, t.grid_size, t.sample_every) == (64, 64, 500)


def test_images_are_resized_center_cropped_and_scaled(tmp_path, lsun_root, elsewhere):
    ds = load_dataset(paper_cfg(tmp_path, lsun_root).data, cache_dir=cache_dir(tmp_path))
    assert ds.name == "lsun" and ds.n_train == N_IMAGES and ds.sample_shape == (3, 64, 64)
    for i in (0, 1):  # one JPEG, one WebP
        image = ds.stream[i]
        assert image.shape == (3, 64, 64) and image.dtype == torch.float32
        assert image.min() >= -1.0 and image.max() <= 1.0 and image.min() < 0 < image.max()
        # Independently: shorter side 80 -> 64 (96 -> 76, PIL bilinear), 6 rows off the top.
        stored = encoded_image(i, ("JPEG", "WEBP")[i % 2])  # keys sort in index order
        decoded = Image.open(io.BytesIO(stored)).convert("RGB")
        resized = np.asarray(decoded.resize((64, 76), Image.BILINEAR), dtype=np.float32)
        expected = torch.from_numpy(resized[6:70]).permute(2, 0, 1) / 127.5 - 1.0
        torch.testing.assert_close(image, expected, atol=1e-6, rtol=0)
        squashed = np.asarray(decoded.resize((64, 64), Image.BILINEAR), dtype=np.float32)
        assert not torch.allclose(image, torch.from_numpy(squashed).permute(2, 0, 1) / 127.5 - 1)
    batches = make_batches(ds, 8, 0, torch.device("cpu"), num_workers=0)
    batch = batches.next()
    assert batch.shape == (8, 3, 64, 64) and batch.min() >= -1 and batch.max() <= 1


def test_paper_tier_trains_on_lsun(tmp_path, lsun_root, elsewhere):
    """train() at scale=paper, shrunk only in size and length, writes its metrics."""
    from wgan_repro.train import train

    cfg = paper_cfg(tmp_path, lsun_root, "train.iterations=2", "train.batch_size=4",
                    "generator.ngf=8", "critic.ndf=8", "data.num_workers=0",
                    "objective.warmup_critic_iters=2", "train.grid_size=4")
    assert cfg.objective.n_critic == 5 and cfg.objective.warmup_gen_iters == 25
    summary = train(cfg)
    assert summary["status"] == "finished" and summary["gen_iters"] == 2
    metrics = pd.read_csv(Path(summary["run_dir"]) / "metrics.csv")
    assert len(metrics) == 2
    assert metrics["critic_iters"].tolist() == [2, 2]  # inside the 25-iteration warm-up
    assert metrics["wasserstein_estimate"].notna().all()
    assert list(Path(summary["run_dir"], "samples").glob("gen_iter_*.png"))
    assert not list(elsewhere.iterdir())


def test_key_cache_goes_to_the_cache_folder_not_the_cwd(tmp_path, lsun_root, elsewhere):
    cfg = paper_cfg(tmp_path, lsun_root)
    load_dataset(cfg.data, cache_dir=cache_dir(tmp_path))
    assert not list(elsewhere.iterdir())
    caches = list(cache_dir(tmp_path).rglob("_cache_*"))
    assert len(caches) == 1
    # Reused as is the second time, rebuilt when the database changes (no stale keys).
    before = caches[0].stat().st_mtime_ns
    load_dataset(cfg.data, cache_dir=cache_dir(tmp_path))
    assert caches[0].stat().st_mtime_ns == before
    make_lsun(lsun_root, n=N_IMAGES + 3)  # py-lmdb: possible only once no dataset holds it open
    ds = load_dataset(cfg.data, cache_dir=cache_dir(tmp_path))
    assert ds.n_train == N_IMAGES + 3 and ds.stream[N_IMAGES + 2].shape == (3, 64, 64)
    assert not list(elsewhere.iterdir())


def test_loading_twice_in_one_process_shares_the_database(tmp_path, lsun_root, elsewhere):
    """py-lmdb refuses to open a database twice in a process; fig2 loads its data twice."""
    first = load_dataset(paper_cfg(tmp_path, lsun_root).data, cache_dir=cache_dir(tmp_path))
    small = paper_cfg(tmp_path, lsun_root, "data.image_size=32", "data.max_images=4")
    second = load_dataset(small.data, cache_dir=cache_dir(tmp_path))
    assert first.stream[3].shape == (3, 64, 64) and second.stream[3].shape == (3, 32, 32)
    assert first.n_train == N_IMAGES and second.n_train == 4
    assert first.stream.inner is second.stream.inner


def test_dataset_pickles_for_spawned_workers(tmp_path, lsun_root, elsewhere):
    """DataLoader workers started by spawn (macOS, Windows) get the dataset pickled; an
    open LMDB database cannot be, so the copy reopens it."""
    import pickle

    ds = load_dataset(paper_cfg(tmp_path, lsun_root).data, cache_dir=cache_dir(tmp_path))
    copy = pickle.loads(pickle.dumps(ds.stream))
    assert len(copy) == N_IMAGES and torch.equal(copy[7], ds.stream[7])
    assert not list(elsewhere.iterdir())


def test_relative_root_and_max_images(tmp_path, lsun_root, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = paper_cfg(tmp_path, "lsun", "data.max_images=5")
    ds = load_dataset(cfg.data, cache_dir=Path("results/.cache"))  # both relative
    assert ds.n_train == 5 and ds.stream[4].shape == (3, 64, 64)
    with pytest.raises(IndexError):
        ds.stream[5]
    assert not list(tmp_path.glob("_cache_*"))


def _load_all(root: str, results: str, cwd: str) -> int:
    import os

    torch.set_num_threads(1)  # a forked child: no OpenMP pool of the parent's
    os.chdir(cwd)
    cfg = hydra_runner.compose(["scale=paper", f"data.root={root}", f"results_dir={results}"])
    ds = load_dataset(cfg.data, cache_dir=Path(results) / ".cache")
    return sum(int(ds.stream[i].shape == (3, 64, 64)) for i in range(ds.n_train))


@pytest.mark.skipif(sys.platform != "linux", reason="fork start: seconds, not a fresh torch import")
def test_two_processes_loading_at_once(tmp_path, lsun_root, elsewhere):
    """Both build the key cache at the same time; both read every image; no litter."""
    ctx = multiprocessing.get_context("fork")  # as DataLoader workers start on Linux
    args = (str(lsun_root), str(tmp_path / "results"), str(elsewhere))
    with ctx.Pool(2) as pool:
        counts = pool.starmap(_load_all, [args, args])
    assert counts == [N_IMAGES, N_IMAGES]
    assert len(list(cache_dir(tmp_path).rglob("_cache_*"))) == 1
    assert not list(cache_dir(tmp_path).rglob("*.tmp"))
    assert not list(elsewhere.iterdir())


# ---- one-line errors ----------------------------------------------------------------------------
def one_line_error(cfg, tmp_path) -> str:
    with pytest.raises(DataError) as err:
        load_dataset(cfg.data, cache_dir=cache_dir(tmp_path))
    message = str(err.value)
    assert "\n" not in message
    return message


def test_without_lmdb_says_how_to_install(tmp_path, lsun_root, monkeypatch):
    monkeypatch.setitem(sys.modules, "lmdb", None)  # `import lmdb` now fails
    message = one_line_error(paper_cfg(tmp_path, lsun_root), tmp_path)
    assert "pip install 'wgan-repro[lsun]'" in message


def test_no_database_names_the_path_and_what_to_put_there(tmp_path, elsewhere):
    empty = tmp_path / "empty"
    empty.mkdir()
    message = one_line_error(paper_cfg(tmp_path, empty), tmp_path)
    assert str(empty / "bedroom_train_lmdb") in message and "data.mdb" in message
    assert "bedroom_train" in message and "data.root" in message
    unset = one_line_error(paper_cfg(tmp_path, "null"), tmp_path)
    assert "data.root" in unset and "bedroom_train_lmdb" in unset
    assert not list(elsewhere.iterdir())


@pytest.mark.parametrize("damage", ["garbage", "no_data_file"])
def test_corrupted_database_is_one_line(tmp_path, elsewhere, damage):
    db = tmp_path / "lsun" / "bedroom_train_lmdb"
    db.mkdir(parents=True)
    if damage == "garbage":
        (db / "data.mdb").write_bytes(b"\x00garbage" * 4096)
    message = one_line_error(paper_cfg(tmp_path, tmp_path / "lsun"), tmp_path)
    assert str(db) in message
    assert not list(elsewhere.iterdir())


def first_error(batches) -> str:
    """The DataError's message; returns without keeping its traceback (and the loader)."""
    try:
        batches.next()
    except DataError as err:
        return str(err)
    raise AssertionError("no DataError from an undecodable image")


@pytest.mark.parametrize("num_workers", [0, 1])
def test_undecodable_image_is_one_line_at_batch_time(tmp_path, elsewhere, num_workers):
    """Decoding happens in the loader (in a worker process at the paper tier's
    num_workers=4): a broken image still reaches the user as one line naming the database."""
    make_lsun(tmp_path / "lsun", n=8, corrupt=set(range(8)))
    ds = load_dataset(paper_cfg(tmp_path, tmp_path / "lsun").data, cache_dir=cache_dir(tmp_path))
    batches = make_batches(ds, 4, 0, torch.device("cpu"), num_workers=num_workers)
    message = first_error(batches)
    del batches  # nothing else holds it: the worker stops now, not at a later collection
    assert "\n" not in message and "bedroom_train_lmdb" in message and "cannot read image" in message


def test_batch_larger_than_the_database_is_one_line(tmp_path, lsun_root):
    ds = load_dataset(paper_cfg(tmp_path, lsun_root).data, cache_dir=cache_dir(tmp_path))
    with pytest.raises(DataError, match="batch_size=64"):
        make_batches(ds, 64, 0, torch.device("cpu"))
