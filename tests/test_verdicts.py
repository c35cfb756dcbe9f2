"""wgan_repro.verdicts: the three-valued verdict logic every claim shares, and the claim record."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wgan_repro import results, verdicts
from wgan_repro.claims import toy as toy_claims
from wgan_repro.verdicts import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, Outcome


def _never():
    raise AssertionError("must not be called")


OK, FAIL, UNKNOWN = (Outcome(REPRODUCED), Outcome(NOT_REPRODUCED, "fails: a"),
                     Outcome(INCONCLUSIVE, "no data for: b"))


@pytest.mark.parametrize("missing", [None, math.nan, np.float32("nan"), np.nan])
def test_check_missing_value_is_inconclusive_and_ok_is_not_called(missing):
    out = verdicts.check("x >= 1", _never, 2.0, missing)
    assert out.verdict == INCONCLUSIVE
    assert out.reason == "no data for: x >= 1"


def test_check_decides_with_ok_when_every_value_is_there():
    assert verdicts.check("x >= 1", lambda: True, 2.0) == Outcome(REPRODUCED, "")
    assert verdicts.check("x >= 1", lambda: False, 0.5) == Outcome(NOT_REPRODUCED, "fails: x >= 1")
    assert verdicts.check("no values read", lambda: True).verdict == REPRODUCED


def test_all_of_three_valued():
    assert verdicts.all_of([OK, OK]).verdict == REPRODUCED
    failing = verdicts.all_of([UNKNOWN, FAIL, OK])  # one failing part fails "every", beside no data
    assert failing.verdict == NOT_REPRODUCED and failing.reason == "fails: a"
    unknown = verdicts.all_of([OK, UNKNOWN, OK])
    assert unknown.verdict == INCONCLUSIVE and unknown.reason == "no data for: b"
    assert verdicts.all_of([UNKNOWN, UNKNOWN]).reason == "no data for: b"  # reasons not repeated
    empty = verdicts.all_of([])
    assert empty.verdict == INCONCLUSIVE and "no data" in empty.reason


def test_any_of_is_the_dual():
    assert verdicts.any_of([FAIL, UNKNOWN, OK]).verdict == REPRODUCED
    unknown = verdicts.any_of([FAIL, UNKNOWN])  # one part might still hold
    assert unknown.verdict == INCONCLUSIVE and unknown.reason == "no data for: b"
    failing = verdicts.any_of([FAIL, Outcome(NOT_REPRODUCED, "fails: c")])
    assert failing.verdict == NOT_REPRODUCED and failing.reason == "fails: a; fails: c"
    empty = verdicts.any_of([])
    assert empty.verdict == INCONCLUSIVE and "no data" in empty.reason


@pytest.mark.parametrize("precondition", [FAIL, UNKNOWN])
def test_given_unmet_precondition_is_inconclusive_and_then_is_not_called(precondition):
    out = verdicts.given(precondition, _never)
    assert out.verdict == INCONCLUSIVE
    assert out.reason.startswith("precondition not met")
    expected = precondition.reason.replace("fails: ", "").replace("no data for: ", "no data for ")
    assert out.reason == f"precondition not met: {expected}"


def test_given_met_precondition_returns_then():
    assert verdicts.given(OK, lambda: FAIL) == FAIL
    assert verdicts.given(OK, lambda: UNKNOWN) == UNKNOWN


def test_majority_is_decided_only_when_the_unmeasured_seeds_cannot_change_it():
    assert verdicts.majority("m", 2, 0, 3).verdict == REPRODUCED
    assert verdicts.majority("m", 1, 0, 3) == Outcome(NOT_REPRODUCED, "fails: m")
    undecided = verdicts.majority("m", 1, 1, 3)
    assert undecided.verdict == INCONCLUSIVE
    assert undecided.reason == "no data for: m (1 of 3 seeds not measured)"
    assert verdicts.majority("m", 1, 1, 4).verdict == NOT_REPRODUCED  # 2 of 4 is no majority


def test_claim_judged_and_row():
    judged = toy_claims.P2_FIG2.judged(FAIL, "", "toy/summary.json")
    assert judged.verdict == NOT_REPRODUCED and judged.reason == "fails: a"
    assert judged.measured_value == "not measured" and judged.source == "toy/summary.json"
    assert tuple(judged.row()) == results.CLAIMS_COLUMNS
    with pytest.raises(ValueError, match="verdict must be one of"):
        toy_claims.P2_FIG2.judged(Outcome("maybe"), "x", "y")


def test_judge_all_blocked_gives_every_claim_the_outcome_and_calls_no_rule():
    blocked = verdicts.inconclusive("every seed's DCGAN diverged: no snapshots")
    judged = verdicts.judge_all([(c, _never) for c in toy_claims.CLAIMS], "src", blocked)
    assert [c.verdict for c in judged] == [INCONCLUSIVE] * len(toy_claims.CLAIMS)
    assert {c.measured_value for c in judged} == {blocked.reason} and judged[0].source == "src"


def test_needs_names_the_file_and_the_missing_columns():
    import pandas as pd

    assert verdicts.needs(None, ("a",), "x/t.csv") == Outcome(INCONCLUSIVE, "needs x/t.csv")
    frame = pd.DataFrame({"a": [1]})
    assert verdicts.needs(frame, ("a",), "x/t.csv") is None
    assert verdicts.needs(frame, ("a", "b", "c"), "x/t.csv").reason == (
        "needs b, c in x/t.csv (rerun with this version)")
    assert verdicts.needs(frame.iloc[:0], ("a",), "x/t.csv").reason == "x/t.csv has no rows"


def test_numbers_in_words():
    assert verdicts.fmt({"epoch 1": 0.5, "epoch 2": math.nan}) == "epoch 1: 0.50, epoch 2: n/a"
    assert verdicts.fmt({"a": 2.0}, ".3g", "x") == "a: 2x"
    assert verdicts.num(None, ".2f") == "n/a" and verdicts.num(0.125, ".2f") == "0.12"


def test_verdicts_import_neither_pandas_nor_torch():
    import subprocess
    import sys

    code = ("import sys, wgan_repro.verdicts, wgan_repro.claims; "
            "sys.exit(sum(m in sys.modules for m in ('torch', 'pandas')))")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


# ---- every seed judged (issue #23) -----------------------------------------------------------------
def _seeds(part: str, values, comparison=">=", threshold=1.0):
    return [verdicts.measured(part, seed, "orders decayed", v, comparison, threshold)
            for seed, v in enumerate(values)]


def test_every_seed_passing_every_part_with_three_seeds_is_reproduced():
    values = _seeds("epoch 1", [1.0, 2.0, 3.0]) + _seeds("epoch 20", [1.5, 1.2, 4.0])
    assert verdicts.seed_verdict(values) == verdicts.Outcome(verdicts.REPRODUCED)


def test_one_part_no_seed_passes_is_not_reproduced_and_says_what_was_measured():
    values = _seeds("epoch 1", [2.0, 2.0, 2.0]) + _seeds("epoch 25", [0.5, 0.25, 0.9])
    outcome = verdicts.seed_verdict(values)
    assert outcome.verdict == verdicts.NOT_REPRODUCED
    assert outcome.reason == ("epoch 25: orders decayed seeds 0, 1, 2: 0.5, 0.25, 0.9 "
                              "(needs >= 1); 0 of 3 seeds pass")


def test_a_split_is_inconclusive_with_k_of_n_seeds():
    outcome = verdicts.seed_verdict(_seeds("epoch 20", [4.04, 4.71, 5.09], ">=", 5.0))
    assert outcome.verdict == verdicts.INCONCLUSIVE
    assert outcome.reason.startswith("1 of 3 seeds pass every part; epoch 20: orders decayed "
                                     "seeds 0, 1, 2: 4.04, 4.71, 5.09 (needs >= 5); 1 of 3")


@pytest.mark.parametrize("values", [[2.0, 2.0], [0.1, 0.2]])
def test_fewer_than_three_seeds_decide_nothing(values):
    outcome = verdicts.seed_verdict(_seeds("epoch 1", values))
    assert outcome.verdict == verdicts.INCONCLUSIVE and "2 seeds (needs >= 3)" in outcome.reason
    assert verdicts.seed_verdict(_seeds("θ grid", values), min_seeds=1).verdict != \
        verdicts.INCONCLUSIVE  # a claim that needs one run is decided by it


def test_unmeasured_seeds_block_reproduced_and_not_reproduced():
    values = _seeds("run", [2.0, 2.0]) + [verdicts.unmeasured("run", 2, "orders decayed", ">= 1",
                                                                "the run did not train")]
    outcome = verdicts.seed_verdict(values)
    assert outcome.verdict == verdicts.INCONCLUSIVE
    assert "not judged where the run did not train" in outcome.reason
    failing = _seeds("run", [0.2, 0.3]) + [verdicts.measured("run", 2, "x", float("nan"), ">=", 1)]
    assert verdicts.seed_verdict(failing).verdict == verdicts.INCONCLUSIVE


def test_describe_gives_the_median_and_every_seed():
    values = _seeds("epoch 20", [4.71, 4.04, 4.95])
    assert verdicts.describe(values) == "epoch 20: orders decayed 4.71 (seeds 0, 1, 2: 4.71, 4.04, 4.95)"
    assert values[0].row("p1") == {"claim_id": "p1", "part": "epoch 20", "seed": 0,
                                   "statistic": "orders decayed", "value": 4.71,
                                   "threshold": ">= 1", "passes": True}


def test_a_value_next_to_its_threshold_is_shown_with_the_digits_that_tell_them_apart():
    from wgan_repro.verdicts import describe, measured, seed_verdict

    values = [measured("epoch 20", s, "orders", v, ">=", 5.0)
              for s, v in enumerate([4.9956, 5.2, 5.0004])]
    assert "(seeds 0, 1, 2: 4.996, 5.2, 5.0004)" in describe(values)
    reason = seed_verdict(values).reason
    assert "4.996" in reason and "(needs >= 5)" in reason and "2 of 3 seeds pass" in reason
