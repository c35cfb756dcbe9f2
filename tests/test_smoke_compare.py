"""tools/smoke_compare.py: the refactor check finds every moved number and ignores times."""

import importlib.util
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parent.parent / "tools" / "smoke_compare.py"
spec = importlib.util.spec_from_file_location("smoke_compare", TOOL)
smoke_compare = importlib.util.module_from_spec(spec)
spec.loader.exec_module(smoke_compare)


@pytest.fixture
def folders(tmp_path):
    before, after = tmp_path / "before", tmp_path / "after"
    for folder in (before, after):
        (folder / "fig2").mkdir(parents=True)
        (folder / "fig2" / "grad_norms.csv").write_text("epoch,d_iter,grad\n1,0,5.0\n1,10,0.5\n")
        (folder / "timings.csv").write_text("experiment,wall_s\nfig2,12.0\n")
    (after / "timings.csv").write_text("experiment,wall_s\nfig2,99.0\n")  # times may differ
    return before, after


def test_identical_numbers_pass_and_times_are_ignored(folders):
    before, after = folders
    for folder, seconds in ((before, 1.5), (after, 7.25)):
        (folder / "run.csv").write_text(f"gen_iter,loss,seconds\n1,0.25,{seconds}\n")
    assert smoke_compare.compare(before, after) == []


def test_a_moved_number_is_named(folders):
    before, after = folders
    (after / "fig2" / "grad_norms.csv").write_text("epoch,d_iter,grad\n1,0,5.0\n1,10,0.5000001\n")
    problems = smoke_compare.compare(before, after)
    assert len(problems) == 1 and problems[0].startswith("fig2/grad_norms.csv")


def test_a_missing_or_new_file_and_a_new_column_are_named(folders):
    before, after = folders
    (before / "fig2" / "old.csv").write_text("a\n1\n")
    (after / "fig2" / "new.csv").write_text("a\n1\n")
    (after / "fig2" / "grad_norms.csv").write_text("epoch,d_iter,grad,extra\n1,0,5.0,1\n1,10,0.5,1\n")
    problems = smoke_compare.compare(before, after)
    assert "only before: fig2/old.csv" in problems and "only after: fig2/new.csv" in problems
    assert any(p.startswith("fig2/grad_norms.csv") for p in problems)
