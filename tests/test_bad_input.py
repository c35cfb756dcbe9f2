"""Bad command lines: each gives its documented exit code, one "error: " line on stderr, no
traceback, and leaves every file already in the results folder byte-identical.

One table (BAD_INPUTS), one test. Each row runs the real entry point in-process against a
copy of a pre-existing results folder (a finished tiny `train` run and a claims.csv), made
once per module.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from conftest import run_main  # the real entry point, in-process

from wgan_repro import cli, hydra_runner
from wgan_repro.train import run_dir_for

# Documented exit codes (wgan_repro/errors.py EXIT_CODES).
CONFIG, DATASET, CHECKPOINT, RESULTS = 2, 3, 4, 5

# The tiny finished run every row's results folder starts with; the checkpoint rows rerun it.
TINY_RUN = ("train.iterations=3", "run_name=x", "progress=none")
SMOKE = ("--scale", "smoke", "--results", "{results}", "progress=none")
RERUN_TINY = ("train", "--scale", "smoke", "--results", "{results}", *TINY_RUN)

# Root can create folders anywhere except in pseudo file systems such as /sys.
IS_ROOT = os.geteuid() == 0
UNWRITABLE_RESULTS = "/sys/wgan-repro-test/r" if IS_ROOT else "{results}"
UNWRITABLE_FRAGMENT = "cannot create results folder" if IS_ROOT else "is not writable"


# ---- what a row does to its results folder before the call ------------------------------------
def checkpoint_of_tiny_run(results: Path) -> Path:
    cfg = hydra_runner.compose(["scale=smoke", f"results_dir={results}", *TINY_RUN])
    return run_dir_for(cfg) / "checkpoints" / "last.pt"


def overwrite_checkpoint(garbage: bytes) -> Callable[[Path], None]:
    def prepare(results: Path) -> None:
        checkpoint_of_tiny_run(results).write_bytes(garbage)

    return prepare


def truncate_checkpoint(results: Path) -> None:
    path = checkpoint_of_tiny_run(results)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])


def flip_bytes_inside_checkpoint(results: Path) -> None:
    """Damage the tensor data but keep the zip intact: torch.load alone would not notice."""
    path = checkpoint_of_tiny_run(results)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 8] = bytes(255 - b for b in data[middle:middle + 8])
    path.write_bytes(bytes(data))


def replace_with_foreign_checkpoint(results: Path) -> None:
    torch.save({"weights": torch.zeros(2)}, checkpoint_of_tiny_run(results))


def disk_full_at_the_checkpoint(error: BaseException) -> Callable[[pytest.MonkeyPatch], None]:
    """torch.save fails as it does on a full disk, which shutil.disk_usage then reports."""
    import shutil

    def patch(monkeypatch: pytest.MonkeyPatch) -> None:
        def failing_save(obj, f, *args, **kwargs):
            Path(f).write_bytes(b"PK")  # a short write, as the full disk left it
            raise error

        monkeypatch.setattr(torch, "save", failing_save)
        monkeypatch.setattr(shutil, "disk_usage",
                            lambda path: shutil._ntuple_diskusage(300 * 1024, 300 * 1024, 0))

    return patch


def make_empty_dataset_folder(results: Path) -> None:
    (results.parent / "empty_dataset").mkdir()


def make_results_read_only(results: Path) -> None:
    if not IS_ROOT:  # root ignores permissions: that row points at /sys instead
        results.chmod(0o555)


@dataclass(frozen=True)
class BadInput:
    id: str
    description: str  # the input, in words
    args: tuple[str, ...]  # {results}, {tmp} are filled in per row
    exit_code: int
    fragment: str  # a stable part of the one-line message
    prepare: Callable[[Path], None] | None = None  # called with the results folder
    # called with pytest's monkeypatch: what the machine lacks (e.g. an uninstalled plugin)
    patch: Callable[[pytest.MonkeyPatch], None] | None = None


BAD_INPUTS = [
    BadInput("unknown-verb-option", "train with an option it does not have (--bogus)",
             ("train", *SMOKE, "--bogus"), CONFIG, "No such option: --bogus"),
    BadInput("unknown-verb", "a verb that does not exist (nope)",
             ("nope", *SMOKE), CONFIG, "No such command 'nope'"),
    BadInput("unknown-config-key", "a misspelt config key (optim.lrr=1)",
             ("train", *SMOKE, "optim.lrr=1"), CONFIG, "unknown config key 'optim.lrr'"),
    BadInput("unknown-optim-option", "a config group option that does not exist (optim=bogus)",
             ("train", *SMOKE, "optim=bogus"), CONFIG, "Could not find 'optim/bogus'"),
    BadInput("unknown-data-option", "a dataset that does not exist (data=nope)",
             ("train", *SMOKE, "data=nope"), CONFIG, "Could not find 'data/nope'"),
    BadInput("float-for-int", "a float for an integer key (train.iterations=1.5)",
             ("train", *SMOKE, "train.iterations=1.5"), CONFIG, "train.iterations"),
    BadInput("text-for-int", "text for an integer key (generator.ngf=abc)",
             ("train", *SMOKE, "generator.ngf=abc"), CONFIG, "generator.ngf"),
    BadInput("text-for-seed-option", "text for --seed (--seed abc)",
             ("train", *SMOKE, "--seed", "abc"), CONFIG, "'--seed'"),
    BadInput("zero-lr", "a learning rate of zero (optim.lr=0)",
             ("train", *SMOKE, "optim.lr=0"), CONFIG, "optim.lr must be > 0"),
    BadInput("negative-lr", "a negative learning rate (optim.lr=-1)",
             ("train", *SMOKE, "optim.lr=-1"), CONFIG, "optim.lr must be > 0"),
    BadInput("zero-clip", "a weight clipping bound of zero (objective=wgan_clip objective.clip=0)",
             ("train", *SMOKE, "objective=wgan_clip", "objective.clip=0"), CONFIG,
             "objective.clip must be > 0"),
    BadInput("zero-n-critic", "no critic updates per generator update (objective.n_critic=0)",
             ("train", *SMOKE, "objective.n_critic=0"), CONFIG, "objective.n_critic must be >= 1"),
    BadInput("zero-batch-size", "a batch size of zero (train.batch_size=0)",
             ("train", *SMOKE, "train.batch_size=0"), CONFIG, "train.batch_size must be >= 1"),
    BadInput("fig2-epochs-decreasing", "fig2 snapshots not strictly increasing (--epochs 3,2)",
             ("fig2", *SMOKE, "--epochs", "3,2"), CONFIG, "strictly increasing"),
    BadInput("fig2-epoch-zero", "a fig2 snapshot at epoch 0 (--epochs 0,2)",
             ("fig2", *SMOKE, "--epochs", "0,2"), CONFIG, ">= 1"),
    BadInput("unsupported-image-size", "an image size DCGAN cannot build (data.image_size=48)",
             ("train", *SMOKE, "data.image_size=48"), CONFIG, "data.image_size must be 16, 32 or 64"),
    BadInput("missing-dataset-folder", "an image folder dataset whose root does not exist",
             ("train", *SMOKE, "data=image_folder", "data.root={tmp}/no_such_dataset"), DATASET,
             "is not a folder"),
    BadInput("empty-dataset-folder", "an image folder dataset whose root is an empty folder",
             ("train", *SMOKE, "data=image_folder", "data.root={tmp}/empty_dataset"), DATASET,
             "no images under", make_empty_dataset_folder),
    BadInput("results-is-a-file", "--results pointing at an existing file (claims.csv)",
             ("train", "--scale", "smoke", "--results", "{results}/claims.csv", "progress=none"),
             RESULTS, "is a file"),
    BadInput("results-not-writable", "--results where no folder can be written",
             ("train", "--scale", "smoke", "--results", UNWRITABLE_RESULTS, "progress=none"),
             RESULTS, UNWRITABLE_FRAGMENT, make_results_read_only),
    BadInput("corrupted-checkpoint-zeros", "rerun a finished run whose last.pt is 4 KiB of zeros",
             RERUN_TINY, CHECKPOINT, "corrupted", overwrite_checkpoint(bytes(4096))),
    BadInput("corrupted-checkpoint-text", "rerun a finished run whose last.pt is a line of text",
             RERUN_TINY, CHECKPOINT, "corrupted",
             overwrite_checkpoint(b"these are not the bytes of a torch file")),
    BadInput("corrupted-checkpoint-pickle-protocol",
             "rerun a finished run whose last.pt starts like a pickle of unknown protocol",
             RERUN_TINY, CHECKPOINT, "corrupted",
             overwrite_checkpoint(b"\x80\xc5 and then garbage")),
    BadInput("truncated-checkpoint", "rerun a finished run whose last.pt lost its second half",
             RERUN_TINY, CHECKPOINT, "corrupted", truncate_checkpoint),
    BadInput("bit-flipped-checkpoint", "rerun a finished run whose last.pt has 8 bytes flipped "
             "inside its tensor data", RERUN_TINY, CHECKPOINT, "fails its CRC check",
             flip_bytes_inside_checkpoint),
    BadInput("foreign-checkpoint", "rerun a finished run whose last.pt is someone else's dict",
             RERUN_TINY, CHECKPOINT, "not written by wgan-repro", replace_with_foreign_checkpoint),
    BadInput("resume-with-other-config", "same run_name as the finished run, another optim.lr",
             (*RERUN_TINY, "optim.lr=1e-3"), CHECKPOINT, "differs in: optim.lr"),
    BadInput("seed-given-twice", "the seed as an option and as an override (--seed 1 seed=2)",
             ("train", *SMOKE, "--seed", "1", "seed=2"), CONFIG, "give seed once"),
    BadInput("not-key-value", "an extra argument that is not KEY=VALUE",
             ("train", *SMOKE, "notanoverride"), CONFIG, "'notanoverride' is not KEY=VALUE"),
    BadInput("infinite-lr", "a learning rate of infinity (optim.lr=inf)",
             ("train", *SMOKE, "optim.lr=inf"), CONFIG, "optim.lr must be a finite number"),
    BadInput("nan-clip", "a clipping bound that is not a number (objective.clip=nan)",
             ("train", *SMOKE, "objective.clip=nan"), CONFIG,
             "objective.clip must be a finite number"),
    BadInput("empty-results", "an empty results folder (--results '')",
             ("train", "--scale", "smoke", "--results", "", "progress=none"), CONFIG,
             "--results needs a folder path"),
    BadInput("empty-results-override", "an empty results_dir override (results_dir='')",
             ("train", "--scale", "smoke", "results_dir=''", "progress=none"), CONFIG,
             "results_dir must be a folder path"),
    BadInput("repeated-seed", "the same seed twice (ablate --seeds 0,0)",
             ("ablate", "--mlp", *SMOKE, "--seeds", "0,0"), CONFIG,
             "names seed 0 more than once"),
    BadInput("repeated-seed-override", "the same seed twice as an override (fig2.seeds=[1,1])",
             ("fig2", *SMOKE, "fig2.seeds=[1,1]"), CONFIG,
             "fig2.seeds names seed 1 more than once"),
    BadInput("toy-infinite-lr", "toy with a non-finite learning rate (toy optim.lr=inf)",
             ("toy", *SMOKE, "optim.lr=inf"), CONFIG, "optim.lr must be a finite number"),
    BadInput("seed-too-large", "a seed beyond 64 bits (seed=99999999999999999999)",
             ("train", *SMOKE, "seed=99999999999999999999"), CONFIG,
             "seed must be in 0 .. 2**32 - 1 (4294967295), got 99999999999999999999"),
    BadInput("negative-seed", "a negative seed (--seed -1)",
             ("train", *SMOKE, "--seed", "-1"), CONFIG, "seed must be in 0 .. 2**32 - 1"),
    BadInput("seeds-out-of-range", "a seed list with 2**32 in it (fig2 --seeds 0,4294967296)",
             ("fig2", *SMOKE, "--seeds", "0,4294967296"), CONFIG,
             "fig2.seeds must be in 0 .. 2**32 - 1"),
    BadInput("split-seed-negative", "a negative split seed (data.split_seed=-3)",
             ("train", *SMOKE, "data.split_seed=-3"), CONFIG, "data.split_seed must be in"),
    BadInput("disk-full-torch", "a full disk while the checkpoint is written (torch's "
             "'unexpected pos' error)", (*RERUN_TINY[:-1], "train.iterations=6"), RESULTS,
             "no space left on device while writing",
             patch=disk_full_at_the_checkpoint(RuntimeError(
                 "[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0"))),
    BadInput("disk-full-enospc", "a full disk while the checkpoint is written (OSError ENOSPC)",
             (*RERUN_TINY[:-1], "train.iterations=6"), RESULTS,
             "no space left on device while writing",
             patch=disk_full_at_the_checkpoint(OSError(28, "No space left on device"))),
    BadInput("launcher-plugin-missing", "--launcher joblib with its plugin uninstalled",
             ("train", *SMOKE, "--launcher", "joblib"), CONFIG,
             "pip install hydra-joblib-launcher",
             patch=lambda monkeypatch: monkeypatch.setattr(hydra_runner, "plugin_installed",
                                                           lambda module: False)),
]


# ---- the pre-existing results folder ------------------------------------------------------------
@pytest.fixture(scope="module")
def finished_results(tmp_path_factory) -> Path:
    """A results folder holding a finished 3-iteration smoke run and a claims.csv."""
    results = tmp_path_factory.mktemp("finished") / "results"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", ["wgan-repro", *(a.format(results=results) for a in RERUN_TINY)])
        with pytest.raises(SystemExit) as exit_info:
            cli.main()
    assert exit_info.value.code == 0
    assert checkpoint_of_tiny_run(results).is_file()
    (results / "claims.csv").write_text(
        "experiment,claim,paper_value,measured_value,verdict,source\n"
        "fig2,gradient vanishes,1e-8,2e-9,reproduced,fig2/grad_norms.csv\n")
    return results


def folders(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_dir()}


def file_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file under folder, by relative path."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("bad", BAD_INPUTS, ids=[bad.id for bad in BAD_INPUTS])
def test_bad_input_is_one_error_line_with_its_exit_code_and_damages_nothing(
        monkeypatch, capsys, tmp_path, finished_results, bad):
    results = tmp_path / "results"
    shutil.copytree(finished_results, results)
    try:
        if bad.prepare is not None:
            bad.prepare(results)
        if bad.patch is not None:
            bad.patch(monkeypatch)
        before = file_hashes(results)  # after prepare: a bad checkpoint must stay as it was
        folders_before = folders(results)
        args = [a.format(results=results, tmp=tmp_path) for a in bad.args]
        exit_code, out, err = run_main(monkeypatch, capsys, *args)
        after = file_hashes(results)
        new_folders = folders(results) - folders_before
    finally:
        results.chmod(0o755)

    assert exit_code == bad.exit_code, err
    assert "Traceback" not in out + err
    assert err.count("\n") == 1 and err.endswith("\n"), f"not one line: {err!r}"
    assert err.startswith("error: ") and bad.fragment in err, err
    damaged = {path for path, digest in before.items() if after.get(path) != digest}
    assert not damaged, f"pre-existing files changed or removed: {sorted(damaged)}"
    assert not new_folders, f"the failed command left new folders: {sorted(new_folders)}"
