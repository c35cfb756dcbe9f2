"""The experiment registry: one row per experiment, read by the CLI, plans, claims, plots and
report; an experiment registered from here is planned, run at smoke size, judged, plotted and
reported with no other file touched."""

import json
from pathlib import Path

import pandas as pd
import pytest

from wgan_repro import hydra_runner, registry
from wgan_repro.plans import Plan, execute, validated
from wgan_repro.results import write_csv, write_json

REPO = Path(__file__).resolve().parent.parent


# ---- a dummy experiment: its module would hold these five functions ------------------------------
def plan_dummy(user: list[str]) -> Plan:
    """Two seeds of a 3-iteration smoke WGAN, in results/dummy/."""
    base = ["scale=smoke", "experiment_name=dummy", "train.iterations=3", "progress=none", *user]
    cfg = validated(base)
    return Plan("dummy", cfg, [[*base, f"seed={s}"] for s in (0, 1)], [0, 1])


def run_dummy(cfg) -> dict:
    from wgan_repro.train import train

    return {"seed": cfg.seed, "run_dir": train(cfg)["run_dir"]}


ESTIMATE_COLUMNS = ("seed", "gen_iter", "wasserstein_estimate")


def aggregate_dummy(plan: Plan, runs: list[dict]) -> dict:
    frames = [pd.read_csv(Path(r["run_dir"]) / "metrics.csv").assign(seed=r["seed"])
              for r in runs]
    rows = pd.concat(frames)[list(ESTIMATE_COLUMNS)].to_dict("records")
    write_csv(plan.results_dir / "dummy" / "estimates.csv", rows, ESTIMATE_COLUMNS)
    summary = {"seeds": plan.seeds, "source": "dummy/estimates.csv"}
    write_json(plan.results_dir / "dummy" / "summary.json", summary)
    return summary


def judge_dummy(results_dir: Path) -> list:
    from wgan_repro.verdicts import Claim, check

    frame = pd.read_csv(Path(results_dir) / "dummy" / "estimates.csv")
    last = frame.groupby("seed")["wasserstein_estimate"].last()
    claim = Claim("dummy", "dummy_estimate_finite", "the critic's estimate is a number",
                  "no paper: a test", "every seed's last estimate is finite", "finite")
    outcome = check("every last estimate finite", lambda: bool(last.notna().all()), *last)
    return [claim.judged(outcome, f"{len(last)} seeds", "dummy/estimates.csv")]


def figures_dummy(folder: Path) -> list[Path]:
    from wgan_repro.plots.style import pyplot, save

    frame = pd.read_csv(folder / "estimates.csv")
    plt = pyplot()
    fig, ax = plt.subplots()
    for seed, group in frame.groupby("seed"):
        ax.plot(group["gen_iter"], group["wasserstein_estimate"], label=f"seed {seed}")
    save(fig, folder / "estimates.pdf")
    plt.close("all")
    return [folder / "estimates.pdf"]


DUMMY = registry.Experiment(
    "dummy", "dummy", "A dummy experiment registered by a test", plan_dummy, run_dummy,
    aggregate_dummy, judge_dummy, figures_dummy, marker="estimates.csv", seeds_key=None)


def test_a_registered_experiment_is_planned_run_judged_plotted_and_reported(monkeypatch,
                                                                            tmp_path):
    from wgan_repro import claims
    from wgan_repro.report import build_report

    monkeypatch.setitem(registry.EXPERIMENTS, "dummy", DUMMY)  # the one row
    (result,) = execute(DUMMY, [f"results_dir={tmp_path}"], command="test", echo=lambda _: None)
    folder = tmp_path / "dummy"
    assert sorted(p.name for p in folder.iterdir() if p.is_file() and p.name[0] != ".") == [
        "config.yaml", "estimates.csv", "estimates.pdf", "summary.json"]
    assert len(pd.read_csv(folder / "estimates.csv")) == 6  # 2 seeds x 3 iterations
    row = result.summary["claims"][0]
    assert (row["claim_id"], row["verdict"]) == ("dummy_estimate_finite", "reproduced")
    assert json.loads((folder / "summary.json").read_text())["claims"] == [row]
    table = pd.read_csv(tmp_path / "claims.csv")
    assert table["experiment"].tolist() == ["dummy"]
    assert pd.read_csv(tmp_path / "timings.csv")["experiment"].tolist() == ["dummy"]
    assert list(claims.rejudge(tmp_path)) == ["dummy"]
    built = build_report(tmp_path)
    markdown = built["markdown"].read_text()
    assert "## dummy" in markdown and "A dummy experiment registered by a test" in markdown
    assert "[PDF](dummy/estimates.pdf)" in markdown and built["experiments"] == ["dummy"]


def test_every_row_has_one_name_for_verb_folder_config_and_summary():
    for name, row in registry.EXPERIMENTS.items():
        assert row.name == name == row.folder
        config = REPO / "conf" / "experiment" / f"{name}.yaml"
        text = config.read_text()
        assert f"\nexperiment_name: {name}\n" in text, name
        assert text.splitlines()[1] == f"# run: wgan-repro {row.verb}" or \
            text.splitlines()[1].startswith(f"# run: wgan-repro {row.verb.split(' --')[0]}"), name
        cfg = hydra_runner.compose([f"experiment={name}"])
        assert cfg.experiment_name == name
        for ref in (row.plan, row.task, row.aggregate, row.judge, row.figures):
            assert callable(registry.resolve(ref)), (name, ref)


def test_an_unknown_experiment_names_the_known_ones():
    with pytest.raises(KeyError, match="no experiment named 'fig9' \\(have fig2, curve"):
        registry.get("fig9")


def test_adding_an_experiment_touches_no_other_list():
    """The experiments are listed in the registry only: no module keeps a table of its own.
    (cli.py names the verbs that have options of their own; a row without one gets a verb from
    the registry: test_a_row_without_its_own_verb_gets_one.)"""
    names = set(registry.EXPERIMENTS)
    for path in (REPO / "wgan_repro").rglob("*.py"):
        if path.name in ("registry.py", "cli.py"):
            continue
        text = path.read_text()
        listed = [n for n in names if f'"{n}"' in text]
        assert len(listed) < 4, f"{path.relative_to(REPO)} lists experiments {sorted(listed)}"


def test_a_row_without_its_own_verb_gets_one(monkeypatch):
    from wgan_repro import cli

    monkeypatch.setattr(cli.app, "registered_commands", list(cli.app.registered_commands))
    cli.add_registry_verbs([DUMMY])
    (command,) = [c for c in cli.app.registered_commands if c.name == "dummy"]
    assert command.callback.__doc__ == DUMMY.title
    options = {name for name in command.callback.__signature__.parameters}
    assert {"overrides", "seeds", "results", "scale", "launcher", "show_config"} <= options
