"""The parts every experiment's aggregation shares (wgan_repro.aggregate, wgan_repro.stats) on
small hand-built tables."""

import math

import pandas as pd
import pytest

from wgan_repro.aggregate import concatenated, diverged_note, diverged_seeds
from wgan_repro.stats import edge_medians, seed_band


def test_concatenated_keeps_the_declared_columns_in_order_and_sorts():
    first = pd.DataFrame({"seed": [1, 1], "extra": [9, 9], "x": [1, 0], "y": [0.5, 0.25]})
    second = pd.DataFrame({"y": [0.75], "x": [0], "seed": [0]})
    empty = pd.DataFrame(columns=["seed", "x", "y"])
    frame = concatenated([first, empty, second.assign(tag="a")], ["seed", "x", "y"], ["seed", "x"])
    assert list(frame.columns) == ["seed", "x", "y"]
    assert frame.to_dict("records") == [{"seed": 0, "x": 0, "y": 0.75},
                                        {"seed": 1, "x": 0, "y": 0.25},
                                        {"seed": 1, "x": 1, "y": 0.5}]
    unsorted = concatenated([first, second], ["seed", "x"])
    assert unsorted["seed"].tolist() == [1, 1, 0]  # no order: the tables' own
    assert list(concatenated([], ["seed", "x"]).columns) == ["seed", "x"]


def test_diverged_seeds_and_the_note_on_them():
    runs = [{"seed": 3, "diverged_at": 40}, {"seed": 0, "diverged_at": None}, {"seed": 1},
            {"seed": 2, "diverged_at": 7}]
    assert diverged_seeds(runs) == {2: 7, 3: 40}
    note = diverged_note({f"seed {s}": i for s, i in diverged_seeds(runs).items()},
                         "left out, DCGAN diverged")
    assert note == ("; left out, DCGAN diverged: seed 2 at generator iteration 7, seed 3 at "
                    "generator iteration 40")
    assert diverged_note({}, "diverged") == ""


def _fig2_table():
    # two seeds, one snapshot, 41 D iterations: the first and last 5% are d_iter <= 2, >= 38
    rows = [{"epoch": 1, "seed": seed, "d_iter": d, "value": 100.0 * (seed + 1) / (d + 1)}
            for seed in (0, 1) for d in range(41)]
    return pd.DataFrame(rows)


def test_seed_band_is_the_median_and_range_over_seeds_per_x():
    band = seed_band(_fig2_table(), "d_iter", "value")
    assert band.loc[0].to_dict() == {"median": 150.0, "min": 100.0, "max": 200.0}
    assert band.loc[40, "median"] == pytest.approx(150.0 / 41)


def test_edge_medians_are_seed_medians_of_each_edge():
    medians = edge_medians(_fig2_table(), "value")
    start = (100.0 + 200.0) / 2
    first = (100.0 / 2 + 200.0 / 2) / 2  # each seed's median over d_iter 0, 1, 2
    last = (100.0 / 40 + 200.0 / 40) / 2  # each seed's median over d_iter 38, 39, 40
    assert medians[1]["start"] == start
    assert medians[1]["first"] == pytest.approx(first)
    assert medians[1]["last"] == pytest.approx(last)
    assert math.isnan(edge_medians(_fig2_table().query("d_iter > 0"), "value")[1]["start"])
