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

Every claim is judged on every seed (issue #23): a rule returns one :class:`SeedValue` per
seed and per part (the snapshot, run or arm it checks separately: a row of claims_seeds.csv),
and :func:`seed_verdict` turns them into the verdict by THE rule, stated here before any
result was regenerated under it and never moved since:

- ``reproduced``: every seed passes every part, with >= MIN_SEEDS seeds (claims over trained
  networks; a closed form needs one);
- ``not reproduced``: one part that no seed passes (every seed of it measured, none passing),
  with >= MIN_SEEDS seeds;
- ``inconclusive`` otherwise, the reason saying "k of n seeds pass" and what each failing part
  measured against what it required. Preconditions (a run that did not train, a control that
  does not show the effect) make that seed's value unmeasured: it can no longer be reproduced.

No pandas, numpy or torch here: the tables are shaped in wgan_repro.stats.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from wgan_repro.results import CLAIMS_COLUMNS, VERDICTS
from wgan_repro.stats import missing

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = VERDICTS

__all__ = ["REPRODUCED", "NOT_REPRODUCED", "INCONCLUSIVE", "Outcome", "Claim", "missing", "check",
           "inconclusive", "all_of", "any_of", "given", "majority", "needs", "fmt", "num",
           "judge_all", "SeedValue", "measured", "unmeasured", "seed_verdict", "describe",
           "MIN_SEEDS", "SEED_RULE", "Judged"]

# "With >= 3 seeds for any claim over trained networks" (issue #23): with fewer, the seed band
# says nothing about a change of seed, so neither reproduced nor not reproduced.
MIN_SEEDS = 3
# The end of every per-seed rule's text: how its seeds make the verdict (seed_verdict).
SEED_RULE = (f"Judged on every seed: reproduced when every seed passes every part (>= {MIN_SEEDS} "
             "seeds), not reproduced when no seed passes one part, inconclusive otherwise")


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


# ---- every seed judged -----------------------------------------------------------------------------
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda v, t: v >= t, ">": lambda v, t: v > t, "<=": lambda v, t: v <= t,
    "<": lambda v, t: v < t}


@dataclass(frozen=True)
class SeedValue:
    """One seed's statistic for one part of a claim: a row of claims_seeds.csv."""

    part: str  # what the rule checks separately: "epoch 20", "wgan_mlp", "WGAN vs GAN", ...
    seed: int  # the seed (of both arms, where two arms are compared seed by seed)
    statistic: str  # what was measured, in words
    value: float  # NaN: not measured
    threshold: str  # what the rule requires of it, e.g. ">= 1"
    passes: bool | None  # None: not measured, or its precondition not met
    note: str = ""  # why it was not measured

    def row(self, claim_id: str) -> dict[str, Any]:
        return {"claim_id": claim_id, "part": self.part, "seed": self.seed,
                "statistic": self.statistic, "value": self.value, "threshold": self.threshold,
                "passes": "" if self.passes is None else self.passes}


def measured(part: str, seed: int, statistic: str, value: float, comparison: str,
             threshold: float) -> SeedValue:
    """``value comparison threshold`` for one seed (a missing value is not measured)."""
    required = f"{comparison} {threshold:g}"
    if missing(value):
        return SeedValue(part, int(seed), statistic, float("nan"), required, None, "no data")
    passes = COMPARISONS[comparison](float(value), threshold)
    return SeedValue(part, int(seed), statistic, float(value), required, passes)


def unmeasured(part: str, seed: int, statistic: str, threshold: str, why: str,
               value: float = float("nan")) -> SeedValue:
    """A seed whose value is not judged (a precondition not met: ``why``)."""
    return SeedValue(part, int(seed), statistic, value, threshold, None, why)


def _shown(v: SeedValue, spec: str) -> str:
    """A seed's value as ``spec`` prints it, with more digits where ``spec`` would print it as
    its threshold: 4.9956 against ">= 5" reads "4.996", not "5"."""
    text = num(v.value, spec)
    try:
        limit = float(v.threshold.split()[-1])
    except (ValueError, IndexError):
        return text  # a threshold in words
    for digits in (4, 5, 6, 7):
        if missing(v.value) or float(text) != limit or v.value == limit:
            break
        text = num(v.value, re.sub(r"\.\d+", f".{digits}", spec))  # the spec's sign and form
    return text


def _seed_list(values: Sequence[SeedValue], spec: str = ".3g") -> str:
    seeds = ", ".join(str(v.seed) for v in values)
    numbers = ", ".join(_shown(v, spec) for v in values)
    return f"seed{'s' if len(values) > 1 else ''} {seeds}: {numbers}"


