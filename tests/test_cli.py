"""The command line: verbs, exit codes, one-line errors (Typer's CliRunner and main())."""

import subprocess
import sys

import pytest
from conftest import run_main
from typer.testing import CliRunner

from wgan_repro import cli

runner = CliRunner()


def test_help_lists_the_verbs():
    result = runner.invoke(cli.app, ["--help"])
    assert result.exit_code == 0 and "train" in result.output


def test_train_help_documents_every_option():
    result = runner.invoke(cli.app, ["train", "--help"])
    for option in ("--results", "--scale", "--seed", "--show-config", "--debug"):
        assert option in result.output


def test_show_config_prints_the_resolved_config_and_runs_nothing(tmp_path):
    result = runner.invoke(cli.app, ["train", "--show-config", "--scale", "smoke",
                                     "--results", str(tmp_path)])
    assert result.exit_code == 0
    assert "tier: smoke" in result.output and "lr: 5.0e-05" in result.output
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("args,code,fragment", [
    (["train", "data=nope"], 2, "Could not find 'data/nope'"),
    (["train", "optim.lr=-1"], 2, "optim.lr must be > 0"),
    (["train", "objective=wgan_clip", "objective.clip=0"], 2, "objective.clip must be > 0"),
    (["train", "data=image_folder", "data.root=/nonexistent"], 3, "/nonexistent"),
    (["train", "generator.ngf=abc"], 2, "generator.ngf"),
    (["train", "--bogus"], 2, "No such option: --bogus"),
    (["nope"], 2, "No such command"),
    (["train", "--seed", "1", "seed=2"], 2, "give seed once"),
    (["train", "notanoverride"], 2, "is not KEY=VALUE"),
    (["train", "--scale", "huge"], 2, "--scale"),
])
def test_bad_input_is_one_line_and_a_nonzero_exit(monkeypatch, capsys, tmp_path, args, code,
                                                  fragment):
    exit_code, out, err = run_main(monkeypatch, capsys, *args, "--results", str(tmp_path / "r"))
    assert exit_code == code
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]
    assert "Traceback" not in err + out


def test_results_path_that_is_a_file(monkeypatch, capsys, tmp_path):
    (tmp_path / "file").write_text("x")
    code, _, err = run_main(monkeypatch, capsys, "train", "--scale", "smoke", "--results",
                            str(tmp_path / "file"))
    assert code == 5 and "is a file" in err


def test_train_smoke_end_to_end_prints_where_results_are(monkeypatch, capsys, tmp_path):
    code, out, err = run_main(monkeypatch, capsys, "train", "--scale", "smoke", "--seed", "3",
                              "--results", str(tmp_path), "progress=none")
    assert code == 0, err
    assert "finished after 20 generator iterations" in out
    run_dirs = list((tmp_path / "train").iterdir())
    assert len(run_dirs) == 1 and "-s3-" in run_dirs[0].name
    assert f"results: {run_dirs[0]}" in out.replace("\n", "")


def test_console_script_runs_as_a_module(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "wgan_repro", "train", "optim.lr=-1"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: optim.lr must be > 0, got -1.0"


@pytest.mark.parametrize("epochs,fragment", [
    ("20,1", "strictly increasing"), ("0", ">= 1"), ("a,b", "comma-separated integers")])
def test_fig2_bad_epochs_are_one_line_errors(monkeypatch, capsys, tmp_path, epochs, fragment):
    code, out, err = run_main(monkeypatch, capsys, "fig2", "--epochs", epochs, "--results",
                              str(tmp_path))
    assert code == 2 and len(err.strip().splitlines()) == 1 and fragment in err
    assert not any(tmp_path.iterdir())  # nothing ran, nothing written


def test_fig2_show_config(monkeypatch, capsys, tmp_path):
    code, out, _ = run_main(monkeypatch, capsys, "fig2", "--epochs", "1,20,25", "--show-config",
                            "--results", str(tmp_path))
    assert code == 0 and "epochs:\n  - 1\n  - 20\n  - 25" in out and "name: gan_nonsaturating" in out


def test_fig2_seed_and_seeds_are_exclusive(monkeypatch, capsys, tmp_path):
    code, _, err = run_main(monkeypatch, capsys, "fig2", "--seed", "1", "--seeds", "0,1",
                            "--results", str(tmp_path))
    assert code == 2 and "not both" in err


def test_fig2_single_seed(monkeypatch, capsys, tmp_path):
    code, out, _ = run_main(monkeypatch, capsys, "fig2", "--seed", "4", "--show-config",
                            "--results", str(tmp_path))
    assert code == 0 and "seeds:\n  - 4\n" in out


VERBS = (["train"], ["fig2"], ["curve"], ["ablate"], ["toy"], ["probe", "adam"],
         ["probe", "noise"], ["all"])
SHARED = ("--seeds", "--seed", "--launcher", "--results", "--scale", "--show-config", "--debug")


@pytest.mark.parametrize("verb", VERBS, ids=" ".join)
def test_every_verb_takes_the_shared_options(verb):
    result = runner.invoke(cli.app, [*verb, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    missing = [option for option in SHARED if option not in result.output]
    assert not missing, f"{' '.join(verb)} lacks {missing}"


@pytest.mark.parametrize("verb", VERBS, ids=" ".join)
def test_help_text_is_rewrapped_not_broken_where_the_source_wraps(verb):
    # The docstrings wrap at 100 columns in the source; at 200 columns every line of the
    # description but its last must be filled near the width, or the source's breaks show.
    result = runner.invoke(cli.app, [*verb, "--help"], env={"COLUMNS": "200"})
    lines = [line.strip() for line in result.output.splitlines()]
    first = lines.index(next(line for line in lines if line.startswith("Usage:"))) + 2
    paragraph = lines[first:lines.index("", first)]
    assert paragraph and all(len(line) > 150 for line in paragraph[:-1]), paragraph


def test_toy_takes_seeds(monkeypatch, capsys, tmp_path):
    import yaml

    for args, seeds, jobs in ((["--seeds", "0,1"], [0, 1], "# 2 jobs"),
                              (["--seed", "3"], [3], "# 1 job ")):
        code, out, err = run_main(monkeypatch, capsys, "toy", *args, "--scale", "smoke",
                                  "--results", str(tmp_path), "--show-config")
        assert code == 0, err
        assert yaml.safe_load(out)["toy"]["seeds"] == seeds and jobs in out
    assert not any(tmp_path.iterdir())  # nothing ran


def test_debug_shows_the_traceback_instead_of_one_line(monkeypatch, capsys, tmp_path):
    from wgan_repro.errors import ConfigError

    monkeypatch.setattr(sys, "argv", ["wgan-repro", "train", "optim.lr=-1", "--debug",
                                      "--results", str(tmp_path)])
    with pytest.raises(ConfigError, match="optim.lr must be > 0"):
        cli.main()
