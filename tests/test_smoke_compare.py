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


def test_renames_made_on_purpose_compare_equal_and_numbers_still_count(tmp_path):
    """Issue #22 moved probe/ to probe_adam/ and probe_noise/, renamed ablate's objective column
    to arm and fig2.probe_steps to fig2.update_steps: the BEFORE folder is read under the new
    names, and a number that moved is still named."""
    before, after = tmp_path / "before", tmp_path / "after"
    for folder in (before, after):
        (folder / "ablate").mkdir(parents=True)
    (before / "probe").mkdir()
    (after / "probe_adam").mkdir()
    (before / "probe" / "adam_cosine.csv").write_text("arm,step_cosine\nadam,0.5\n")
    (after / "probe_adam" / "adam_cosine.csv").write_text("arm,step_cosine\nadam,0.5\n")
    (before / "ablate" / "metrics.csv").write_text("variant,objective,fcd\nmlp,gan,3.0\n")
    (after / "ablate" / "metrics.csv").write_text("variant,arm,fcd\nmlp,gan,3.0\n")
    (before / "claims.csv").write_text('rule,source\n"takes fig2.probe_steps steps",'
                                       'probe/adam_cosine.csv (tier smoke)\n')
    (after / "claims.csv").write_text('rule,source\n"takes fig2.update_steps steps",'
                                      'probe_adam/adam_cosine.csv (tier smoke)\n')
    assert smoke_compare.compare(before, after) == []
    (after / "ablate" / "metrics.csv").write_text("variant,arm,fcd\nmlp,gan,3.5\n")
    (problem,) = smoke_compare.compare(before, after)
    assert problem.startswith("ablate/metrics.csv")
