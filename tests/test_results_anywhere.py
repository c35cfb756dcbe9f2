"""A results folder anywhere (issue #24): paths with spaces, quotes, '=', ',' and non-ASCII
characters reach Hydra quoted; a full disk while a checkpoint is written is one line, keeps
the checkpoint before it, and a rerun resumes from it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from conftest import run_main
from hydra.core.override_parser.overrides_parser import OverridesParser

from wgan_repro import hydra_runner

AWKWARD = ["/Users/Jane Doe/r", "it's", 'say "hi"', "a=b, c", "résultats ü", "back\\slash",
           "ends with \\", "quote after backslash \\'", "{braces} [x] (y)"]


@pytest.mark.parametrize("value", AWKWARD)
def test_a_quoted_value_parses_back_to_itself(value):
    override = OverridesParser.create().parse_override(f"results_dir={hydra_runner.quote(value)}")
    assert override.value() == value and not override.is_sweep_override()


def test_only_path_keys_are_quoted_and_a_quoted_value_is_left_alone():
    assert hydra_runner.quoted_paths(["results_dir=/a b", "data.root='/x y'", "seed=1",
                                      "optim.lr=1e-4,2e-4", "+data.root=/p,q"]) == [
        "results_dir='/a b'", "data.root='/x y'", "seed=1", "optim.lr=1e-4,2e-4",
        "+data.root='/p,q'"]


def test_train_fig2_and_report_write_where_asked_under_an_awkward_path(monkeypatch, capsys,
                                                                       tmp_path):
    results = tmp_path / "r ü" / "it's a=b, c" / "x y"
    root = tmp_path / "data 'root', = ü"
    code, out, err = run_main(monkeypatch, capsys, "train", "--scale", "smoke", "--results",
                              str(results), f"data.root={root}", "train.iterations=2",
                              "progress=none")
    assert code == 0, err
    assert list((results / "train").glob("*/checkpoints/last.pt"))
    code, out, err = run_main(monkeypatch, capsys, "fig2", "--scale", "smoke", "--epochs", "1",
                              "--seeds", "0", "--results", str(results), f"data.root={root}",
                              "progress=none")
    assert code == 0, err
    assert (results / "fig2" / "grad_norms.csv").is_file()
    assert (results / "timings.csv").read_text().count(str(results)) == 1  # the command
    code, out, err = run_main(monkeypatch, capsys, "report", "--results", str(results))
    assert code == 0, err
    assert (results / "REPORT.md").is_file() and (results / "report.pdf").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r ü"]  # nothing written elsewhere


def test_a_rerun_after_a_full_disk_resumes_from_the_checkpoint_before_it(monkeypatch, capsys,
                                                                         tmp_path):
    args = ("train", "--scale", "smoke", "--results", str(tmp_path), "run_name=x",
            "progress=none", "train.checkpoint_every=3")
    code, _, err = run_main(monkeypatch, capsys, *args, "train.iterations=3")
    assert code == 0, err
    last = tmp_path / "train" / "x" / "checkpoints" / "last.pt"
    real_save = torch.save

    def full_disk(obj, f, *a, **k):
        Path(f).write_bytes(b"PK\x03")  # the first bytes, then the disk is full
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0")

    with monkeypatch.context() as patch:
        patch.setattr(torch, "save", full_disk)
        patch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(1 << 20, 1 << 20, 0))
        code, _, err = run_main(monkeypatch, capsys, *args, "train.iterations=9")
    assert code == 5 and err.count("\n") == 1
    assert f"no space left on device while writing {last}" in err and "rerun" in err
    assert torch.load(last, weights_only=False)["gen_iter"] == 3  # the good one, intact
    assert not list(last.parent.glob(".*.tmp"))  # the short write is gone
    assert torch.save is real_save
    code, out, err = run_main(monkeypatch, capsys, *args, "train.iterations=9")
    assert code == 0, err
    assert torch.load(last, weights_only=False)["gen_iter"] == 9
    assert len((tmp_path / "train" / "x" / "metrics.csv").read_text().splitlines()) == 1 + 9