def _median(numbers: list[float]) -> float:
    ordered = sorted(numbers)
    if not ordered:
        return float("nan")
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _parts(values: Sequence[SeedValue]) -> dict[str, list[SeedValue]]:
    parts: dict[str, list[SeedValue]] = {}
    for v in values:
        parts.setdefault(v.part, []).append(v)
    return {part: sorted(vs, key=lambda v: v.seed) for part, vs in parts.items()}


def describe(values: Sequence[SeedValue], spec: str = ".3g") -> str:
    """measured_value: per part, the statistic's median and every seed's value, e.g.
    "epoch 20: orders decayed 4.77 (seeds 0, 1, 2: 4.71, 4.04, 4.95)"."""
    out = []
    for part, vs in _parts(values).items():
        median = _median([v.value for v in vs if not missing(v.value)])
        out.append(f"{part}: {vs[0].statistic} {num(median, spec)} ({_seed_list(vs, spec)})")
    return "; ".join(out)


def _part_reason(part: str, vs: list[SeedValue], spec: str) -> str:
    passing = sum(v.passes is True for v in vs)
    text = f"{part}: {vs[0].statistic} {_seed_list(vs, spec)} (needs {vs[0].threshold})"
    notes = sorted({v.note for v in vs if v.passes is None and v.note})
    if notes:
        text += f", not judged where {'; '.join(notes)}"
    return f"{text}; {passing} of {len(vs)} seeds pass"


# What a per-seed rule returns: its outcome, the measured value in words, its seed values.
Judged = tuple[Outcome, str, list[SeedValue]]


def seed_verdict(values: Sequence[SeedValue], min_seeds: int = MIN_SEEDS,
                 spec: str = ".3g") -> Outcome:
    """The verdict from every seed (the rule in this module's docstring)."""
    if not values:
        return inconclusive("no data")
    parts = _parts(values)
    seeds = sorted({v.seed for v in values})
    enough = len(seeds) >= min_seeds
    too_few = (f"{len(seeds)} seed{'s' if len(seeds) != 1 else ''} (needs >= {min_seeds})"
               if not enough else "")
    failed = [p for p, vs in parts.items() if all(v.passes is False for v in vs)]
    if failed and enough:
        return Outcome(NOT_REPRODUCED, "; ".join(_part_reason(p, parts[p], spec) for p in failed))
    every = [s for s in seeds if all(v.passes is True for v in values if v.seed == s)]
    if len(every) == len(seeds) and all(v.passes is True for v in values) and enough:
        return Outcome(REPRODUCED)
    short = [p for p, vs in parts.items() if not all(v.passes is True for v in vs)]
    reasons = [f"{len(every)} of {len(seeds)} seeds pass every part"]
    reasons += [too_few] if too_few else []
    reasons += [_part_reason(p, parts[p], spec) for p in short]
    return inconclusive("; ".join(reasons))


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
    seed_values: tuple[SeedValue, ...] = ()  # what the verdict was judged from (claims_seeds.csv)

    def judged(self, outcome: Outcome, measured: str, source: str,
               seed_values: Sequence[SeedValue] = ()) -> Claim:
        if outcome.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {outcome.verdict!r}")
        return replace(self, measured_value=measured or "not measured", verdict=outcome.verdict,
                       reason=outcome.reason, source=source, seed_values=tuple(seed_values))

    def seed_rows(self) -> list[dict[str, Any]]:
        """Its rows of claims_seeds.csv."""
        return [v.row(self.claim_id) for v in self.seed_values]

    def row(self) -> dict[str, str]:
        row = asdict(self)
        return {column: row[column] for column in CLAIMS_COLUMNS}


# A rule returns its outcome and the measured value in words, and (judged per seed) the seed
# values it was decided from.
Rule = Callable[[], tuple[Outcome, str] | tuple[Outcome, str, Sequence[SeedValue]]]


def judge_all(claims_and_rules: Sequence[tuple[Claim, Rule]], source: str,
              blocked: Outcome | None = None) -> list[Claim]:
    """Each claim judged by its rule (called here, with the tables already bound); ``blocked``
    instead gives every claim that outcome, its reason as the measured value."""
    if blocked is not None:
        return [claim.judged(blocked, blocked.reason, source) for claim, _ in claims_and_rules]
    judged = []
    for claim, rule in claims_and_rules:
        outcome, measured_value, *seed_values = rule()
        judged.append(claim.judged(outcome, measured_value, source,
                                   seed_values[0] if seed_values else ()))
    return judged
