"""Datasets: bundled digits, 2-D mixtures, image folders, and the batch source."""

import math

import pytest
import torch

from wgan_repro.data import InMemoryBatches, load_dataset, mixture_centers
from wgan_repro.errors import DataError


def test_digits_are_32x32_in_unit_range_with_a_fixed_split(compose):
    cfg = compose("scale=cpu")
    a, b = load_dataset(cfg.data), load_dataset(cfg.data)
    assert a.train.shape == (1438, 1, 32, 32) and a.heldout.shape == (359, 1, 32, 32)
    assert a.train.min() >= -1 and a.train.max() <= 1
    assert a.train.min() == -1 and a.train.max() == 1  # 0 and 16 are both present
    torch.testing.assert_close(a.train, b.train)  # the split does not depend on anything random
    assert set(a.train_labels.tolist()) == set(range(10))
    # train and held-out images are disjoint (no image counted twice)
    flat_train = {tuple(x.flatten().tolist()) for x in a.train[:, :, ::4, ::4]}
    overlap = sum(tuple(x.flatten().tolist()) in flat_train for x in a.heldout[:, :, ::4, ::4])
    assert overlap < 10  # only accidental duplicates in the raw data


def test_smoke_scale_caps_the_training_set(compose):
    ds = load_dataset(compose().data)
    assert ds.train.shape == (256, 1, 16, 16)


def test_ring8_centres_on_the_unit_circle_without_duplicates():
    c = mixture_centers("ring", 8, 1.0)
    assert c.shape == (8, 2)
    torch.testing.assert_close(c.norm(dim=1), torch.ones(8))
    angles = sorted(round(math.degrees(math.atan2(y, x))) % 360 for x, y in c.tolist())
    assert angles == [0, 45, 90, 135, 180, 225, 270, 315]


def test_grid25_centres():
    c = mixture_centers("grid", 25, 2.0)
    assert {(round(x), round(y)) for x, y in c.tolist()} == {
        (x, y) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)}


def test_mixture_samples_stay_near_their_modes(compose):
    cfg = compose("data=ring8", "generator=mlp", "critic=mlp")
    ds = load_dataset(cfg.data)
    centres = mixture_centers("ring", 8, 1.0)
    dist = torch.cdist(ds.train, centres).min(1).values
    assert ds.sample_shape == (2,)
    assert (dist < 3 * 0.01 * math.sqrt(2) * 1.5).float().mean() > 0.99


def test_batches_visit_every_example_once_per_epoch():
    data = torch.arange(10.0).view(10, 1)
    batches = InMemoryBatches(data, 3, seed=1, device=torch.device("cpu"))
    seen = torch.cat([batches.next() for _ in range(3)]).flatten().tolist()
    assert len(set(seen)) == 9  # 3 full batches, the 10th example dropped this epoch


def test_batches_resume_from_state():
    data = torch.randn(50, 2)
    a = InMemoryBatches(data, 8, seed=3, device=torch.device("cpu"))
    for _ in range(7):
        a.next()
    state = a.state_dict()
    b = InMemoryBatches(data, 8, seed=99, device=torch.device("cpu"))
    b.load_state_dict(state)
    for _ in range(10):
        torch.testing.assert_close(a.next(), b.next())


def test_batch_larger_than_dataset_is_an_error():
    with pytest.raises(DataError, match="larger than the training set"):
        InMemoryBatches(torch.zeros(5, 2), 8, 0, torch.device("cpu"))


def test_image_folder_loads_decodes_and_splits(compose, tmp_path):
    from PIL import Image

    for cls in ("a", "b"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(5):
            Image.new("RGB", (40, 30), (i * 50, 10, 200)).save(tmp_path / "imgs" / cls / f"{i}.png")
    cfg = compose("data=image_folder", f"data.root={tmp_path / 'imgs'}")
    ds = load_dataset(cfg.data)
    assert ds.train.dtype == torch.uint8
    assert ds.train.shape[1:] == (3, 16, 16) and ds.train.shape[0] + ds.heldout.shape[0] == 10


@pytest.mark.parametrize("layout", ["missing", "empty"])
def test_image_folder_errors_name_the_path(compose, tmp_path, layout):
    root = tmp_path / "imgs"
    if layout == "empty":
        (root / "cls").mkdir(parents=True)
    cfg = compose("data=image_folder", f"data.root={root}")
    with pytest.raises(DataError, match=str(root)):
        load_dataset(cfg.data)


def test_torchvision_dataset_missing_is_one_line(compose, tmp_path):
    cfg = compose("data=mnist", f"data.root={tmp_path}")
    with pytest.raises(DataError, match="data.download=true") as err:
        load_dataset(cfg.data)
    assert "\n" not in str(err.value) and str(tmp_path) in str(err.value)


def test_lsun_without_database_says_what_to_do(compose, tmp_path):
    cfg = compose("data=lsun", f"data.root={tmp_path}")
    with pytest.raises(DataError, match="lmdb|LMDB"):
        load_dataset(cfg.data)


def test_image_folder_is_decoded_once_and_cached_between_runs(compose, tmp_path, monkeypatch):
    from PIL import Image
    from torchvision import datasets

    root = tmp_path / "imgs"
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        for i in range(4):
            Image.new("RGB", (40, 30), (i * 50, 10, 200)).save(root / cls / f"{i}.png")
    cfg = compose("data=image_folder", f"data.root={root}")
    cache = tmp_path / "cache"
    first = load_dataset(cfg.data, cache_dir=cache)
    assert len(list((cache / "image_folder").glob("*.pt"))) == 1

    def no_decoding(self, index):
        raise AssertionError("decoded again")

    with monkeypatch.context() as patch:
        patch.setattr(datasets.ImageFolder, "__getitem__", no_decoding)
        again = load_dataset(cfg.data, cache_dir=cache)
    assert torch.equal(first.train, again.train) and torch.equal(first.heldout, again.heldout)
    # A changed file is a new cache entry; a damaged entry is rebuilt, not trusted.
    Image.new("RGB", (40, 30), (255, 255, 255)).save(root / "a" / "0.png")
    changed = load_dataset(cfg.data, cache_dir=cache)
    assert len(list((cache / "image_folder").glob("*.pt"))) == 2
    assert not torch.equal(torch.cat([first.train, first.heldout]).sort(0).values,
                           torch.cat([changed.train, changed.heldout]).sort(0).values)
    for entry in (cache / "image_folder").glob("*.pt"):
        entry.write_bytes(b"not a tensor")
    rebuilt = load_dataset(cfg.data, cache_dir=cache)
    assert torch.equal(rebuilt.train, changed.train)
