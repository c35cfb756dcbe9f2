"""The verdict logic shared by every claim, and the claim record.

- a :class:`Claim` holds what the paper says (``paper_quote``, quoted with its section or
  figure) and the test written from it (``rule``), before any result is seen;
  :meth:`Claim.judged` adds the measurement and the verdict, :meth:`Claim.row` is its claims.csv
  row;
- a rule (in wgan_repro.claims.<experiment>) returns an :class:`Outcome` and the measured value
  in words;
- :func:`check` turns one comparison into an Outcome (missing or NaN data is ``inconclusive``
  with the reason), :func:`all_of` / :func:`any_of` combine parts with three-valued logic (a part
  that fails makes "every ..." fail even when another part has no data), :func:`given` makes an
  unmet precondition ``inconclusive`` and :func:`majority` decides "in a majority of seeds" once
  the unmeasured seeds cannot change the answer.

No pandas, numpy or torch here: the tables are shaped in wgan_repro.stats.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from wgan_repro.results import CLAIMS_COLUMNS, VERDICTS
from wgan_repro.stats import missing

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = VERDICTS

__all__ = ["REPRODUCED", "NOT_REPRODUCED", "INCONCLUSIVE", "Outcome", "Claim", "missing", "check",
           "inconclusive", "all_of", "any_of", "given", "majority", "needs", "fmt", "num",
           "judge_all"]


@dataclass(frozen=True)
class Outcome:
    verdict: str  # one of VERDICTS
    reason: str = ""  # why not reproduced / inconclusive; empty when reproduced


def check(label: str, ok: Callable[[], bool], *values: Any) -> Outcome:
    """One comparison. ``values`` are the numbers it reads: if any is missing or NaN the
    outcome is inconclusive (``ok`` is not even called); otherwise ``ok()`` decides."""
    if any(missing(v) for v in values):
        return Outcome(INCONCLUSIVE, f"no data for: {label}")
    if ok():
        return Outcome(REPRODUCED)
    return Outcome(NOT_REPRODUCED, f"fails: {label}")


def inconclusive(reason: str) -> Outcome:
    return Outcome(INCONCLUSIVE, reason)


def _joined(outcomes: Iterable[Outcome]) -> str:
    reasons: list[str] = []
    for o in outcomes:
        if o.reason and o.reason not in reasons:
            reasons.append(o.reason)
    return "; ".join(reasons)


def all_of(outcomes: Sequence[Outcome]) -> Outcome:
    """Every part holds: one failing part fails the whole (even if another part has no data);
    otherwise one part without data leaves it inconclusive. No parts at all: inconclusive."""
    if not outcomes:
        return inconclusive("no data")
    failed = [o for o in outcomes if o.verdict == NOT_REPRODUCED]
    if failed:
        return Outcome(NOT_REPRODUCED, _joined(failed))
    unknown = [o for o in outcomes if o.verdict == INCONCLUSIVE]
    if unknown:
        return Outcome(INCONCLUSIVE, _joined(unknown))
    return Outcome(REPRODUCED)


def any_of(outcomes: Sequence[Outcome]) -> Outcome:
    """At least one part holds (the dual of all_of)."""
    if not outcomes:
        return inconclusive("no data")
    if any(o.verdict == REPRODUCED for o in outcomes):
        return Outcome(REPRODUCED)
    unknown = [o for o in outcomes if o.verdict == INCONCLUSIVE]
    if unknown:
        return Outcome(INCONCLUSIVE, _joined(unknown))
    return Outcome(NOT_REPRODUCED, _joined(outcomes))


def given(precondition: Outcome, then: Callable[[], Outcome]) -> Outcome:
    """``then`` is tested only where ``precondition`` holds; otherwise inconclusive."""
    if precondition.verdict == REPRODUCED:
        return then()
    reason = precondition.reason.replace("fails: ", "").replace("no data for: ", "no data for ")
    return inconclusive(f"precondition not met: {reason}")


def majority(label: str, yes: int, unknown: int, total: int) -> Outcome:
    """"In a majority of seeds": decided when the unknown seeds cannot change the answer."""
    if 2 * yes > total:
        return Outcome(REPRODUCED)
    if 2 * (yes + unknown) <= total:
        return Outcome(NOT_REPRODUCED, f"fails: {label}")
    return inconclusive(f"no data for: {label} ({unknown} of {total} seeds not measured)")


def needs(frame, columns: Sequence[str], what: str) -> Outcome | None:
    """Inconclusive when the table or one of its columns is missing (files of an older run),
    or it has no rows; None when the table is there to be judged. ``what`` names the file."""
    if frame is None:
        return inconclusive(f"needs {what}")
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        return inconclusive(f"needs {', '.join(absent)} in {what} (rerun with this version)")
    if frame.empty:
        return inconclusive(f"{what} has no rows")
    return None


# ---- numbers in words ------------------------------------------------------------------------------
def num(value, spec: str) -> str:
    """One number, "n/a" when missing."""
    return "n/a" if missing(value) else f"{value:{spec}}"


def fmt(values: dict, spec: str = ".2f", unit: str = "") -> str:
    """{label: number} as "label: number, ..." ("n/a" for a missing number)."""
    def one(v):
        return "n/a" if missing(v) else f"{v:{spec}}{unit}"

    return ", ".join(f"{k}: {one(v)}" for k, v in values.items())


# ---- the claim record ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Claim:
    """One claim: what the paper says and how it is tested; ``judged`` adds the measurement."""

    experiment: str  # its experiment's name in wgan_repro.registry (claims.csv's experiment)
    claim_id: str
    claim: str
    paper_quote: str
    rule: str
    paper_value: str
    measured_value: str = ""
    verdict: str = INCONCLUSIVE
    reason: str = ""
    source: str = ""

    def judged(self, outcome: Outcome, measured: str, source: str) -> Claim:
        if outcome.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {outcome.verdict!r}")
        return replace(self, measured_value=measured or "not measured", verdict=outcome.verdict,
                       reason=outcome.reason, source=source)

    def row(self) -> dict[str, str]:
        row = asdict(self)
        return {column: row[column] for column in CLAIMS_COLUMNS}


Rule = Callable[[], tuple[Outcome, str]]


def judge_all(claims_and_rules: Sequence[tuple[Claim, Rule]], source: str,
              blocked: Outcome | None = None) -> list[Claim]:
    """Each claim judged by its rule (called here, with the tables already bound); ``blocked``
    instead gives every claim that outcome, its reason as the measured value."""
    if blocked is not None:
        return [claim.judged(blocked, blocked.reason, source) for claim, _ in claims_and_rules]
    return [claim.judged(*rule(), source) for claim, rule in claims_and_rules]
